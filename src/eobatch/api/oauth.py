"""OAuth2 client-credentials token endpoint at /oauth/token and the Keycloak-style path (batch-api.md §8)."""

from __future__ import annotations

import base64
import binascii
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

    def check() -> str:
        with database.session() as session:
            return verify_client(session, client_id, client_secret).id

    try:
        account_id = await run_in_threadpool(check)
    except Unauthorized:
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
