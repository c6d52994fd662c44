"""FastAPI dependencies shared by the routers: the caller."""

from __future__ import annotations

from fastapi import Request

from eobatch.api.auth import Principal, current_principal


def principal(request: Request) -> Principal:
    return current_principal(request)
