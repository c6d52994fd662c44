"""How many threads one tile may use (GDAL compression and overviews, outputs encoded side by side).

A worker pool gives each worker process a budget, `threads_for_workers(workers)` = the cores divided
among the workers, at least 1 (or `Settings.worker_threads`), through the environment the process
starts with (`thread_environment`): the same number for GDAL, OpenMP, OpenBLAS, MKL and numba, which
read it when they start, and for the pipeline (`tile_threads`). Without a budget (a tile processed in
the calling process) a tile may use every core. See docs/engine.md, "Threads per worker".
"""

from __future__ import annotations

import os

TILE_THREADS_VARIABLE = "EOBATCH_TILE_THREADS"
LIBRARY_THREAD_VARIABLES = (
    "GDAL_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_for_workers(workers: int, configured: int | None = None) -> int:
    """The threads of each of `workers` processes: `configured` when given (> 0), else cores // workers,
    at least 1."""
    if configured:
        return max(1, configured)
    return max(1, cores() // max(1, workers))


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that hold a worker process to `threads` threads."""
    return {name: str(threads) for name in (TILE_THREADS_VARIABLE, *LIBRARY_THREAD_VARIABLES)}


def tile_threads() -> int:
    """The threads a tile may use here: the worker's budget, or every core outside a worker pool."""
    value = os.environ.get(TILE_THREADS_VARIABLE, "")
    return int(value) if value.isdigit() and int(value) > 0 else cores()
