"""GET /api/v1/accounts/me: the caller's account and processing-unit balance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from eobatch.api.auth import Principal
from eobatch.api.deps import principal, service
from eobatch.api.service import BatchService


def me(
    caller: Annotated[Principal, Depends(principal)], svc: Annotated[BatchService, Depends(service)]
) -> dict[str, Any]:
    """Balance (available, reserved, spent PU) and the reservations held per request."""
    return svc.account_summary(caller.account_id)


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])
    r.add_api_route("/me", me, methods=["GET"], operation_id="v1_account_me", summary="The caller's account")
    return r
