"""What runs on a `dask worker`: a plugin that prepares the worker once, and the task entry point.

`EobatchWorkerPlugin` is registered by `DaskExecutor.start()` on every current and future worker. It
builds the processing runtime (V8 isolate, collection registry) for the service's settings once per
worker, so no tile pays for it, and undoes two worker defaults that cost tiles CPU time (measured in
bench/bench_engine.py): the statistical profiler that samples every thread's stack every 10 ms, and
the nanny's `MALLOC_TRIM_THRESHOLD_`, which makes glibc hand every large array back to the system
and fault it in again for the next one (a local pool worker keeps glibc's adaptive thresholds).

`run_parts` rebuilds a task payload whose large fields were sent once per worker (see `DaskExecutor`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from eobatch.engine.execution import Attempt, TaskRef, run_task
from eobatch.settings import Settings

PLUGIN_NAME = "eobatch-runtime"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
MMAP_THRESHOLD = 32 * 2**20  # glibc's own adaptive maximum on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD


class EobatchWorkerPlugin(WorkerPlugin):
    """Prepares a worker for eobatch tiles; registered under one name, so re-registering replaces it."""

    name = PLUGIN_NAME

    def __init__(
        self, settings: Settings | None = None, *, quiet_profiler: bool = True, keep_freed_memory: bool = True
    ):
        self.settings = settings
        self.quiet_profiler = quiet_profiler
        self.keep_freed_memory = keep_freed_memory

    def setup(self, worker: Any) -> None:
        if self.quiet_profiler:
            stop_profiler(worker)
        if self.keep_freed_memory:
            adaptive_malloc()
        if self.settings is not None:
            from eobatch.processing.runtime import runtime_for

            runtime_for(self.settings)  # V8 isolate and collection registry, once per worker


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
    return run_task(task, payload)
