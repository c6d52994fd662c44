"""The engine: scheduler, executors (local process pool, Dask), analysis, retries, recovery, cleanup.

Public surface:
    Scheduler(settings, database, executor)   .start() / .stop() / .run_until_idle(timeout) / .run_forever()
    make_executor(settings, task=...)         LocalExecutor | DaskExecutor behind the `Executor` protocol
    run_scheduler(settings)                   what `eobatch scheduler` runs
"""

from eobatch.engine.dask_cluster import DaskExecutor
from eobatch.engine.execution import DEFAULT_TASK, Attempt, ExecutorUnavailable, run_task
from eobatch.engine.executors import Executor, make_executor
from eobatch.engine.local_pool import LocalExecutor
from eobatch.engine.main import build_scheduler, run_scheduler
from eobatch.engine.retry import RetryPolicy
from eobatch.engine.scheduler import Scheduler
from eobatch.engine.tasks import TileSpec, build_tile_task, spec_task

__all__ = [
    "DEFAULT_TASK",
    "Attempt",
    "DaskExecutor",
    "Executor",
    "ExecutorUnavailable",
    "LocalExecutor",
    "RetryPolicy",
    "Scheduler",
    "TileSpec",
    "build_scheduler",
    "build_tile_task",
    "make_executor",
    "run_scheduler",
    "run_task",
    "spec_task",
]
