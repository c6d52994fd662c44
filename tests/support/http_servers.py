"""Small real HTTP servers for access tests: a range-capable file server that can demand headers or a
query token, a token endpoint in the Planetary Computer style, and a forwarding proxy that refuses
requests without given headers (requester pays in front of SeaweedFS). Each counts its requests."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
from collections import Counter
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from tests.processing.range_server import RangeHandler


class Served:
    """A running server: its base URL, counters by kind, and `stop()`."""

    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.counts: Counter[str] = Counter()
        server.counts = self.counts  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _GuardedRangeHandler(RangeHandler):
    required_headers: ClassVar[dict[str, str]] = {}
    required_query: ClassVar[dict[str, str]] = {}

    def send_head(self):
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        ok = all(self.headers.get(k) == v for k, v in self.required_headers.items())
        ok = ok and all(query.get(k) == v for k, v in self.required_query.items())
        self.server.counts["ok" if ok else "refused"] += 1
        if not ok:
            self.send_error(403, "missing header or token")
            return None
        self.path = urlsplit(self.path).path
        return super().send_head()


def serve_files(folder: Path, headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> Served:
    """Serve `folder` with Range support; 403 unless every header / query parameter given is present."""
    handler = type(
        "Guarded",
        (_GuardedRangeHandler,),
        {"required_headers": dict(headers or {}), "required_query": dict(query or {})},
    )
    return Served(ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder))))


class _TokenHandler(BaseHTTPRequestHandler):
    token = ""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        self.server.counts["/".join(parts[-2:])] += 1
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        body = json.dumps({"msft:expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), "token": self.token}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_token_endpoint(token: str) -> Served:
    """`GET /token/{account}/{container}` -> {"token": token, "msft:expiry": in an hour}; counts per
    account/container."""
    handler = type("Token", (_TokenHandler,), {"token": token})
    return Served(ThreadingHTTPServer(("127.0.0.1", 0), handler))


class _ProxyHandler(BaseHTTPRequestHandler):
    upstream = ""
    required: ClassVar[dict[str, str]] = {}
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _forward(self) -> None:
        ok = all(self.headers.get(k, "").lower() == v.lower() for k, v in self.required.items())
        self.server.counts["forwarded" if ok else "refused"] += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if not ok:
            message = b"<Error><Code>AccessDenied</Code><Message>requester must pay</Message></Error>"
            self.send_response(403)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)
            return
        host = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for key, value in self.headers.items():
            connection.putheader(key, value)  # Host included: the signature covers it
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        connection.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward


def serve_proxy(upstream: str, required_headers: dict[str, str]) -> Served:
    """Forward every request to `upstream` unchanged, or answer 403 when a required header is absent."""
    handler = type("Proxy", (_ProxyHandler,), {"upstream": upstream, "required": dict(required_headers)})
    return Served(ThreadingHTTPServer(("127.0.0.1", 0), handler))
