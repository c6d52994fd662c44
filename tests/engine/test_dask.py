"""The Dask executor on a real LocalCluster, and a Dask address that does not answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from distributed import LocalCluster

from eobatch.engine import DaskExecutor, ExecutorUnavailable, RetryPolicy, Scheduler, spec_task
from tests.engine.factory import make_account, make_request
from tests.engine.helpers import check_invariants, processed_events, request_row, tile_statuses
from tests.engine.tasks import Parcel, parcel_task, tile_task


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1") as c:
        yield c


def test_fifty_tiles_run_to_done_on_a_dask_cluster(database, engine_settings, out_dir, cluster):
    account = make_account(database)
    request_id = make_request(database, account, 50, output={"dir": str(out_dir), "sleep_s": 0.01})
    executor = DaskExecutor(cluster.scheduler_address, task=tile_task)
    scheduler = Scheduler(engine_settings, database, executor, task_builder=spec_task, lease_s=5.0)
    try:
        assert scheduler.run_until_idle(60)
        assert executor.capacity == 2
    finally:
        scheduler.stop()
    assert request_row(database, request_id).status == "DONE"
    assert processed_events(database, request_id) == {f"T{i:04d}": 1 for i in range(50)}
    assert sorted(p.name for p in (out_dir / request_id).glob("T*.txt")) == [f"T{i:04d}.txt" for i in range(50)]
    check_invariants(database)


def test_a_dask_address_that_does_not_answer_is_a_clear_error(database, engine_settings, out_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"  # nobody listens once the socket closes
    account = make_account(database)
    request_id = make_request(database, account, 3, output={"dir": str(out_dir)})
    scheduler = Scheduler(
        engine_settings,
        database,
        DaskExecutor(address, task=tile_task, connect_timeout_s=1),
        task_builder=spec_task,
        retry=RetryPolicy(),
    )
    with pytest.raises(ExecutorUnavailable, match=f"The Dask scheduler at {address} does not answer"):
        scheduler.start()
    assert tile_statuses(database, request_id) == {"PENDING": 3}
    # the failed start left no scheduler lease behind: another scheduler can start at once
    other = Scheduler(
        engine_settings, database, DaskExecutor(address, task=tile_task, connect_timeout_s=1), task_builder=spec_task
    )
    with pytest.raises(ExecutorUnavailable):
        other.start()


def test_a_large_payload_field_travels_once_and_the_workers_are_prepared(cluster):
    executor = DaskExecutor(cluster.scheduler_address, task=parcel_task)
    executor.start()
    try:
        blob = "x" * 200_000
        for i in range(30):
            executor.submit(i, Parcel(f"t{i}", blob))
        shared = [k for k in cluster.scheduler.tasks if not str(k).startswith("eobatch-tile-")]
        assert len(shared) == 1  # scattered once for the 30 tiles that carry it
        results: dict[int, object] = {}
        deadline = time.monotonic() + 60
        while len(results) < 30 and time.monotonic() < deadline:
            results.update(executor.collect())
            time.sleep(0.01)
        assert sorted(results) == list(range(30))
        for key, attempt in results.items():
            assert attempt.ok, attempt.error
            assert (attempt.result.bytes_written, attempt.result.outputs) == (200_000, [f"t{key}"])
        while cluster.scheduler.tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not cluster.scheduler.tasks  # the shared value was released with its last tile
        prepared = executor.client.run(
            lambda dask_worker: ("eobatch-runtime" in dask_worker.plugins, "profile" in dask_worker.periodic_callbacks)
        )
        assert set(prepared.values()) == {(True, False)}
    finally:
        executor.shutdown()
