"""v1 batch requests: create, list, get, update, delete and the user-action routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from eobatch.api.body import read_json
from eobatch.api.routing import Caller, add_action_routes, body_schema, create_route, list_route
from eobatch.api.v1.batch_service import BatchService
from eobatch.api.v1.wire import BatchRequestV1, CreateRequestV1, RequestPage, UpdateRequestV1, render_request
from eobatch.domain.states import UserAction

ACTIONS = {
    "analyse": UserAction.ANALYSE,
    "start": UserAction.START,
    "cancel": UserAction.CANCEL,
    "restartpartial": UserAction.RESTART,
}


def router(svc: BatchService) -> APIRouter:
    """The v1 request routes over `svc`."""

    create = create_route(svc.create, render_request, lambda row: row.id)
    list_requests = list_route(svc.list, render_request)

    def get_request(request_id: str, caller: Caller) -> dict[str, Any]:
        return render_request(svc.get(caller.account_id, request_id))

    def update_request(request_id: str, caller: Caller, body: Annotated[Any, Depends(read_json)]) -> dict[str, Any]:
        return render_request(svc.update(caller.account_id, request_id, body))

    def delete_request(request_id: str, caller: Caller) -> Response:
        svc.delete(caller.account_id, request_id)
        return Response(status_code=204)

    r = APIRouter(prefix="/api/v1/batch/process", tags=["v1 batch requests"])
    r.add_api_route(
        "",
        create,
        methods=["POST"],
        status_code=201,
        operation_id="v1_create_request",
        summary="Create a batch request",
        responses={201: {"model": BatchRequestV1}},
        openapi_extra=body_schema(CreateRequestV1),
    )
    r.add_api_route(
        "",
        list_requests,
        methods=["GET"],
        operation_id="v1_list_requests",
        summary="List batch requests",
        responses={200: {"model": RequestPage}},
    )
    r.add_api_route(
        "/{request_id}",
        get_request,
        methods=["GET"],
        operation_id="v1_get_request",
        summary="Get a batch request",
        responses={200: {"model": BatchRequestV1}},
    )
    r.add_api_route(
        "/{request_id}",
        update_request,
        methods=["PUT"],
        operation_id="v1_update_request",
        summary="Update output/description",
        responses={200: {"model": BatchRequestV1}},
        openapi_extra=body_schema(UpdateRequestV1),
    )
    r.add_api_route(
        "/{request_id}",
        delete_request,
        methods=["DELETE"],
        status_code=204,
        operation_id="v1_delete_request",
        summary="Delete a batch request",
    )
    add_action_routes(r, svc.act, ACTIONS, under="", api="v1")
    return r


SCHEMA_MODELS = (CreateRequestV1, UpdateRequestV1)
