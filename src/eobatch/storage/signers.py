"""URL signers for archives whose asset hrefs need a short-lived token (Planetary Computer style).

A signer is any object with `sign(href) -> href`. `TokenSigner` is the shipped example: it asks a
token endpoint `{token_url}/{account}/{container}` for a SAS-style token (JSON `{"token": ...,
"msft:expiry": ...}`), caches it per account and container until shortly before it expires, and
appends it as the href's query string. Other signers are plugged in by import path (`load_signer`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from eobatch.errors import EobatchError

_REFRESH_MARGIN = dt.timedelta(minutes=2)


class SigningFailed(EobatchError):
    """The token endpoint did not hand out a usable token."""

    code = "COLLECTION_UNREADABLE"


@dataclass
class TokenSigner:
    """Appends a token fetched from `token_url/{account}/{container}`; `account` is the first label
    of the href's host (`ACCOUNT.blob.core.windows.net`), `container` its first path segment."""

    token_url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = 30.0
    _tokens: dict[tuple[str, str], tuple[str, dt.datetime]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def sign(self, href: str) -> str:
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https"):
            return href
        account = (parts.hostname or "").split(".")[0]
        container = parts.path.lstrip("/").split("/", 1)[0]
        token = self.token(account, container)
        return f"{href}{'&' if parts.query else '?'}{token}"

    def token(self, account: str, container: str) -> str:
        """The cached token for this account and container, fetched again when close to expiry."""
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            cached = self._tokens.get((account, container))
            if cached is not None and cached[1] - _REFRESH_MARGIN > now:
                return cached[0]
            url = f"{self.token_url.rstrip('/')}/{account}/{container}"
            try:
                response = httpx.get(url, headers=dict(self.headers), timeout=self.timeout_s)
                response.raise_for_status()
                body = response.json()
                token = str(body["token"]).lstrip("?")
                expiry = _expiry(body.get("msft:expiry"), now)
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise SigningFailed(f"Token endpoint {url} gave no token: {exc}") from exc
            self._tokens[(account, container)] = (token, expiry)
            return token


def _expiry(value: Any, now: dt.datetime) -> dt.datetime:
    if not isinstance(value, str):
        return now + dt.timedelta(minutes=10)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def load_signer(factory: str, options: Mapping[str, Any]) -> Any:
    """The signer built by `module:callable(**options)`; ValueError when it cannot be imported or
    has no `sign` method."""
    module_name, _, attribute = factory.partition(":")
    try:
        make: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"signer factory {factory!r} cannot be imported: {exc}") from exc
    signer = make(**dict(options))
    if not callable(getattr(signer, "sign", None)):
        raise ValueError(f"signer factory {factory!r} returned {type(signer).__name__}, which has no sign(href)")
    return signer
