"""Routers beyond the Batch APIs (Catalog API, request events, ...) and the webhook dispatcher, mounted
by the app factory through one call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from eobatch.api import catalog, dashboard, events, process


def include_extensions(app: FastAPI) -> None:
    """Mount the Catalog API, the event stream, the Process API and the dashboard on `app`; run the webhook
    dispatcher while it lives (and stop the Process API's worker processes with it)."""
    app.include_router(catalog.router())
    app.include_router(events.router())
    app.include_router(process.router())
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
            workers = getattr(running.state, "process_workers", None)
            if workers is not None:
                workers.shutdown()

    app.router.lifespan_context = lifespan
