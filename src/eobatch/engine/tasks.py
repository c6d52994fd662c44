"""Turning a claimed tile into the payload an executor runs.

`build_tile_task` makes the `processing.TileTask` the default task (`process_tile`) expects;
`spec_task` hands over the `TileSpec` itself, for task functions that want only the database facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eobatch.domain.plan import BatchPlan
from eobatch.engine.keys import plan_of
from eobatch.settings import Settings
from eobatch.store.work import ClaimedTile, RequestSnapshot


@dataclass(frozen=True)
class TileSpec:
    """One tile attempt as stored: the request's plan and the tile's row. Picklable."""

    request: RequestSnapshot
    tile: ClaimedTile


TaskBuilder = Callable[[TileSpec, Settings], Any]


def spec_task(spec: TileSpec, settings: Settings) -> TileSpec:
    return spec


def build_tile_task(spec: TileSpec, settings: Settings) -> Any:
    """The `processing.TileTask` for a tile (grids and processing imported when first needed).

    The task carries the plan and the key pairs its destinations name. A GeoPackage feature tile (no
    grid) gets the pixel grid stored on its row (bounds split into width x height) and the feature's
    footprint, clipped to the request's area when it has one, as its area.
    """
    from shapely.geometry import shape

    from eobatch import grids
    from eobatch.processing import TileTask

    request, tile = spec.request, spec.tile
    plan = plan_of(request)
    tiling = plan.grid
    if tiling is None:  # a GeoPackage feature
        grid_tile, pixel_grid, area = _feature_tile(tile, plan)
    else:
        grid_tile = grids.GridTile(
            grid_id=tiling.grid_id, id=tile.tile_id, name=tile.name, epsg=tile.epsg, bounds=tile.bounds
        )
        pixel_grid = grids.pixel_grid(grid_tile, tiling.resolution, tiling.buffer_x, tiling.buffer_y)
        area = shape(plan.area.geometry)
    return TileTask(
        request_id=request.id,
        account_id=request.account_id,
        tile=grid_tile,
        pixel_grid=pixel_grid,
        area_wgs84_wkb=area.wkb,
        plan=plan,
        credentials=dict(request.credentials),
        settings=settings,
        scenes=_tile_scenes(request, plan, area, pixel_grid, settings) if plan.grid is not None else None,
        attempt=tile.attempt,
    )


def _tile_scenes(request: RequestSnapshot, plan: BatchPlan, area: Any, pixel_grid: Any, settings: Settings) -> Any:
    """The tile's scenes per input, from the request's one search per input collection (made by its
    analysis in this process, or now); None lets the worker search itself when that fails."""
    from eobatch.collections.batch import with_batch_inputs
    from eobatch.collections.request_scenes import tile_scenes
    from eobatch.engine.analysis import _registry
    from eobatch.errors import EobatchError
    from eobatch.processing.aoi import search_area
    from eobatch.processing.grid import TargetGrid

    try:
        where = search_area(area, TargetGrid.of(pixel_grid))
        registry = with_batch_inputs(_registry(settings), plan.inputs, settings)  # batch-<id> inputs
        return tile_scenes(request.id, plan.inputs, registry, area, where)
    except EobatchError:
        return None


def _feature_tile(tile: ClaimedTile, plan: BatchPlan) -> tuple[Any, Any, Any]:
    import affine
    from shapely.geometry import shape

    from eobatch import grids
    from eobatch.artifacts import GEOPACKAGE_GRID_ID
    from eobatch.errors import BadRequest

    if not tile.geometry:
        raise BadRequest(f"tile {tile.name} has no footprint; analyse the request again")
    minx, miny, maxx, maxy = tile.bounds
    grid_tile = grids.GridTile(
        grid_id=GEOPACKAGE_GRID_ID, id=tile.tile_id, name=tile.name, epsg=tile.epsg, bounds=tile.bounds
    )
    transform = affine.Affine((maxx - minx) / tile.width_px, 0.0, minx, 0.0, -(maxy - miny) / tile.height_px, maxy)
    pixel_grid = grids.PixelGrid(tile.epsg, transform, tile.width_px, tile.height_px)
    area = shape(tile.geometry)
    if plan.area is not None:
        area = area.intersection(shape(plan.area.geometry))
    return grid_tile, pixel_grid, area
