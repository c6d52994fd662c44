"""Request events: the server-sent event stream and a webhook receiver (a real HTTP server) both see every
transition of a request, in order; with PostgreSQL the scheduler runs in another process."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from eobatch.api import create_app
from eobatch.client import Credentials, EobatchClient
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database
from eobatch.webhooks import verify
from tests.api.helpers import VALID_BODY, live_server

SECRET = "a-webhook-secret-of-some-length"
# the real Sentinel-2 sample scenes (examples/collections-real.yaml): two tiles of the 10 km grid
REAL_COLLECTIONS = Path(__file__).parents[2] / "examples" / "collections-real.yaml"
AREA = {
    "type": "Polygon",
    "coordinates": [
        [[14.5525, 45.8665], [14.5635, 45.8665], [14.5635, 45.8745], [14.5525, 45.8745], [14.5525, 45.8665]]
    ],
}
LIFECYCLE = ["CREATED", "ANALYSING", "ANALYSIS_DONE", "PROCESSING", "DONE"]


class Receiver:
    """A webhook endpoint: answers the first delivery 500 (to exercise the retry), then 200."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict, bool]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = verify(SECRET, self.headers["X-Eobatch-Timestamp"], body, self.headers["X-Eobatch-Signature"])
                with receiver.lock:
                    first = not receiver.deliveries
                    receiver.deliveries.append((json.loads(body), valid))
                self.send_response(500 if first else 204)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def accepted(self) -> list[dict]:
        """The deliveries that were answered 2xx, in arrival order."""
        with self.lock:
            return [event for i, (event, _) in enumerate(self.deliveries) if i > 0]


def read_stream(base: str, token: str, request_id: str, query: str, into: list[dict]) -> None:
    url = f"{base}/api/v1/batch/process/{request_id}/events{query}"
    with httpx.stream("GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                into.append({"event": kind, **json.loads(line[6:])})
                if kind == "end":
                    return


def token_of(base: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    return response.json()["access_token"]


def request_body(webhook: dict | None) -> dict:
    body = copy.deepcopy(VALID_BODY)
    body["processRequest"]["input"]["bounds"] = {"geometry": AREA}
    body["processRequest"]["input"]["data"][0]["dataFilter"] = {
        "timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T23:59:59Z"},
        "maxCloudCoverage": 50,
    }
    body["tilingGrid"] = {"id": 1, "resolution": 20.0}
    if webhook is not None:
        body["webhook"] = webhook
    return body


def scheduler_process(settings: Settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "EOBATCH_DATABASE_URL": settings.resolved_database_url(),
        "EOBATCH_WORKERS": "1",
        "EOBATCH_POLL_INTERVAL_S": "0.05",
        "EOBATCH_COLLECTIONS_FILE": str(REAL_COLLECTIONS),
    }
    command = [sys.executable, "-m", "eobatch.cli", "scheduler", "--data-dir", str(settings.data_dir)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_stream_and_webhook_see_every_transition_in_order(backend, request, tmp_path):
    url = None if backend == "sqlite" else request.getfixturevalue("postgres_server").new_database()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        workers=1,
        poll_interval_s=0.05,
        events_poll_interval_s=0.05,
        webhook_retry_base_s=0.1,
        collections_file=REAL_COLLECTIONS,
    )
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.session() as session:
        _, client_id, secret = create_account(session, "events", settings)
    separate = backend == "postgresql"  # the scheduler in another process: events come through the database
    scheduler = scheduler_process(settings) if separate else None
    try:
        with Receiver() as receiver, live_server(create_app(settings, database, run_scheduler=not separate)) as base:
            client = EobatchClient(base, Credentials(client_id, secret))
            token = token_of(base, client_id, secret)
            created = client.create(request_body({"url": receiver.url, "secret": SECRET}))
            rid = created["id"]
            assert "webhook" not in json.dumps(created)  # the secret is not echoed
            streamed: list[dict] = []
            reader = threading.Thread(target=read_stream, args=(base, token, rid, "?after=0", streamed))
            reader.start()
            client.action(rid, "analyse")
            analysed = client.wait_events(rid, until=("ANALYSIS_DONE", "FAILED"))
            assert analysed["status"] == "ANALYSIS_DONE"
            client.action(rid, "start")
            final = client.wait_events(rid)
            reader.join(timeout=120)
            assert final["status"] == "DONE"
            expected_ids = [e["id"] for e in streamed if e["event"] != "end"]
            _wait_until(lambda: [e["id"] for e in receiver.accepted()][-1:] == expected_ids[-1:])
            tiles = list(client.tiles(rid))
            late: list[dict] = []
            pivot = next(e["id"] for e in streamed if e.get("status") == "ANALYSIS_DONE")
            read_stream(base, token, rid, f"?after={pivot}", late)
            client.close()
    finally:
        if scheduler is not None:
            scheduler.send_signal(signal.SIGINT)
            try:
                scheduler.communicate(timeout=30)  # reads and closes its stderr too
            except subprocess.TimeoutExpired:
                scheduler.kill()
                scheduler.communicate()
        database.dispose()

    statuses = [e["status"] for e in streamed if e["event"] == "status"]
    assert statuses == LIFECYCLE
    assert streamed[-1] == {"event": "end", "requestId": rid, "status": "DONE"}
    ids = [e["id"] for e in streamed if "id" in e]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    for tile in tiles:  # every tile's transitions, in order, ending PROCESSED
        seen = [e["status"] for e in streamed if e["event"] == "tile" and e["tileId"] == tile["id"]]
        assert seen[-1] == "PROCESSED" == tile["status"] and len(seen) >= 2
    assert len(tiles) == 2
    pu = [e for e in streamed if e["event"] == "pu"]
    assert pu and pu[-1]["chargedPU"] == pytest.approx(final["chargedPU"])
    assert sum(e["chargedDelta"] for e in pu) == pytest.approx(final["chargedPU"])
    # the webhook: every event, in order, signed; the first attempt failed (500) and was retried
    assert all(valid for _, valid in receiver.deliveries)
    assert receiver.deliveries[0][0]["id"] == receiver.deliveries[1][0]["id"] == ids[0]
    assert [e["id"] for e in receiver.accepted()] == ids
    assert [e["status"] for e in receiver.accepted() if e["type"] == "status"] == LIFECYCLE
    # resuming after an event id replays exactly what followed it
    assert [e["id"] for e in late if "id" in e] == [i for i in ids if i > pivot]


def _wait_until(condition, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_bad_webhooks_are_refused_and_other_accounts_get_404(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", workers=1, collections_file=REAL_COLLECTIONS)
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.session() as session:
        _, id_a, secret_a = create_account(session, "a", settings)
        _, id_b, secret_b = create_account(session, "b", settings)
    with live_server(create_app(settings, database)) as base:
        alice = EobatchClient(base, Credentials(id_a, secret_a))
        for webhook, parameter in [
            ({"url": "ftp://x/y", "secret": SECRET}, "webhook.url"),
            ({"url": "http://127.0.0.1/hook", "secret": "short"}, "webhook.secret"),
            ({"url": "http://127.0.0.1/hook", "secret": SECRET, "retries": 3}, "webhook.retries"),
            ("http://127.0.0.1/hook", "webhook"),
        ]:
            response = httpx.post(
                f"{base}/api/v1/batch/process", json=request_body(webhook), headers=alice._auth(), timeout=30
            )
            assert response.status_code == 400, response.text
            assert response.json()["error"]["errors"][0]["parameter"] == parameter
        assert list(alice.requests()) == []
        rid = alice.create(request_body(None))["id"]
        bob = {"Authorization": f"Bearer {token_of(base, id_b, secret_b)}"}
        other = httpx.get(f"{base}/api/v1/batch/process/{rid}/events", headers=bob)
        assert other.status_code == 404
        snapshot: list[dict] = []
        alice.action(rid, "cancel")
        read_stream(base, token_of(base, id_a, secret_a), rid, "", snapshot)
        assert [e["event"] for e in snapshot] == ["snapshot", "end"]
        assert snapshot[0]["status"] == "CANCELED"
        alice.close()
    database.dispose()


def test_a_stream_closes_after_its_longest_life_and_the_client_resumes(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", collections_file=REAL_COLLECTIONS, events_max_stream_s=0.3)
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.session() as session:
        _, client_id, secret = create_account(session, "short", settings)
    with live_server(create_app(settings, database)) as base:
        client = EobatchClient(base, Credentials(client_id, secret))
        rid = client.create(request_body(None))["id"]
        first: list[dict] = []
        read_stream(base, token_of(base, client_id, secret), rid, "", first)
        assert [e["event"] for e in first] == ["snapshot"]  # closed without `end`: the request is not resting
        seen: list[str] = []
        waiter = threading.Thread(target=lambda: seen.append(client.wait_events(rid)["status"]))
        waiter.start()
        client.action(rid, "cancel")  # the waiting client reconnects until it sees the request rest
        waiter.join(timeout=60)
        assert seen == ["CANCELED"]
        client.close()
    database.dispose()
