"""Operations endpoints: /healthz (the process answers), /readyz (database and object storage reachable),
/metrics (Prometheus), and the access log middleware."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

access_log = logging.getLogger("eobatch.access")


def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers and the object storage is reachable; 503 naming what is not."""
    settings, database = request.app.state.settings, request.app.state.database
    checks = await run_in_threadpool(_checks, settings, database)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )


def _checks(settings: Any, database: Any) -> dict[str, str]:
    from eobatch.store.gauges import ping

    checks: dict[str, str] = {}
    try:
        database.run(ping)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["object_storage"] = _storage_check(settings)
    return checks


def _storage_check(settings: Any) -> str:
    if not settings.s3_endpoint:
        folder = settings.buckets_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"unusable: {exc.strerror}"
        return "ok"
    import httpx

    endpoint = str(settings.s3_endpoint)
    if "://" not in endpoint:
        endpoint = f"http://{endpoint}"
    try:
        httpx.get(endpoint, timeout=3.0)  # any HTTP answer means the endpoint is up
    except httpx.HTTPError as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


async def metrics(request: Request) -> Response:
    from eobatch.observability.metrics import render

    body = await run_in_threadpool(render, request.app.state.database)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def router() -> APIRouter:
    r = APIRouter(tags=["operations"])
    r.add_api_route("/healthz", healthz, methods=["GET"], operation_id="healthz", summary="The process is alive")
    r.add_api_route(
        "/readyz",
        readyz,
        methods=["GET"],
        operation_id="readyz",
        summary="Database and object storage reachable",
        responses={503: {"description": "Not ready: a dependency cannot be reached"}},
    )
    r.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        operation_id="metrics",
        summary="Prometheus metrics",
        response_class=Response,
    )
    return r


class AccessLog:
    """ASGI middleware: one structured log line per HTTP request (method, path, status, duration,
    account), written when the response has started; streaming responses are passed through untouched."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_and_note(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            principal = getattr(scope.get("state", {}).get("principal"), "account_id", None)
            client = scope.get("client")
            access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status[0],
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status[0],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "account_id": principal,
                    "client": client[0] if client else None,
                },
            )


def install_access_log(app: FastAPI) -> None:
    app.add_middleware(AccessLog)
