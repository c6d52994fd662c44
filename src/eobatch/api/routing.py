"""What every router shares: the caller dependency, the request-body schema for OpenAPI, action routes.

Every router module has the same shape: `router(service) -> APIRouter`, its handlers closing over the
service object the app factory passes in (no service looked up on app.state, nothing built at import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Response

from eobatch.api.auth import Principal
from eobatch.api.deps import principal
from eobatch.domain.states import UserAction

Caller = Annotated[Principal, Depends(principal)]


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
