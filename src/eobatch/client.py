"""A small HTTP client for eobatch's v1 API, used by the CLI and the demo (any Sentinel Hub client works too)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

TOKEN_PATH = "/auth/realms/main/protocol/openid-connect/token"
V1 = "/api/v1/batch"
RESTING = frozenset({"DONE", "PARTIAL", "FAILED", "CANCELED", "STOPPED"})


class ApiError(Exception):
    """A 4xx/5xx answer, with the server's message."""

    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(f"HTTP {status}: {message or body}")


class Unreachable(ApiError):
    """No answer from the server at all (refused, timed out, unknown host)."""

    def __init__(self, base_url: str, error: Exception):
        self.status, self.body = 0, None
        Exception.__init__(self, f"Cannot reach the eobatch server at {base_url}: {error} (give --url or EOBATCH_URL)")


@dataclass
class Credentials:
    client_id: str
    client_secret: str

    @classmethod
    def load(cls, path: Path) -> Credentials:
        data = json.loads(path.read_text())
        return cls(data["client_id"], data["client_secret"])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"client_id": self.client_id, "client_secret": self.client_secret}))
        path.chmod(0o600)


class EobatchClient:
    """Fetches and renews an OAuth2 token and calls the batch API."""

    def __init__(self, base_url: str, credentials: Credentials, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None
        self._token_expires = 0.0

    def close(self) -> None:
        self._http.close()

    def _auth(self) -> dict[str, str]:
        if self._token is None or time.time() > self._token_expires - 60:
            response = self._send(
                "POST",
                TOKEN_PATH,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.credentials.client_id,
                    "client_secret": self.credentials.client_secret,
                },
            )
            if response.status_code != 200:
                raise ApiError(response.status_code, _json(response))
            token = response.json()
            self._token = token["access_token"]
            self._token_expires = time.time() + float(token.get("expires_in", 300))
        return {"Authorization": f"Bearer {self._token}"}

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise Unreachable(self.base_url, error) from error

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, headers=self._auth(), **kwargs)
        if response.status_code >= 400:
            raise ApiError(response.status_code, _json(response))
        return _json(response) if response.content else None

    # v1 batch API
    def create(self, body: dict) -> dict:
        return self.call("POST", f"{V1}/process", json=body)

    def get(self, request_id: str) -> dict:
        return self.call("GET", f"{V1}/process/{request_id}")

    def action(self, request_id: str, action: str) -> None:
        self.call("POST", f"{V1}/process/{request_id}/{action}")

    def tiles(self, request_id: str, status: str | None = None) -> Iterator[dict]:
        params: dict[str, Any] = {"count": 100}
        if status:
            params["status"] = status
        yield from self._pages(f"{V1}/process/{request_id}/tiles", params)

    def requests(self) -> Iterator[dict]:
        yield from self._pages(f"{V1}/process", {"count": 100, "sort": "created:desc"})

    def collections(self) -> Iterator[dict]:
        """The account's batch collections."""
        yield from self._pages(f"{V1}/collections", {"count": 100})

    def collection(self, collection_id: str) -> dict:
        return self.call("GET", f"{V1}/collections/{collection_id}")["data"]

    def delete_collection(self, collection_id: str) -> None:
        self.call("DELETE", f"{V1}/collections/{collection_id}")

    def grids(self) -> list[dict]:
        return list(self._pages(f"{V1}/tilinggrids", {}))

    def events(self, request_id: str, after: int | None = None) -> Iterator[tuple[str, dict]]:
        """The request's server-sent events as (event, data): a `snapshot` first unless `after` is given."""
        params = {} if after is None else {"after": after}
        timeout = httpx.Timeout(60.0, read=60.0)  # the server sends a keep-alive every 15 s
        path = f"{V1}/process/{request_id}/events"
        with self._http.stream("GET", path, params=params, headers=self._auth(), timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(response.status_code, _json(response))
            kind = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    yield kind, json.loads(line[5:])
                elif not line:
                    kind = "message"

    def wait_events(
        self,
        request_id: str,
        until: Collection[str] = RESTING,
        on_event: Callable[[str, dict], None] | None = None,
        timeout: float = 3600.0,
    ) -> dict:
        """Follow the request's events until its status is in `until` (or it rests); returns the request."""
        deadline = time.monotonic() + timeout
        after: int | None = None
        while time.monotonic() < deadline:
            try:
                for kind, data in self.events(request_id, after):
                    after = data.get("eventId", data.get("id", after)) if kind != "end" else after
                    if on_event is not None:
                        on_event(kind, data)
                    if kind == "end" or (kind in ("snapshot", "status") and data.get("status") in until):
                        return self.get(request_id)
            except httpx.TransportError:
                time.sleep(1.0)  # reconnect, resuming after the last event seen
        return self.get(request_id)

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict]:
        params = dict(params)
        while True:
            page = self.call("GET", path, params=params)
            yield from page.get("data", [])
            token = (page.get("links") or {}).get("nextToken")
            if not token or not page.get("data"):
                return
            params["viewtoken"] = token


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
