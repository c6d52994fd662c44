"""FastAPI dependencies shared by the routers: the caller and the service objects from app.state."""

from __future__ import annotations

from fastapi import Request

from eobatch.api.auth import Principal, current_principal
from eobatch.api.service import BatchService


def principal(request: Request) -> Principal:
    return current_principal(request)


def service(request: Request) -> BatchService:
    return request.app.state.batch_service
