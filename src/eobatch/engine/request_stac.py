"""The engine hook that writes a finished request's STAC (artifacts.stac_catalog) with the request's
delivery credentials. A failure is logged and never changes the request's outcome."""

from __future__ import annotations

import logging
from typing import Any

from eobatch.artifacts.stac_catalog import StacTile, write_request_stac
from eobatch.settings import Settings
from eobatch.store import work
from eobatch.store.db import Database

log = logging.getLogger("eobatch.engine")
FINISHED_WITH_OUTPUTS = ("DONE", "PARTIAL")


def write_stac_for(database: Database, settings: Settings, request_id: str, status: str) -> str | None:
    """Write the STAC of a DONE or PARTIAL request; its collection URL, or None (not due, or failed)."""
    if status not in FINISHED_WITH_OUTPUTS:
        return None
    try:
        with database.session() as s:
            request = work.load_request(s, request_id)
            rows = work.stac_tile_rows(s, request_id) if request is not None else []
        if request is None:
            return None
        plan = request.plan
        if plan is None:
            return None
        from eobatch.engine.keys import storage_keys
        from eobatch.storage import ObjectStorage

        storage = ObjectStorage(settings, storage_keys(request, plan.delivery.credentials))
        version = "v2" if request.is_v2 else "v1"
        url = write_request_stac(
            storage,
            plan.delivery.path,
            request.id,
            status,
            _time_span(plan),
            [_stac_tile(request, row) for row in rows],
            cog=plan.cog is not None,
            request_href=f"/api/{version}/batch/process/{request.id}",
        )
        log.info("request %s: STAC written to %s", request_id, url)
        return url
    except Exception as exc:  # never let the catalogue change the request's outcome
        log.warning("request %s: could not write its STAC: %s: %s", request_id, type(exc).__name__, exc)
        return None


def _time_span(plan: Any) -> tuple[Any, Any]:
    """The widest (from, to) over the plan's inputs; None where it has none."""
    starts = [i.time_from for i in plan.inputs if i.time_from is not None]
    ends = [i.time_to for i in plan.inputs if i.time_to is not None]
    return (min(starts) if starts else None, max(ends) if ends else None)


def _stac_tile(request: work.RequestSnapshot, row: Any) -> StacTile:
    """A tile row with its pixel grid: the grid's (buffer included) for tiling-grid requests."""
    from eobatch import grids

    tiling = request.plan.grid if request.plan is not None else None
    if tiling is not None:
        tile = grids.GridTile(
            grid_id=tiling.grid_id,
            id=row.tile_id,
            name=row.name,
            epsg=row.epsg,
            bounds=(row.minx, row.miny, row.maxx, row.maxy),
        )
        pixel_grid = grids.pixel_grid(tile, tiling.resolution, tiling.buffer_x, tiling.buffer_y)
        transform, width, height = pixel_grid.transform, pixel_grid.width, pixel_grid.height
    else:
        width, height = row.width_px, row.height_px
        res_x, res_y = (row.maxx - row.minx) / width, (row.maxy - row.miny) / height
        transform = (res_x, 0.0, row.minx, 0.0, -res_y, row.maxy)
    return StacTile(
        tile_id=row.tile_id,
        name=row.name,
        status=row.status,
        epsg=row.epsg,
        geometry=row.geometry,
        transform=tuple(transform)[:6],
        width=width,
        height=height,
        outputs=tuple(row.outputs or ()),
        error=row.error,
    )
