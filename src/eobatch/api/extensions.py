"""Routers beyond the Batch APIs (Catalog API, ...), mounted by the app factory through one call."""

from __future__ import annotations

from fastapi import FastAPI

from eobatch.api import catalog


def include_extensions(app: FastAPI) -> None:
    """Mount the Catalog API and the other eobatch extensions on `app`."""
    app.include_router(catalog.router())
