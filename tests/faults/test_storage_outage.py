"""Object-storage outages against a real SeaweedFS: transient errors are retried for the configured
window (a simulated 60 s outage is ridden out by the default window, and fails with a clear message
past a shorter one), and a real 60 s outage in the middle of `eobatch serve` running a request ends DONE."""

from __future__ import annotations

import threading
import time
import types

import httpx
import pytest

from eobatch.errors import Forbidden
from eobatch.settings import Settings
from eobatch.storage import ObjectStorage, StorageError
from eobatch.storage import objects as storage_objects
from tests.faults.serve import NDVI, Serve, request_body
from tests.faults.test_shutdown import WIDE, _processed
from tests.support.seaweed import start_seaweed


@pytest.fixture
def seaweed():
    weed = start_seaweed()
    yield weed
    weed.stop()


class _OutageClock:
    """Stands in for `time` inside storage/objects.py: pauses advance simulated time at once, and the
    real server comes back once `outage_s` of simulated time have passed."""

    def __init__(self, outage_s: float, bring_back):
        self.now = 0.0
        self.outage_s = outage_s
        self.bring_back = bring_back
        self.back = False

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.now >= self.outage_s and not self.back and self.bring_back is not None:
            self.bring_back()
            self.back = True


def _s3(seaweed, tmp_path, **changes) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        s3_endpoint=seaweed.endpoint,
        s3_access_key=seaweed.access_key,
        s3_secret_key=seaweed.secret_key,
        **changes,
    )


def test_the_default_retry_window_rides_out_a_60_s_outage(seaweed, tmp_path, monkeypatch):
    settings = _s3(seaweed, tmp_path)
    assert settings.storage_retry_window_s >= 60
    storage = ObjectStorage(settings)
    url = f"s3://{seaweed.bucket}/outage/object.bin"
    seaweed.pause()
    clock = _OutageClock(60.0, seaweed.resume)
    monkeypatch.setattr(storage_objects, "time", types.SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep))
    assert storage.put(url, b"written after the outage") == 24
    assert clock.back and clock.now >= 60.0
    assert storage.get(url) == b"written after the outage"


def test_an_outage_longer_than_the_window_fails_with_a_clear_message(seaweed, tmp_path, monkeypatch):
    storage = ObjectStorage(_s3(seaweed, tmp_path, storage_retry_window_s=20))
    seaweed.pause()
    clock = _OutageClock(60.0, None)
    monkeypatch.setattr(storage_objects, "time", types.SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep))
    with pytest.raises(StorageError, match=r"still failing after \d+ tries over 20 s"):
        storage.get(f"s3://{seaweed.bucket}/outage/anything")
    assert 20 <= clock.now < 60


def test_refused_access_is_not_retried(seaweed, tmp_path, monkeypatch):
    settings = _s3(seaweed, tmp_path)
    storage = ObjectStorage(settings.model_copy(update={"s3_secret_key": "wrong"}))
    clock = _OutageClock(1e9, None)
    monkeypatch.setattr(storage_objects, "time", types.SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep))
    with pytest.raises(Forbidden):
        storage.put(f"s3://{seaweed.bucket}/denied", b"x")
    assert clock.now == 0.0  # no pause: refused access is not transient


def _wait_until_processing(serve: Serve, account, request_id: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while serve.request(account, request_id)["status"] != "PROCESSING":
        assert time.monotonic() < deadline, f"{request_id} not processing after {timeout} s:\n{serve.tail()}"
        time.sleep(0.05)
    serve.remember_tree()


OUTAGE_S = 60.0  # a real one: SeaweedFS stopped for a minute while tiles are writing


def test_a_60_s_outage_in_the_middle_of_a_run_ends_done(seaweed, tmp_path):
    serve = Serve(
        tmp_path / "data",
        {
            "EOBATCH_WORKERS": "2",
            "EOBATCH_POLL_INTERVAL_S": "0.05",
            "EOBATCH_S3_ENDPOINT": seaweed.endpoint,
            "EOBATCH_S3_ACCESS_KEY": seaweed.access_key,
            "EOBATCH_S3_SECRET_KEY": seaweed.secret_key,
        },
    )
    account = serve.add_account("alice")
    try:
        serve.start()
        serve.login(account)
        request_id = serve.submit(account, request_body(NDVI, seaweed.bucket, WIDE))
        _wait_until_processing(serve, account, request_id)
        seaweed.pause()  # as soon as tiles run: a quiet machine processes all six in a few seconds
        tiles = serve.request(account, request_id)["tileCount"]
        assert _processed(serve, account, request_id) < tiles  # tiles are left to write during and after it
        back = threading.Timer(OUTAGE_S, seaweed.resume)
        back.start()
        time.sleep(1.0)
        assert httpx.get(f"{serve.url}/readyz").status_code == 503  # storage unreachable, the service says so
        back.join()
        found = serve.wait(account, request_id, {"DONE", "PARTIAL", "FAILED"}, timeout=400)
        assert found["status"] == "DONE", found.get("error")
        assert _processed(serve, account, request_id) == tiles
    finally:
        serve.stop()
