"""/api/v2/batch routes: create, list, get, update, analyse, start, stop, and the tiling grids."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from eobatch.api.body import read_create_body, read_json
from eobatch.api.pagination import PageParams, page, page_params
from eobatch.api.routing import Caller, action_route, body_schema
from eobatch.api.v1.tiles import get_grid, list_grids
from eobatch.api.v1.wire import GridPage, GridV1
from eobatch.api.v2.task_service import TaskService, TaskView
from eobatch.api.v2.wire import CreateTaskV2, TaskPage, TaskV2, UpdateTaskV2, render_task
from eobatch.domain.states import UserAction

PREFIX = "/api/v2/batch"
ACTIONS = {"analyse": UserAction.ANALYSE, "start": UserAction.START, "stop": UserAction.STOP}


def _render(view: TaskView) -> dict[str, Any]:
    return render_task(view.row, view.finished_tiles)


def router(svc: TaskService) -> APIRouter:
    """The v2 routes over `svc` (they carry their own prefix)."""

    def create(request: Request, caller: Caller, body: Annotated[Any, Depends(read_create_body)]) -> JSONResponse:
        view = svc.create(caller.account_id, body)
        return JSONResponse(_render(view), status_code=201, headers={"Location": f"{request.url}/{view.row.id}"})

    def list_tasks(
        request: Request,
        caller: Caller,
        params: Annotated[PageParams, Depends(page_params)],
        search: Annotated[str | None, Query(description="words joined by | (or) and & (and)")] = None,
        sort: Annotated[str | None, Query(description="created, created:desc, status, status:desc")] = None,
        userid: Annotated[str | None, Query(description="accepted and ignored")] = None,
    ) -> dict[str, Any]:
        views, has_more = svc.list(caller.account_id, params, search=search, sort=sort)
        return page(request, params, views, has_more, _render)

    def get_task(task_id: str, caller: Caller) -> dict[str, Any]:
        return _render(svc.get(caller.account_id, task_id))

    def update_task(task_id: str, caller: Caller, body: Annotated[Any, Depends(read_json)]) -> dict[str, Any]:
        return _render(svc.update(caller.account_id, task_id, body))

    r = APIRouter(prefix=PREFIX, tags=["v2 batch tasks"])
    r.add_api_route(
        "/process",
        create,
        methods=["POST"],
        status_code=201,
        operation_id="v2_create_task",
        summary="Create a batch v2 task",
        response_model=TaskV2,
        openapi_extra=body_schema(CreateTaskV2),
    )
    r.add_api_route(
        "/process",
        list_tasks,
        methods=["GET"],
        operation_id="v2_list_tasks",
        summary="List batch tasks (v1- and v2-created)",
        response_model=TaskPage,
    )
    r.add_api_route(
        "/process/{task_id}",
        get_task,
        methods=["GET"],
        operation_id="v2_get_task",
        summary="Get a batch task",
        response_model=TaskV2,
    )
    r.add_api_route(
        "/process/{task_id}",
        update_task,
        methods=["PUT"],
        operation_id="v2_update_task",
        summary="Update a task's description",
        response_model=TaskV2,
        openapi_extra=body_schema(UpdateTaskV2),
    )
    for name, action in ACTIONS.items():
        r.add_api_route(
            f"/process/{{request_id}}/{name}",
            action_route(svc.act, action, f"v2_{action.value.lower()}"),
            methods=["POST"],
            status_code=204,
            operation_id=f"v2_{name}",
            summary=f"{name} a batch task",
        )
    r.add_api_route(
        "/tilinggrids",
        list_grids,
        methods=["GET"],
        operation_id="v2_list_grids",
        summary="List tiling grids",
        responses={200: {"model": GridPage}},
    )
    r.add_api_route(
        "/tilinggrids/{grid_id}",
        get_grid,
        methods=["GET"],
        operation_id="v2_get_grid",
        summary="Get a tiling grid",
        responses={200: {"model": GridV1}},
    )
    return r
