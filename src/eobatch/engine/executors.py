"""The interface every executor implements, and `make_executor(settings)` to build one from settings.

An executor runs tile tasks somewhere (a local process pool, a Dask cluster) and tells the scheduler
which have started and which have finished. Keys are tile primary keys; payloads are tile tasks.
"""

from __future__ import annotations

from typing import Any, Protocol

from eobatch.engine.execution import DEFAULT_TASK, Attempt, TaskRef
from eobatch.errors import BadRequest
from eobatch.settings import Settings


class Executor(Protocol):
    @property
    def capacity(self) -> int:
        """How many tasks can run at the same time."""

    @property
    def queue_depth(self) -> int:
        """How many tasks to keep waiting beyond `capacity`, so workers never idle between tasks."""

    def start(self) -> None:
        """Connect or spawn workers; raises ExecutorUnavailable."""

    def submit(self, key: int, payload: Any) -> None:
        """Queue one task."""

    def running(self) -> set[int]:
        """Keys of the submitted tasks that have started and not finished."""

    def cancel(self, key: int) -> bool:
        """Withdraw a task that has not started; False when it is already running or done."""

    def collect(self) -> list[tuple[int, Attempt]]:
        """The tasks finished since the last call, each once."""

    def shutdown(self) -> None:
        """Cancel what has not started, wait for what runs, release the workers."""


def make_executor(settings: Settings, task: TaskRef = DEFAULT_TASK) -> Executor:
    """The executor named by `settings.executor` ("local" or "dask")."""
    if settings.executor == "local":
        from eobatch.engine.local_pool import LocalExecutor

        return LocalExecutor(settings.workers, task=task)
    if settings.executor == "dask":
        from eobatch.engine.dask_cluster import DaskExecutor

        if not settings.dask_address:
            raise BadRequest("EOBATCH_EXECUTOR=dask needs EOBATCH_DASK_ADDRESS (e.g. tcp://host:8786)")
        return DaskExecutor(settings.dask_address, task=task, settings=settings)
    raise BadRequest(f"Unknown executor {settings.executor!r}; allowed: 'local', 'dask'")
