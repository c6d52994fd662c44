"""Routers beyond the Batch APIs (Catalog API, request events, ...) and the webhook dispatcher, mounted
by the app factory through one call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from eobatch.api import catalog, dashboard, events


def include_extensions(app: FastAPI) -> None:
    """Mount the Catalog API and the event stream on `app`; run the webhook dispatcher while it lives."""
    app.include_router(catalog.router())
    app.include_router(events.router())
    dashboard.mount(app)
    _run_webhooks_with(app)


def _run_webhooks_with(app: FastAPI) -> None:
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[Any]:
        from eobatch.webhooks import WebhookDispatcher

        dispatcher = WebhookDispatcher(running.state.settings, running.state.database).start()
        try:
            async with inner(running) as state:
                yield state
        finally:
            dispatcher.stop()

    app.router.lifespan_context = lifespan
