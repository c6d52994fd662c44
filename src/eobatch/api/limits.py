"""`BodySizeLimit`: an ASGI middleware answering 413 in the Sentinel Hub error format when a request body
is larger than `Settings.max_body_bytes`, whether it announces its length or streams it in chunks.
Nothing is read further, so an oversized body is never stored."""

from __future__ import annotations

import json
from typing import Any

from eobatch.api.errors import error_body

Scope = dict[str, Any]
Message = dict[str, Any]


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Wraps an ASGI app; `limit` in bytes (0 disables the limit)."""

    def __init__(self, app: Any, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._reject(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Any) -> None:
        message = f"Request body too large: at most {self.limit} bytes are accepted (EOBATCH_MAX_BODY_BYTES)"
        body = json.dumps(error_body(413, message, "COMMON_PAYLOAD_TOO_LARGE")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
