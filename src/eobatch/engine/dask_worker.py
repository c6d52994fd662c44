"""What runs on a `dask worker`: a plugin that prepares the worker once, and the task entry point.

`EobatchWorkerPlugin` is registered by `DaskExecutor.start()` on every current and future worker. It
builds the processing runtime (V8 isolate, collection registry) for the service's settings once per
worker, so no tile pays for it, and undoes two worker defaults that cost tiles CPU time (measured in
bench/bench_engine.py): the statistical profiler that samples every thread's stack every 10 ms, and
the nanny's `MALLOC_TRIM_THRESHOLD_`, which makes glibc hand every large array back to the system
and fault it in again for the next one (a local pool worker keeps glibc's adaptive thresholds).

`run_parts` rebuilds a task payload whose large fields were sent once per worker (see `DaskExecutor`).
When the plugin carries `WorkerLimits`, the tile then runs on a `WorkerPool` inside this Dask worker
(as many confined processes as the worker has threads, started with the first tile): the same memory,
CPU and wall-clock limits per tile as the local executor, and a tile that exceeds one fails alone with
the reason while the Dask worker, its other tiles and its nanny carry on.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from eobatch.engine.execution import Attempt, TaskRef, run_task
from eobatch.engine.worker_pool import WorkerLimits, WorkerPool
from eobatch.settings import Settings

PLUGIN_NAME = "eobatch-runtime"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
MMAP_THRESHOLD = 32 * 2**20  # glibc's own adaptive maximum on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD


class EobatchWorkerPlugin(WorkerPlugin):
    """Prepares a worker for eobatch tiles; registered under one name, so re-registering replaces it."""

    name = PLUGIN_NAME

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        quiet_profiler: bool = True,
        keep_freed_memory: bool = True,
        limits: WorkerLimits | None = None,
    ):
        self.settings = settings
        self.quiet_profiler = quiet_profiler
        self.keep_freed_memory = keep_freed_memory
        self.limits = limits

    def setup(self, worker: Any) -> None:
        if self.quiet_profiler:
            stop_profiler(worker)
        if self.keep_freed_memory:
            adaptive_malloc()
        if self.limits is not None:
            CONFINED.configure(self.limits, max(int(getattr(worker.state, "nthreads", 1) or 1), 1))
        elif self.settings is not None:
            from eobatch.processing.runtime import runtime_for

            runtime_for(self.settings)  # V8 isolate and collection registry, once per worker

    def teardown(self, worker: Any) -> None:
        CONFINED.stop()


class ConfinedTiles:
    """This Dask worker's confined pool for tiles (one per worker process), started with the first tile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: WorkerLimits | None = None
        self._size = 1
        self._pool: WorkerPool | None = None

    def configure(self, limits: WorkerLimits, size: int) -> None:
        """Run tiles under `limits` from now on (a pool with other limits is replaced)."""
        with self._lock:
            old = self._pool if (limits, size) != (self._limits, self._size) else None
            self._limits, self._size = limits, size
            if old is not None:
                self._pool = None
        if old is not None:
            old.shutdown(None)

    def pool(self, task: TaskRef) -> WorkerPool | None:
        """The started pool, or None when tiles run in this process (no limits configured)."""
        with self._lock:
            if self._limits is None:
                return None
            if self._pool is None:
                pool = WorkerPool(self._size, self._limits, task, name="eobatch-dask-tiles")
                pool.start()
                self._pool = pool
            return self._pool

    def stop(self) -> None:
        with self._lock:
            pool, self._pool, self._limits = self._pool, None, None
        if pool is not None:
            pool.shutdown(0)


CONFINED = ConfinedTiles()


def stop_profiler(worker: Any) -> None:
    """Stop the worker's statistical profiler (its periodic stack sampling holds the GIL)."""
    callbacks = getattr(worker, "periodic_callbacks", {})
    for name in ("profile", "profile-cycle"):
        callback = callbacks.pop(name, None)
        if callback is not None:
            callback.stop()


def adaptive_malloc() -> bool:
    """Let glibc keep freed large blocks for reuse, as it does by default (no-op off glibc)."""
    path = ctypes.util.find_library("c")
    if not path:
        return False
    try:
        libc = ctypes.CDLL(path)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def run_parts(task: TaskRef, kind: type | None, fields: Any) -> Attempt:
    """Run `task` on `kind(**fields)` (or on `fields` itself when `kind` is None); Dask has already
    replaced the references to shared fields by their values."""
    payload = fields if kind is None else kind(**fields)
    pool = CONFINED.pool(task)
    if pool is None:
        return run_task(task, payload)
    return pool.call(payload, task)
