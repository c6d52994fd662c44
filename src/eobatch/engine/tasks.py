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
    """The `processing.TileTask` for a tile (grids and processing imported when first needed)."""
    from eobatch import grids
    from eobatch.processing import TileTask

    request, tile = spec.request, spec.tile
    grid_tile = grids.GridTile(grid_id=request.grid_id, id=tile.tile_id, name=tile.name, epsg=tile.epsg,
                               bounds=tile.bounds)
    pixel_grid = grids.pixel_grid(grid_tile, request.resolution, request.buffer_x, request.buffer_y)
    area = grids.area_from_bounds(request.process_request["input"]["bounds"])
    return TileTask(request_id=request.id, account_id=request.account_id, tile=grid_tile,
                    pixel_grid=pixel_grid, area_wgs84_wkb=area.wkb, process_request=request.process_request,
                    output=request.output or {}, settings=settings)
