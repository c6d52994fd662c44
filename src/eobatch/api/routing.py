"""What every router shares: the caller dependency, the request-body schema for OpenAPI, and the handlers
v1 and v2 build the same way (create, list, user actions) over their own service and renderer.

Every router module has the same shape: `router(service) -> APIRouter`, its handlers closing over the
service object the app factory passes in (no service looked up on app.state, nothing built at import).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from eobatch.api.auth import Principal
from eobatch.api.body import read_create_body
from eobatch.api.deps import principal
from eobatch.api.pagination import PageParams, page, page_params
from eobatch.domain.states import UserAction

Caller = Annotated[Principal, Depends(principal)]
T = TypeVar("T")
Render = Callable[[Any], dict[str, Any]]


class Found(Protocol):
    """One page of what a service lists (store.requests.Slice)."""

    items: Sequence[Any]
    has_more: bool


class ListPage(Protocol):
    def __call__(self, account_id: str, params: PageParams, *, search: str | None, sort: str | None) -> Found: ...


def body_schema(model: type) -> dict[str, Any]:
    """`openapi_extra` naming the model of a body the handler reads by hand."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def action_route(act: Callable[[str, str, UserAction], None], action: UserAction, name: str) -> Callable:
    """A handler that applies `action` to the request in the path and answers 204 with no body."""

    def handler(request_id: str, caller: Caller) -> Response:
        act(caller.account_id, request_id, action)
        return Response(status_code=204)

    handler.__name__ = name
    handler.__doc__ = f"Set userAction {action.value}; answers 204 with no body (an empty JSON body is accepted)."
    return handler


def add_action_routes(
    r: APIRouter, act: Callable[[str, str, UserAction], None], actions: dict[str, UserAction], *, under: str, api: str
) -> None:
    """`POST {under}/{request_id}/<name>` for each user action (operation `<api>_<name>`); `under` is the
    collection's path in `r` ("" in v1, "/process" in v2), whose requests the summaries name."""
    noun = "batch request" if api == "v1" else "batch task"
    for name, action in actions.items():
        r.add_api_route(
            f"{under}/{{request_id}}/{name}",
            action_route(act, action, f"{api}_{action.value.lower()}"),
            methods=["POST"],
            status_code=204,
            operation_id=f"{api}_{name}",
            summary=f"{name} a {noun}",
        )


def create_route(
    create: Callable[[str, Any], T], render: Callable[[T], dict[str, Any]], id_of: Callable[[T], str]
) -> Callable:
    """A create handler: `create(account, body)`, answered 201 with the rendered result and its Location."""

    def create_handler(
        request: Request, caller: Caller, body: Annotated[Any, Depends(read_create_body)]
    ) -> JSONResponse:
        created = create(caller.account_id, body)
        return JSONResponse(render(created), status_code=201, headers={"Location": f"{request.url}/{id_of(created)}"})

    return create_handler


def list_route(list_page: ListPage, render: Render) -> Callable:
    """A list handler: one page of the caller's requests (search, sort) in the `{data, links}` envelope."""

    def list_handler(
        request: Request,
        caller: Caller,
        params: Annotated[PageParams, Depends(page_params)],
        search: Annotated[str | None, Query(description="words joined by | (or) and & (and)")] = None,
        sort: Annotated[str | None, Query(description="created, created:desc, status, status:desc")] = None,
        userid: Annotated[str | None, Query(description="accepted and ignored")] = None,
    ) -> dict[str, Any]:
        found = list_page(caller.account_id, params, search=search, sort=sort)
        return page(request, params, list(found.items), found.has_more, render)

    return list_handler
