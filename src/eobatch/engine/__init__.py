"""The engine: scheduler, executors (local process pool, Dask), analysis, retries, recovery, cleanup.

Public surface:
    Scheduler(settings, database, executor)   .start() / .stop() / .run_until_idle(timeout) / .run_forever()
    make_executor(settings, task=...)         LocalExecutor | DaskExecutor behind the `Executor` protocol
    run_scheduler(settings)                   what `eobatch scheduler` runs

Names are imported on first use, so a worker process (`engine/worker.py`) does not load the scheduler.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "DEFAULT_TASK": "execution",
    "Attempt": "execution",
    "run_task": "execution",
    "DaskExecutor": "dask_cluster",
    "Executor": "executors",
    "ExecutorUnavailable": "executors",
    "make_executor": "executor_factory",
    "LocalExecutor": "local_pool",
    "build_scheduler": "main",
    "run_scheduler": "main",
    "RetryPolicy": "retry",
    "Scheduler": "scheduler",
    "TileSpec": "tasks",
    "build_tile_task": "tasks",
    "spec_task": "tasks",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'eobatch.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(f"eobatch.engine.{module}"), name)
