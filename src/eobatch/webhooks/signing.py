"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the request's webhook secret.

Headers sent: `X-Eobatch-Timestamp` (Unix seconds) and `X-Eobatch-Signature: sha256=<hex digest>`.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Eobatch-Signature"
TIMESTAMP_HEADER = "X-Eobatch-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str | int, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    try:
        expected = sign(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)
