"""/api/v2/batch routes: create, list, get, update, analyse, start, stop, and the tiling grids."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from eobatch.api.body import read_json
from eobatch.api.routing import Caller, add_action_routes, body_schema, create_route, list_route
from eobatch.api.v1.tiles import add_grid_routes
from eobatch.api.v2.task_service import TaskService, TaskView
from eobatch.api.v2.wire import CreateTaskV2, TaskPage, TaskV2, UpdateTaskV2, render_task
from eobatch.domain.states import UserAction

PREFIX = "/api/v2/batch"
ACTIONS = {"analyse": UserAction.ANALYSE, "start": UserAction.START, "stop": UserAction.STOP}


def _render(view: TaskView) -> dict[str, Any]:
    return render_task(view.task, view.finished_tiles)


def router(svc: TaskService) -> APIRouter:
    """The v2 routes over `svc` (they carry their own prefix)."""

    create = create_route(svc.create, _render, lambda view: view.task.id)
    list_tasks = list_route(svc.list, _render)

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
    add_action_routes(r, svc.act, ACTIONS, under="/process", api="v2")
    add_grid_routes(r, "v2")
    return r
