"""v1 tiles of a request, and the tiling grids."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from eobatch.api.body import read_json
from eobatch.api.pagination import PageParams, page, page_params
from eobatch.api.routing import Caller
from eobatch.api.v1.batch_service import BatchService
from eobatch.api.v1.wire import GridPage, GridV1, TilePage, TileV1, render_grid, render_tile
from eobatch.errors import BadRequest, NotFound, TooManyRequests, Violation


def list_grids(
    request: Request, _caller: Caller, params: Annotated[PageParams, Depends(page_params)]
) -> dict[str, Any]:
    from eobatch import grids

    every = grids.list_grids()
    chosen = every[params.offset : params.offset + params.limit]
    return page(request, params, chosen, params.offset + len(chosen) < len(every), render_grid)


def get_grid(grid_id: int, _caller: Caller) -> dict[str, Any]:
    from eobatch import grids

    try:
        return render_grid(grids.get_grid(grid_id))
    except BadRequest as exc:
        raise NotFound(f"Tiling grid {grid_id} not found") from exc


async def export_grid(
    request: Request,
    grid_id: int,
    _caller: Caller,
    format: Annotated[str, Query(description="gpkg, geojson or shp (zipped)")] = "gpkg",
) -> Response:
    """The tiles of a grid that cover the posted area (bounds object or GeoJSON), as a file."""
    from eobatch import grids
    from eobatch.grids.export import FORMATS, bounds_from_geojson

    if format not in FORMATS:
        message = f"Unknown export format {format!r}; allowed: {', '.join(FORMATS)}."
        raise BadRequest(message, [Violation("format", message)])
    grids.get_grid(grid_id)
    bounds = bounds_from_geojson(await read_json(request))
    max_tiles = request.app.state.settings.max_tiles_per_request

    def build() -> bytes:  # CPU work: in a thread, at most EXPORTS_AT_ONCE at a time, never on the event loop
        tiles = grids.tiles_for_area(grid_id, grids.area_from_bounds(bounds, parameter="bounds"), max_tiles=max_tiles)
        return grids.export_tiles(tiles, format)

    if not _EXPORTS.acquire(blocking=False):
        raise TooManyRequests(
            f"{EXPORTS_AT_ONCE} grid exports are running; try again in a few seconds", retry_after_s=5
        )
    try:
        data = await run_in_threadpool(build)
    finally:
        _EXPORTS.release()
    media, suffix = EXPORT_MEDIA[format]
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="tiling-grid-{grid_id}{suffix}"'},
    )


EXPORTS_AT_ONCE = 2
_EXPORTS = threading.BoundedSemaphore(EXPORTS_AT_ONCE)

EXPORT_MEDIA = {
    "gpkg": ("application/geopackage+sqlite3", ".gpkg"),
    "geojson": ("application/geo+json", ".geojson"),
    "shp": ("application/zip", ".zip"),
}


def add_grid_routes(r: APIRouter, version: str) -> None:
    """The tiling-grid list and get routes, the same in v1 and v2 (`r` carries the API's batch prefix)."""
    r.add_api_route(
        "/tilinggrids",
        list_grids,
        methods=["GET"],
        operation_id=f"{version}_list_grids",
        summary="List tiling grids",
        responses={200: {"model": GridPage}},
    )
    r.add_api_route(
        "/tilinggrids/{grid_id}",
        get_grid,
        methods=["GET"],
        operation_id=f"{version}_get_grid",
        summary="Get a tiling grid",
        responses={200: {"model": GridV1}},
    )


def router(svc: BatchService) -> APIRouter:
    """The v1 tile routes over `svc`, and the tiling grids."""

    def list_tiles(
        request: Request,
        request_id: str,
        caller: Caller,
        params: Annotated[PageParams, Depends(page_params)],
        status: Annotated[str | None, Query(description="only tiles of this status")] = None,
    ) -> dict[str, Any]:
        found = svc.tiles(caller.account_id, request_id, params, status)
        return page(request, params, list(found.items), found.has_more, render_tile)

    def get_tile(request_id: str, tile_id: int, caller: Caller) -> dict[str, Any]:
        return render_tile(svc.tile(caller.account_id, request_id, tile_id))

    r = APIRouter(prefix="/api/v1/batch", tags=["v1 tiles and grids"])
    r.add_api_route(
        "/process/{request_id}/tiles",
        list_tiles,
        methods=["GET"],
        operation_id="v1_list_tiles",
        summary="List the tiles of a request",
        responses={200: {"model": TilePage}},
    )
    r.add_api_route(
        "/process/{request_id}/tiles/{tile_id}",
        get_tile,
        methods=["GET"],
        operation_id="v1_get_tile",
        summary="Get one tile",
        responses={200: {"model": TileV1}},
    )
    add_grid_routes(r, "v1")
    r.add_api_route(
        "/tilinggrids/{grid_id}/export",
        export_grid,
        methods=["POST"],
        operation_id="v1_export_grid",
        summary="Export the tiles of a grid covering an area (GeoPackage, GeoJSON, zipped Shapefile)",
    )
    return r
