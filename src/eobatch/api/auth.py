"""Access tokens: HS256 JWTs carrying `sub` (account id), `azp` (client id), `iat` and `exp`.

The HMAC secret comes from `Settings.jwt_secret`, or is generated once into `data_dir/jwt-secret`
(mode 0600) and shared by every worker process using that data folder.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from fastapi import Request

from eobatch.errors import Unauthorized
from eobatch.settings import Settings

ALGORITHM = "HS256"
SECRET_FILE = "jwt-secret"


def load_secret(settings: Settings) -> str:
    """The configured secret, or the one in data_dir (created atomically with 0600 permissions)."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / SECRET_FILE
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{SECRET_FILE}.{uuid.uuid4().hex}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(staging, path)  # fails if another process won the race; then use its secret
    except FileExistsError:
        pass
    finally:
        staging.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"JWT secret file {path} is empty; delete it or set EOBATCH_JWT_SECRET")
    return secret


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account and the OAuth client that obtained the token."""

    account_id: str
    client_id: str


class TokenIssuer:
    def __init__(self, secret: str, lifetime_s: int):
        self.secret = secret
        self.lifetime_s = int(lifetime_s)

    def issue(self, account_id: str, client_id: str) -> str:
        now = int(time.time())
        claims = {
            "sub": account_id,
            "azp": client_id,
            "iat": now,
            "exp": now + self.lifetime_s,
            "jti": uuid.uuid4().hex,
            "typ": "Bearer",
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The access token has expired; request a new one") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is invalid") from exc
        return Principal(account_id=str(claims["sub"]), client_id=str(claims.get("azp", "")))


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token: send 'Authorization: Bearer <access_token>'")
    return token.strip()


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller (401 otherwise, also when its client was deleted)."""
    issuer: TokenIssuer = request.app.state.tokens
    principal = issuer.verify(bearer_token(request))
    database = getattr(request.app.state, "database", None)
    if database is not None:
        from eobatch.store.accounts import client_is_active

        if not database.run(client_is_active, principal.client_id, principal.account_id):
            raise Unauthorized("The access token was revoked: its client no longer exists")
    request.state.principal = principal
    return principal
