"""`make_executor(settings)`: the executor `settings.executor` names, with its limits from settings.

Kept apart from `executors.py` (the interface the implementations import) so that the implementations
and the interface do not import each other.
"""

from __future__ import annotations

from eobatch.engine.dask_cluster import DaskExecutor
from eobatch.engine.execution import DEFAULT_TASK, TaskRef
from eobatch.engine.executors import Executor
from eobatch.engine.local_pool import LocalExecutor
from eobatch.engine.worker_pool import tile_limits
from eobatch.errors import BadRequest
from eobatch.settings import Settings


def make_executor(settings: Settings, task: TaskRef = DEFAULT_TASK) -> Executor:
    """The executor named by `settings.executor` ("local" or "dask")."""
    if settings.executor == "local":
        return LocalExecutor(settings.workers, task=task, limits=tile_limits(settings))
    if settings.executor == "dask":
        if not settings.dask_address:
            raise BadRequest("EOBATCH_EXECUTOR=dask needs EOBATCH_DASK_ADDRESS (e.g. tcp://host:8786)")
        return DaskExecutor(settings.dask_address, task=task, settings=settings)
    raise BadRequest(f"Unknown executor {settings.executor!r}; allowed: 'local', 'dask'")
