"""The `webhook` field of a create body: `{"url": "https://...", "secret": "at least 16 characters"}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eobatch.errors import BadRequest, Violation

FIELD = "webhook"
MIN_SECRET = 16
MAX_SECRET = 256


@dataclass(frozen=True)
class WebhookSpec:
    url: str
    secret: str


def _fail(parameter: str, violation: str) -> BadRequest:
    return BadRequest(f"{parameter}: {violation}", [Violation(parameter, violation)])


def parse_webhook(value: Any) -> WebhookSpec:
    if not isinstance(value, dict):
        raise _fail(FIELD, 'must be an object {"url": ..., "secret": ...}')
    unknown = sorted(set(value) - {"url", "secret"})
    if unknown:
        raise _fail(f"{FIELD}.{unknown[0]}", "is not a webhook field; allowed: url, secret")
    url = value.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise _fail(f"{FIELD}.url", "must be an http(s):// URL")
    secret = value.get("secret")
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise _fail(f"{FIELD}.secret", f"must be a string of {MIN_SECRET} to {MAX_SECRET} characters")
    return WebhookSpec(url=url, secret=secret)


def split_webhook(body: Any) -> tuple[Any, WebhookSpec | None]:
    """The create body without its `webhook` field (so the secret is never stored with it), and the webhook."""
    if not isinstance(body, dict) or FIELD not in body:
        return body, None
    rest = {key: value for key, value in body.items() if key != FIELD}
    return rest, parse_webhook(body[FIELD])
