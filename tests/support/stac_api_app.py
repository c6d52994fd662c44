"""Run stac-fastapi-pgstac (in its own virtualenv) with a counter of searches in front of it.

`python stac_api_app.py PORT` with PG* variables set. `GET /_test/searches` answers
{"searches": n, "pages": m}: a search is a request to /search without a paging `token`, a page is
one with a token (pystac-client follows `next` links by adding it to the body or the query).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading

import uvicorn
from stac_fastapi.pgstac.app import create_app

COUNTS = {"searches": 0, "pages": 0}
LOCK = threading.Lock()


class CountSearches:
    """ASGI middleware: counts /search requests, answers /_test/searches itself."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].rstrip("/")
        if path == "/_test/searches":
            body = json.dumps(COUNTS).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            return await send({"type": "http.response.body", "body": body})
        if not path.endswith("/search"):
            return await self.app(scope, receive, send)
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        has_token = b"token=" in scope.get("query_string", b"")
        if raw:
            with contextlib.suppress(ValueError):
                has_token = has_token or bool(json.loads(raw).get("token"))
        with LOCK:
            COUNTS["pages" if has_token else "searches"] += 1
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        return await self.app(scope, replay, send)


if __name__ == "__main__":
    uvicorn.run(CountSearches(create_app()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
