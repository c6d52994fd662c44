"""v1 tiles of a request, and the tiling grids."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from eobatch.api.auth import Principal
from eobatch.api.deps import principal, service
from eobatch.api.pagination import PageParams, page, page_params
from eobatch.api.service import BatchService
from eobatch.api.v1.wire import GridPage, GridV1, TilePage, TileV1, render_grid, render_tile
from eobatch.errors import BadRequest, NotFound

Caller = Annotated[Principal, Depends(principal)]
Service = Annotated[BatchService, Depends(service)]


def list_tiles(request: Request, request_id: str, caller: Caller, svc: Service,
               params: Annotated[PageParams, Depends(page_params)],
               status: Annotated[str | None, Query(description="only tiles of this status")] = None,
               ) -> dict[str, Any]:
    found = svc.tiles(caller.account_id, request_id, params, status)
    return page(request, params, list(found.items), found.has_more, render_tile)


def get_tile(request_id: str, tile_id: int, caller: Caller, svc: Service) -> dict[str, Any]:
    return render_tile(svc.tile(caller.account_id, request_id, tile_id))


def list_grids(request: Request, _caller: Caller,
               params: Annotated[PageParams, Depends(page_params)]) -> dict[str, Any]:
    from eobatch import grids

    every = grids.list_grids()
    chosen = every[params.offset: params.offset + params.limit]
    return page(request, params, chosen, params.offset + len(chosen) < len(every), render_grid)


def get_grid(grid_id: int, _caller: Caller) -> dict[str, Any]:
    from eobatch import grids

    try:
        return render_grid(grids.get_grid(grid_id))
    except BadRequest as exc:
        raise NotFound(f"Tiling grid {grid_id} not found") from exc


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1/batch", tags=["v1 tiles and grids"])
    r.add_api_route("/process/{request_id}/tiles", list_tiles, methods=["GET"], operation_id="v1_list_tiles",
                    summary="List the tiles of a request", responses={200: {"model": TilePage}})
    r.add_api_route("/process/{request_id}/tiles/{tile_id}", get_tile, methods=["GET"],
                    operation_id="v1_get_tile", summary="Get one tile", responses={200: {"model": TileV1}})
    r.add_api_route("/tilinggrids", list_grids, methods=["GET"], operation_id="v1_list_grids",
                    summary="List tiling grids", responses={200: {"model": GridPage}})
    r.add_api_route("/tilinggrids/{grid_id}", get_grid, methods=["GET"], operation_id="v1_get_grid",
                    summary="Get a tiling grid", responses={200: {"model": GridV1}})
    return r
