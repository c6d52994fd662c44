"""`eobatch serve` stopped mid-run: SIGTERM exits 0 after a clean shutdown, SIGKILL takes every worker
with it, and each time a new `serve` on the same SQLite database starts at once and finishes the work."""

from __future__ import annotations

import signal
import time

import httpx

from tests.faults.serve import NDVI, Serve, alive, request_body

# six tiles of grid 1 around the real scenes
WIDE = {"bbox": [14.45, 45.80, 14.70, 45.95], "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}


def _processed(serve: Serve, account, request_id: str) -> int:
    tiles = httpx.get(
        f"{serve.url}/api/v1/batch/process/{request_id}/tiles", headers=account.headers, params={"count": 100}
    ).json()["data"]
    return sum(t["status"] == "PROCESSED" for t in tiles)


def _run_until_some_processed(serve: Serve, account, request_id: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while _processed(serve, account, request_id) == 0:
        assert time.monotonic() < deadline, f"no tile processed in {timeout} s:\n{serve.tail()}"
        time.sleep(0.3)
    serve.remember_tree()


def test_sigterm_and_sigkill_mid_run_leave_nothing_behind_and_a_new_serve_finishes(tmp_path):
    env = {"EOBATCH_WORKERS": "2", "EOBATCH_SHUTDOWN_GRACE_S": "60", "EOBATCH_POLL_INTERVAL_S": "0.05"}
    data = tmp_path / "data"
    first = Serve(data, env)
    account = first.add_account("alice")
    servers = [first]
    try:
        first.start()
        first.login(account)
        request_id = first.submit(account, request_body(NDVI, "alice", WIDE))
        _run_until_some_processed(first, account, request_id)
        assert len(first.tree) >= 3  # serve and its workers
        assert first.signal(signal.SIGTERM) == 0, first.tail()
        assert alive(first.tree) == set()
        messages = [e.get("message", "") for e in first.log_entries()]
        assert any("shutting down" in m for m in messages)

        second = Serve(data, env)  # the lease was released: starts at once
        servers.append(second)
        second.start()
        second.login(account)
        other_id = second.submit(account, request_body(NDVI, "alice", WIDE))
        _run_until_some_processed(second, account, other_id)
        second.signal(signal.SIGKILL)
        assert alive(second.tree) == set()  # workers died with their parent

        third = Serve(data, env)  # the dead process's lease is taken over at once
        servers.append(third)
        third.start(timeout=60)
        third.login(account)
        for rid in (request_id, other_id):
            found = third.wait(account, rid, {"DONE", "PARTIAL", "FAILED"}, timeout=400)
            assert found["status"] == "DONE", found.get("error")
        assert third.signal(signal.SIGINT) == 0
        assert alive(third.tree) == set()
        access = [e for e in third.log_entries() if e.get("logger") == "eobatch.access"]
        assert any(e["path"].endswith(f"/{request_id}") and e["status"] == 200 for e in access)
    finally:
        for serve in servers:
            serve.stop()
