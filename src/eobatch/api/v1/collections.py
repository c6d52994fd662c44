"""v1 batch collections: create, list, get, update, delete (batch-api.md §3.9, docs/collections.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from eobatch.api.body import read_json
from eobatch.api.pagination import PageParams, page, page_params
from eobatch.api.routing import Caller
from eobatch.api.v1.collection_service import CollectionService
from eobatch.api.v1.collection_wire import render_collection, wrapped


def router(svc: CollectionService) -> APIRouter:
    """The v1 batch collection routes over `svc`."""

    def create(request: Request, caller: Caller, body: Annotated[Any, Depends(read_json)]) -> JSONResponse:
        collection = svc.create(caller.account_id, body)
        return JSONResponse(
            wrapped(collection), status_code=201, headers={"Location": f"{request.url}/{collection.id}"}
        )

    def list_collections(
        request: Request,
        caller: Caller,
        params: Annotated[PageParams, Depends(page_params)],
        search: Annotated[str | None, Query(description="words joined by | (or) and & (and)")] = None,
    ) -> dict[str, Any]:
        found = svc.list(caller.account_id, params, search)
        return page(request, params, list(found.items), found.has_more, render_collection)

    def get_collection(collection_id: str, caller: Caller) -> dict[str, Any]:
        return wrapped(svc.get(caller.account_id, collection_id))

    def update_collection(collection_id: str, caller: Caller, body: Annotated[Any, Depends(read_json)]) -> Response:
        svc.update(caller.account_id, collection_id, body)
        return Response(status_code=204)

    def delete_collection(collection_id: str, caller: Caller) -> Response:
        svc.delete(caller.account_id, collection_id)
        return Response(status_code=204)

    r = APIRouter(prefix="/api/v1/batch/collections", tags=["v1 batch collections"])
    r.add_api_route(
        "",
        create,
        methods=["POST"],
        status_code=201,
        operation_id="v1_create_collection",
        summary="Create a batch collection",
    )
    r.add_api_route(
        "", list_collections, methods=["GET"], operation_id="v1_list_collections", summary="List batch collections"
    )
    r.add_api_route(
        "/{collection_id}",
        get_collection,
        methods=["GET"],
        operation_id="v1_get_collection",
        summary="Get a batch collection",
    )
    r.add_api_route(
        "/{collection_id}",
        update_collection,
        methods=["PUT"],
        status_code=204,
        operation_id="v1_update_collection",
        summary="Rename a batch collection (or change its bucket while empty)",
    )
    r.add_api_route(
        "/{collection_id}",
        delete_collection,
        methods=["DELETE"],
        status_code=204,
        operation_id="v1_delete_collection",
        summary="Delete a batch collection (409 while a request uses it)",
    )
    return r
