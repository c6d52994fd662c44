"""Turning a claimed tile into the payload an executor runs.

`build_tile_task` makes the `processing.TileTask` the default task (`process_tile`) expects;
`spec_task` hands over the `TileSpec` itself, for task functions that want only the database facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eobatch.settings import Settings
from eobatch.store.work import ClaimedTile, RequestSnapshot


@dataclass(frozen=True)
class TileSpec:
    """One tile attempt as stored: the request's settings and the tile's row. Picklable."""

    request: RequestSnapshot
    tile: ClaimedTile


TaskBuilder = Callable[[TileSpec, Settings], Any]


def spec_task(spec: TileSpec, settings: Settings) -> TileSpec:
    return spec


def build_tile_task(spec: TileSpec, settings: Settings) -> Any:
    """The `processing.TileTask` for a tile (grids and processing imported when first needed).

    v2 requests write with their own delivery credentials (`spec_v2.engine_output`). A GeoPackage
    feature tile (no grid) gets the pixel grid stored on its row (bounds split into width x height) and
    the feature's footprint, clipped to the request's bounds when it has some, as its area.
    """
    from eobatch import grids
    from eobatch.processing import TileTask

    request, tile = spec.request, spec.tile
    bounds = (request.process_request.get("input") or {}).get("bounds")
    if request.grid_id is None:
        grid_tile, pixel_grid, area = _feature_tile(spec, bounds)
    else:
        grid_tile = grids.GridTile(
            grid_id=request.grid_id, id=tile.tile_id, name=tile.name, epsg=tile.epsg, bounds=tile.bounds
        )
        pixel_grid = grids.pixel_grid(grid_tile, request.resolution, request.buffer_x, request.buffer_y)
        area = grids.area_from_bounds(bounds)
    output = dict(request.output or {})
    if request.bucket_name and not output.get("defaultTilePath"):
        output["defaultTilePath"] = f"s3://{request.bucket_name}"  # v1: bucketName means this default layout
    if request.is_v2:
        from eobatch.domain.spec_v2 import engine_output

        output = engine_output(request.output, request.delivery_credentials)
    return TileTask(
        request_id=request.id,
        account_id=request.account_id,
        tile=grid_tile,
        pixel_grid=pixel_grid,
        area_wgs84_wkb=area.wkb,
        process_request=request.process_request,
        output=output,
        settings=settings,
        scenes=_tile_scenes(request, area, pixel_grid, settings) if request.grid_id is not None else None,
    )


def _tile_scenes(request: RequestSnapshot, area: Any, pixel_grid: Any, settings: Settings) -> Any:
    """The tile's scenes per input, from the request's one search per input collection (made by its
    analysis in this process, or now); None lets the worker search itself when that fails."""
    from eobatch.collections.request_scenes import tile_scenes
    from eobatch.engine.analysis import _registry
    from eobatch.errors import EobatchError
    from eobatch.processing.aoi import search_area
    from eobatch.processing.grid import TargetGrid

    entries = (request.process_request.get("input") or {}).get("data") or []
    try:
        where = search_area(area, TargetGrid.of(pixel_grid))
        return tile_scenes(request.id, entries, _registry(settings), area, where)
    except EobatchError:
        return None


def _feature_tile(spec: TileSpec, bounds: Any) -> tuple[Any, Any, Any]:
    import affine
    from shapely.geometry import shape

    from eobatch import grids
    from eobatch.artifacts import GEOPACKAGE_GRID_ID
    from eobatch.errors import BadRequest

    tile = spec.tile
    if not tile.geometry:
        raise BadRequest(f"tile {tile.name} has no footprint; analyse the request again")
    minx, miny, maxx, maxy = tile.bounds
    grid_tile = grids.GridTile(
        grid_id=GEOPACKAGE_GRID_ID, id=tile.tile_id, name=tile.name, epsg=tile.epsg, bounds=tile.bounds
    )
    transform = affine.Affine((maxx - minx) / tile.width_px, 0.0, minx, 0.0, -(maxy - miny) / tile.height_px, maxy)
    pixel_grid = grids.PixelGrid(tile.epsg, transform, tile.width_px, tile.height_px)
    area = shape(tile.geometry)
    if bounds:
        area = area.intersection(grids.area_from_bounds(bounds))
    return grid_tile, pixel_grid, area
