"""OAuth2 client-credentials token endpoint at /oauth/token and the Keycloak-style path (batch-api.md §8)."""

from __future__ import annotations

import base64
import binascii
import math
import threading
import time
from collections import deque
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from eobatch.errors import Unauthorized
from eobatch.store.accounts import verify_client

TOKEN_PATHS = ("/oauth/token", "/auth/realms/main/protocol/openid-connect/token")


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers={"Cache-Control": "no-store"}
    )


def _basic(request: Request) -> tuple[str | None, str | None]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


async def token(request: Request) -> JSONResponse:
    """Exchange client credentials (form body or HTTP Basic) for a bearer JWT."""
    try:
        form = await request.form()
    except Exception:  # any unreadable body is an invalid request
        return _oauth_error(400, "invalid_request", "The body must be application/x-www-form-urlencoded")
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", f"grant_type must be client_credentials, got {grant_type!r}")
    basic_id, basic_secret = _basic(request)
    client_id = str(form.get("client_id") or basic_id or "")
    client_secret = str(form.get("client_secret") or basic_secret or "")
    if not client_id or not client_secret:
        return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
    database = request.app.state.database
    limiter: FailureLimiter = request.app.state.token_failures
    keys = (f"client:{client_id}", f"address:{request.client.host if request.client else '-'}")
    wait_s = limiter.blocked_for(keys)
    if wait_s > 0:
        response = _oauth_error(429, "slow_down", "Too many failed token requests; try again later")
        response.headers["Retry-After"] = str(wait_s)
        return response

    def check() -> str:
        return database.run(verify_client, client_id, client_secret).id

    try:
        account_id = await run_in_threadpool(check)
    except Unauthorized:
        limiter.failed(keys)
        return _oauth_error(401, "invalid_client", "Invalid client credentials")
    issuer = request.app.state.tokens
    return JSONResponse(
        {
            "access_token": issuer.issue(account_id, client_id),
            "expires_in": issuer.lifetime_s,
            "token_type": "Bearer",
            "refresh_expires_in": 0,
            "not-before-policy": 0,
            "scope": "email profile",
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


class FailureLimiter:
    """At most `limit` failed token requests per client id and per address in any `window_s` seconds;
    beyond that, 429 until the oldest failure leaves the window. In memory, per API process."""

    def __init__(self, limit: int, window_s: float = 60.0, max_keys: int = 100_000):
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked_for(self, keys: tuple[str, ...]) -> int:
        """Seconds until another try is allowed (0: allowed now)."""
        if self.limit <= 0:
            return 0
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._failures.get(key)
                if not times:
                    continue
                while times and times[0] <= now - self.window_s:
                    times.popleft()
                if len(times) >= self.limit:
                    wait = max(wait, times[0] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: tuple[str, ...]) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self.max_keys:  # bounded memory: forget the idle keys
                self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window_s}
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)


def router() -> APIRouter:
    r = APIRouter(tags=["auth"])
    for index, path in enumerate(TOKEN_PATHS):
        r.add_api_route(
            path,
            token,
            methods=["POST"],
            operation_id=f"token_{index}",
            summary="OAuth2 client-credentials token",
            include_in_schema=True,
        )
    return r
