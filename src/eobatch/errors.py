"""The small family of domain errors every layer raises; the API maps them to HTTP in one table.

Foreign errors (GDAL, V8, SQLAlchemy, obstore) are translated into these where they enter eobatch,
so the layers above never catch a library's exception type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Violation:
    """One problem with one input field, as in the Sentinel Hub `errors` array."""

    parameter: str
    violation: str

    def as_dict(self) -> dict[str, str]:
        return {"parameter": self.parameter, "violation": self.violation}


class EobatchError(Exception):
    """Base class. `code` is the Sentinel Hub error code the API reports."""

    code = "COMMON_EXCEPTION"

    def __init__(self, message: str, errors: list[Violation] | None = None):
        super().__init__(message)
        self.message = message
        self.errors: list[Violation] = list(errors or [])


class BadRequest(EobatchError):
    """The input is invalid; nothing was changed (HTTP 400)."""

    code = "COMMON_BAD_PAYLOAD"


class IllegalAction(BadRequest):
    """A user action that the request's current status does not allow (HTTP 400)."""


class NotFound(EobatchError):
    """The object does not exist or belongs to another account (HTTP 404)."""

    code = "COMMON_NOT_FOUND"


class Conflict(EobatchError):
    """The object exists but its state forbids the operation (HTTP 409)."""

    code = "COMMON_CONFLICT"


class Unauthorized(EobatchError):
    """Missing or invalid credentials (HTTP 401)."""

    code = "COMMON_UNAUTHORIZED"


class Forbidden(EobatchError):
    """Valid credentials without the right to do this (HTTP 403)."""

    code = "COMMON_INSUFFICIENT_PERMISSIONS"


class InsufficientUnits(EobatchError):
    """The account's processing-unit balance cannot cover the reservation (HTTP 402-style 400)."""

    code = "INSUFFICIENT_PROCESSING_UNITS"


class TooManyRequests(EobatchError):
    """The caller must slow down (HTTP 429 with Retry-After)."""

    code = "RATE_LIMIT_EXCEEDED"

    def __init__(self, message: str, retry_after_s: int = 5):
        super().__init__(message)
        self.retry_after_s = int(retry_after_s)


class Unavailable(EobatchError):
    """A service this one depends on (the database) cannot be reached right now (HTTP 503 with Retry-After)."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(self, message: str, retry_after_s: int = 5):
        super().__init__(message)
        self.retry_after_s = int(retry_after_s)


class EvalscriptError(BadRequest):
    """The evalscript failed to compile, set up or run. `line` is the script line when known."""

    code = "RENDERER_EXCEPTION"

    def __init__(self, message: str, line: int | None = None, errors: list[Violation] | None = None):
        super().__init__(message, errors)
        self.line = line


class TileFailure(Exception):
    """A tile could not be processed. `retryable` says whether another attempt may succeed.

    A plain exception whose args are its fields, so it pickles across worker processes.
    """

    def __init__(self, reason: str, retryable: bool = True, details: dict | None = None):
        super().__init__(reason, retryable, details)
        self.reason = reason
        self.retryable = retryable
        self.details: dict = dict(details or {})

    def __str__(self) -> str:
        return self.reason
