"""The one table from errors to HTTP, and handlers that render every error in the Sentinel Hub body:
`{"error": {"status", "reason", "message", "code", "errors": [{parameter, violation}]}}`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from eobatch.errors import (
    BadRequest,
    Conflict,
    EobatchError,
    EvalscriptError,
    Forbidden,
    IllegalAction,
    InsufficientUnits,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger(__name__)

#: domain error class -> HTTP status; the most specific class in the MRO wins
STATUS_BY_ERROR: dict[type[EobatchError], int] = {
    BadRequest: 400,
    IllegalAction: 400,
    EvalscriptError: 400,
    InsufficientUnits: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
    Unavailable: 503,
    EobatchError: 500,
}

#: codes for errors raised by the framework itself (routing, parsing)
CODE_BY_STATUS = {
    400: "COMMON_BAD_PAYLOAD",
    401: "COMMON_UNAUTHORIZED",
    403: "COMMON_INSUFFICIENT_PERMISSIONS",
    404: "COMMON_NOT_FOUND",
    405: "COMMON_METHOD_NOT_ALLOWED",
    409: "COMMON_CONFLICT",
    413: "COMMON_PAYLOAD_TOO_LARGE",
    415: "COMMON_UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_EXCEEDED",
    503: "SERVICE_UNAVAILABLE",
}


def status_for(error: EobatchError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(status: int, message: str, code: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "reason": HTTPStatus(status).phrase, "message": message, "code": code}
    if errors:
        body["errors"] = errors
    return {"error": body}


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    code = code or CODE_BY_STATUS.get(status, "COMMON_EXCEPTION")
    return JSONResponse(error_body(status, message, code, errors), status_code=status, headers=headers)


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EobatchError)
    status = status_for(exc)
    if status >= 500:
        log.error("service error: %s", exc.message, exc_info=exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyRequests | Unavailable):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return error_response(status, exc.message, exc.code, [v.as_dict() for v in exc.errors], headers)


DATABASE_RETRY_AFTER_S = 5


async def _database_down(_request: Request, exc: Exception) -> JSONResponse:
    """The database cannot be reached (connection refused or lost, pool exhausted, SQLite locked):
    503 with Retry-After, so clients wait and try again instead of reporting a server fault."""
    log.warning("database unavailable: %s", type(exc).__name__)
    return error_response(
        503,
        "The service's database is unavailable right now; try again in a few seconds",
        "SERVICE_UNAVAILABLE",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"parameter": _location(tuple(e.get("loc", ()))), "violation": str(e.get("msg", ""))} for e in exc.errors()
    ]
    message = "; ".join(f"{e['parameter']}: {e['violation']}" for e in errors) or "Invalid request"
    return error_response(400, message, "COMMON_BAD_PAYLOAD", errors)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = "The requested resource does not exist"
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "Internal server error; the failure was logged", "COMMON_EXCEPTION")


def install_error_handlers(app: FastAPI) -> None:
    from eobatch.store.db import OUTAGES

    for database_error in OUTAGES:
        app.add_exception_handler(database_error, _database_down)
    app.add_exception_handler(EobatchError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
