"""The application factory: `create_app(settings)` builds a FastAPI app; nothing is built at import time.

Run several workers with `uvicorn --factory eobatch.api.app:app_from_env --workers N` (settings from
`EOBATCH_*`); each worker shares the database and the JWT secret in the data folder.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from eobatch.api import accounts, health, oauth
from eobatch.api.auth import TokenIssuer, load_secret
from eobatch.api.errors import install_error_handlers
from eobatch.api.extensions import include_extensions
from eobatch.api.limits import BodySizeLimit
from eobatch.api.openapi import document_errors
from eobatch.api.v1 import collections as v1_collections
from eobatch.api.v1 import requests as v1_requests
from eobatch.api.v1 import tiles as v1_tiles
from eobatch.api.v1.batch_service import BatchService
from eobatch.api.v1.collection_service import CollectionService
from eobatch.api.v2 import routes as v2_routes
from eobatch.api.v2.task_service import TaskService
from eobatch.settings import Settings
from eobatch.store.db import Database

log = logging.getLogger(__name__)


def create_app(settings: Settings, database: Database | None = None, *, run_scheduler: bool = False) -> FastAPI:
    """The HTTP API over `database` (built from the settings and migrated when not given).

    `run_scheduler=True` also runs the engine's Scheduler in a background thread for the app's lifetime.
    """
    if database is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.resolved_database_url())
        database.migrate()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = _start_scheduler(settings, database) if run_scheduler else None
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(
        title="eobatch",
        version="0.1.0",
        lifespan=lifespan,
        description="Batch processing API, wire-compatible with Sentinel Hub Batch v1 and v2.",
    )
    app.state.settings = settings
    app.state.database = database
    app.state.tokens = TokenIssuer(load_secret(settings), settings.token_lifetime_s)
    app.state.token_failures = oauth.FailureLimiter(settings.token_failures_per_minute)
    batch_service = app.state.batch_service = BatchService(settings, database)  # also read by health checks
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    health.install_access_log(app)
    app.include_router(health.router())
    app.include_router(oauth.router())
    app.include_router(v1_requests.router(batch_service))
    app.include_router(v1_tiles.router(batch_service))
    app.include_router(v1_collections.router(CollectionService(settings, database)))
    app.include_router(accounts.router(batch_service))
    app.include_router(v2_routes.router(TaskService(settings, database)))
    include_extensions(app)
    _document_bodies(app)
    return app


def _document_bodies(app: FastAPI) -> None:
    """Add the create/update body models (read by hand, so FastAPI does not list them) to /openapi.json."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = original().setdefault("components", {}).setdefault("schemas", {})
            from eobatch.api.v2.wire import CreateTaskV2, UpdateTaskV2

            for model in (*v1_requests.SCHEMA_MODELS, CreateTaskV2, UpdateTaskV2):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            document_errors(app.openapi_schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _start_scheduler(settings: Settings, database: Database) -> Any:
    from eobatch.engine import Scheduler, make_executor

    scheduler = Scheduler(settings, database, make_executor(settings))
    scheduler.start()
    return scheduler


def app_from_env() -> FastAPI:
    """For `uvicorn --factory`: settings from the EOBATCH_* environment."""
    return create_app(Settings())
