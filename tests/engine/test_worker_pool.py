"""The worker pool under hostile jobs, with real worker processes: memory and time limits kill only the
offending worker, queued jobs can be withdrawn, workers die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eobatch.engine.worker_pool import WorkerLimits, WorkerPool, tile_limits
from eobatch.settings import Settings
from eobatch.threads import LIBRARY_THREAD_VARIABLES, cores, threads_for_workers
from tests.engine import pool_tasks

REPO = Path(__file__).resolve().parents[2]


def _results(pool: WorkerPool, count: int, timeout: float = 90.0) -> dict:
    found: dict = {}
    deadline = time.monotonic() + timeout
    while len(found) < count:
        assert time.monotonic() < deadline, f"only {sorted(found)} of {count} jobs finished"
        found.update(pool.collect())
        time.sleep(0.05)
    return found


@pytest.fixture
def pools():
    started: list[WorkerPool] = []

    def make(size: int, **limits) -> WorkerPool:
        pool = WorkerPool(size, WorkerLimits(**limits), pool_tasks.echo)
        pool.start()
        started.append(pool)
        return pool

    yield make
    for pool in started:
        pool.shutdown(0)


@pytest.mark.parametrize("confinement", ["auto", "watchdog"])
def test_memory_hog_fails_alone_and_only_its_worker_is_replaced(pools, confinement):
    pool = pools(2, memory_bytes=256 << 20, confinement=confinement)
    before = set(pool.pids())
    pool.submit(1, None, pool_tasks.hog_memory)
    pool.submit(2, {"sleep_s": 0.5, "value": "kept"}, pool_tasks.sleep_then)
    pool.submit(3, "after")
    results = _results(pool, 3)
    hog = results[1]
    assert not hog.ok and not hog.retryable
    assert "exceeded the 256 MiB memory limit" in hog.error
    assert (results[2].ok, results[2].result, results[3].ok, results[3].result) == (True, "kept", True, "after")
    assert pool.stats.by_reason == {"memory": 1}
    assert len(set(pool.pids()) & before) == 1  # the other worker lived on
    assert pool.call("still serving").result == "still serving"


def test_wall_time_limit_kills_a_spinning_job_and_the_pool_goes_on(pools):
    pool = pools(1, wall_s=1.0)
    pool.submit(1, None, pool_tasks.spin)
    pool.submit(2, "next")
    results = _results(pool, 2)
    assert not results[1].ok and results[1].retryable and not results[1].worker_lost
    assert "exceeded the time limit of 1 s" in results[1].error
    assert results[2].result == "next"
    assert pool.stats.by_reason == {"time": 1}


def test_cpu_time_limit_ends_a_spinning_job(pools):
    pool = pools(1, cpu_s=1.0)
    pool.submit(1, None, pool_tasks.spin)
    result = _results(pool, 1)[1]
    assert not result.ok and result.retryable
    assert "exceeded the CPU time limit of 1 s" in result.error


def test_a_worker_killed_from_outside_fails_only_its_job_as_lost(pools):
    pool = pools(2)
    pool.submit(1, {"sleep_s": 30}, pool_tasks.sleep_then)
    deadline = time.monotonic() + 30
    while 1 not in pool.running():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    victim = next(p for p in pool.pids() if p in _busy_pids(pool))
    os.kill(victim, signal.SIGKILL)
    result = _results(pool, 1)[1]
    assert not result.ok and result.worker_lost and "SIGKILL" in result.error
    assert pool.call(5).result == 5


def _busy_pids(pool: WorkerPool) -> set[int]:
    with pool._lock:
        return {w.proc.pid for w in pool._workers if w.key is not None}


def test_queued_jobs_are_withdrawn_but_a_running_one_is_not(pools):
    pool = pools(1)
    pool.submit(1, {"sleep_s": 1.0, "value": 1}, pool_tasks.sleep_then)
    pool.submit(2, 2)
    pool.submit(3, 3)
    deadline = time.monotonic() + 30
    while 1 not in pool.running():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert pool.cancel(2) is True
    assert pool.cancel(1) is False
    results = _results(pool, 2)
    assert sorted(results) == [1, 3] and results[1].result == 1
    time.sleep(0.2)
    assert pool.collect() == []  # job 2 never ran


def test_workers_die_with_their_parent_even_on_sigkill(tmp_path):
    code = (
        "import sys, time\n"
        "from eobatch.engine.worker_pool import WorkerLimits, WorkerPool\n"
        "from tests.engine import pool_tasks\n"
        "pool = WorkerPool(2, WorkerLimits(), pool_tasks.echo); pool.start()\n"
        "print(*pool.pids(), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        parent.kill()
        parent.communicate()  # reads and closes its stdout too
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, f"workers {pids} outlived their parent"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_each_worker_starts_with_its_share_of_the_cores_as_thread_budget(pools):
    """By default the cores are divided among the workers (at least 1 each); `threads` sets it. GDAL,
    OpenMP, OpenBLAS, MKL and numba are held to it from the worker's start, and so is the pipeline."""
    share = max(1, cores() // 2)
    budget = pools(2).call(None, pool_tasks.thread_budget)
    assert budget.ok, budget.error
    assert budget.result == {"tile": share, **dict.fromkeys(LIBRARY_THREAD_VARIABLES, str(share))}
    three = pools(1, threads=3).call(None, pool_tasks.thread_budget)
    assert three.result["tile"] == 3 and three.result["GDAL_NUM_THREADS"] == "3"


def test_worker_threads_setting_becomes_the_pools_budget(monkeypatch, tmp_path):
    monkeypatch.setenv("EOBATCH_WORKER_THREADS", "3")
    assert tile_limits(Settings(data_dir=tmp_path)).threads == 3
    assert tile_limits(Settings(data_dir=tmp_path, worker_threads=0)).threads is None  # the default: a share
    assert (threads_for_workers(4, None), threads_for_workers(4, 3)) == (max(1, cores() // 4), 3)
