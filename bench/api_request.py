"""Batch requests made the way users make them: through the HTTP API of a served eobatch instance.

`api_client(settings)` serves the API (no scheduler) on a free port and yields an authenticated httpx
client; `analysed(...)` creates a request, runs a scheduler until the analysis is done and returns its id.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from eobatch.service import Service, free_port
from eobatch.settings import Settings
from eobatch.store.accounts import create_account

API = "/api/v1/batch/process"


@contextmanager
def api_client(settings: Settings) -> Iterator[tuple[httpx.Client, Service]]:
    service = Service(settings, port=free_port(), run_scheduler=False).start_in_thread()
    try:
        with service.database.session() as s:
            _, client_id, secret = create_account(s, "bench", settings)
        with httpx.Client(base_url=service.url, timeout=120) as http:
            token = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            )
            token.raise_for_status()
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            yield http, service
    finally:
        service.stop()


def create(http: httpx.Client, body: dict[str, Any]) -> str:
    response = http.post(API, json=body)
    if response.status_code != 201:
        raise RuntimeError(f"create failed: {response.status_code} {response.text}")
    return response.json()["id"]


def post_action(http: httpx.Client, request_id: str, action: str) -> None:
    response = http.post(f"{API}/{request_id}/{action}")
    if response.status_code >= 300:
        raise RuntimeError(f"{action} failed: {response.status_code} {response.text}")


def wait_status(
    http: httpx.Client, request_id: str, statuses: set[str], timeout_s: float = 600, poll_s: float = 0.02
) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        request = http.get(f"{API}/{request_id}").json()
        if request["status"] in statuses:
            return request
        if request["status"] == "FAILED" or time.monotonic() > deadline:
            raise RuntimeError(f"request {request_id} is {request['status']}: {request.get('error')}")
        time.sleep(poll_s)
