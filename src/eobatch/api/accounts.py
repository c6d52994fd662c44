"""GET /api/v1/accounts/me: the caller's account and processing-unit balance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from eobatch.api.routing import Caller
from eobatch.api.v1.batch_service import BatchService


def router(svc: BatchService) -> APIRouter:
    """GET /api/v1/accounts/me over `svc`."""

    def me(caller: Caller) -> dict[str, Any]:
        """Balance (available, reserved, spent PU) and the reservations held per request."""
        return svc.account_summary(caller.account_id)

    r = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])
    r.add_api_route("/me", me, methods=["GET"], operation_id="v1_account_me", summary="The caller's account")
    return r
