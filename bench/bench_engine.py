"""Engine throughput and overhead, each figure next to a reference measured in the same run.

* local pool: 200 CPU-bound tiles (about 40 ms each) with 2 workers vs 1 worker (target >= 1.7x);
* Dask LocalCluster with 2 worker processes vs the local pool with 2 workers (target >= 0.9x);
* the scheduler's own cost per tile (database round trips, dispatch) with a no-op task, on SQLite and
  PostgreSQL, vs the same no-op tasks sent straight to the pool without the scheduler.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import wait
from pathlib import Path

from eobatch.engine import DaskExecutor, LocalExecutor, RetryPolicy, Scheduler, spec_task
from eobatch.engine.execution import noop, run_task
from eobatch.engine.tasks import TileSpec
from eobatch.settings import Settings
from eobatch.store.db import Database

TILES = 200
LOOPS_PER_TILE = 400_000  # about 40 ms of pure Python on one core


def busy(spec: TileSpec) -> dict:
    """A CPU-bound stand-in for a small tile."""
    acc = 0
    for i in range(LOOPS_PER_TILE):
        acc = (acc + i * i) % 1_000_003
    return {"checksum": acc}


def nothing(spec: TileSpec) -> None:
    return None


def _settings(root: Path, workers: int) -> Settings:
    return Settings(
        data_dir=root / "data",
        workers=workers,
        poll_interval_s=0.005,
        max_tiles_in_flight_per_account=1000,
        cleanup_failed_after_s=0,
        cleanup_unstarted_after_s=0,
        cleanup_finished_after_s=0,
    )


def _tiles_per_second(url: str, root: Path, executor, workers: int, tiles: int = TILES) -> float:
    from tests.engine.factory import make_account, make_request

    database = Database(url)
    database.migrate()
    scheduler = Scheduler(
        _settings(root, workers),
        database,
        executor,
        task_builder=spec_task,
        lease_s=30.0,
        retry=RetryPolicy(backoff_s=0.0),
    )
    try:
        scheduler.prepare()
        make_request(database, make_account(database), tiles, reserve=300.0)
        started = time.perf_counter()
        scheduler.run_until_idle(600)
        elapsed = time.perf_counter() - started
    finally:
        scheduler.stop()
        database.dispose()
    return tiles / elapsed


def _direct_per_second(tiles: int = TILES) -> float:
    """No scheduler, no database: the same no-op tasks straight into a 2-worker pool."""
    pool = LocalExecutor(2, task=noop)
    pool.start()
    try:
        started = time.perf_counter()
        wait([pool._live_pool().submit(run_task, noop, None) for _ in range(tiles)])
        return tiles / (time.perf_counter() - started)
    finally:
        pool.shutdown()


def _dask_raw_per_second(address: str, tiles: int = TILES) -> float:
    """The same tasks submitted to the cluster directly: Dask's own ceiling here."""
    from distributed import Client
    from distributed import wait as dask_wait

    with Client(address) as client:
        client.submit(run_task, busy, None, pure=False).result()
        started = time.perf_counter()
        dask_wait([client.submit(run_task, busy, None, pure=False) for _ in range(tiles)])
        return tiles / (time.perf_counter() - started)


def _row(name, value, unit, reference, reference_value, target, note, higher_is_better=True) -> dict:
    ratio = value / reference_value if higher_is_better else reference_value / value
    return dict(
        name=name,
        value=round(value, 2),
        unit=unit,
        reference=reference,
        reference_value=round(reference_value, 2),
        ratio=round(ratio, 3),
        target=target,
        note=note,
    )


def run() -> list[dict]:
    from distributed import LocalCluster
    from tests.support.postgres import PostgresServer

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        root = Path(tmp)

        def sqlite(name: str) -> str:
            return f"sqlite:///{root / (name + '.sqlite')}"

        one = _tiles_per_second(sqlite("one"), root, LocalExecutor(1, task=busy), 1)
        two = _tiles_per_second(sqlite("two"), root, LocalExecutor(2, task=busy), 2)
        rows.append(
            _row(
                "local pool 2 workers, 200 CPU tiles",
                two,
                "tiles/s",
                "local pool 1 worker",
                one,
                ">= 1.7",
                "ratio = speed-up from the second worker (2-core machine, shared)",
            )
        )
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster:
            dask = _tiles_per_second(sqlite("dask"), root, DaskExecutor(cluster.scheduler_address, task=busy), 2)
            raw = _dask_raw_per_second(cluster.scheduler_address)
        rows.append(
            _row(
                "dask LocalCluster 2 workers, 200 CPU tiles",
                dask,
                "tiles/s",
                "local pool 2 workers",
                two,
                ">= 0.9",
                "ratio = Dask speed relative to the local pool",
            )
        )
        rows.append(
            _row(
                "dask LocalCluster 2 workers, 200 CPU tiles",
                dask,
                "tiles/s",
                "same tasks by client.submit, no eobatch",
                raw,
                "report",
                "ratio = the engine's share of Dask's own ceiling on this machine",
            )
        )

        direct = _direct_per_second()
        server = PostgresServer.start()
        try:
            for backend, url in (("sqlite", sqlite("noop")), ("postgresql", server.new_database())):
                rate = _tiles_per_second(url, root, LocalExecutor(2, task=nothing), 2)
                rows.append(
                    _row(
                        f"scheduler overhead per tile, {backend}",
                        1000 / rate,
                        "ms/tile",
                        "no-op tasks straight into the pool, no database",
                        1000 / direct,
                        "report",
                        "no-op task, 2 workers; ratio = pool-only cost / with-scheduler cost",
                        higher_is_better=False,
                    )
                )
        finally:
            server.stop()
    return rows
