"""Tiles on a Dask worker run under the local pool's per-tile limits: a real LocalCluster with worker
processes, the executor given the service's settings. A memory hog and an endless loop each fail their
own tile with the reason, the Dask worker itself never dies and runs the next tile, and the confined
processes end with the cluster."""

from __future__ import annotations

import os
import time

import psutil
from distributed import LocalCluster

from eobatch.engine import DaskExecutor
from eobatch.settings import Settings
from tests.faults.serve import alive


def _outcome(executor: DaskExecutor, key: int, payload: dict, timeout: float = 120.0):
    executor.submit(key, payload)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for done, attempt in executor.collect():
            if done == key:
                return attempt
        time.sleep(0.05)
    raise AssertionError(f"tile {key} did not finish in {timeout} s")


def _children() -> list[int]:
    """The confined tile processes below this Dask worker."""
    return [p.pid for p in psutil.Process().children() if "eobatch.engine.worker" in " ".join(p.cmdline())]


def test_a_tile_over_a_limit_fails_alone_and_the_dask_worker_carries_on(tmp_path):
    settings = Settings(data_dir=tmp_path, worker_memory_mb=256, tile_time_limit_s=3.0, tile_cpu_limit_s=0)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1") as c:
        executor = DaskExecutor(c.scheduler_address, task="tests.engine.pool_tasks.act", settings=settings)
        executor.start()
        try:
            dask_pid = set(executor.client.run(os.getpid).values())
            first = _outcome(executor, 1, {"act": "echo", "value": 1})
            assert first.ok and first.result == {"act": "echo", "value": 1}, first.error
            (confined,) = executor.client.run(_children).values()
            assert confined  # the tile ran in a process below the Dask worker, not in it

            hog = _outcome(executor, 2, {"act": "hog_memory"})
            assert not hog.ok and "exceeded the 256 MiB memory limit" in hog.error, hog.error
            assert not hog.retryable and not hog.worker_lost
            spin = _outcome(executor, 3, {"act": "spin"})
            assert not spin.ok and "exceeded the time limit of 3 s" in spin.error, spin.error

            after = _outcome(executor, 4, {"act": "echo", "value": 4})
            assert after.ok and after.result["value"] == 4
            assert set(executor.client.run(os.getpid).values()) == dask_pid  # the Dask worker never died
            confined += next(iter(executor.client.run(_children).values()))
        finally:
            executor.shutdown()
    assert alive(set(confined)) == set()  # the confined processes ended with their Dask worker
