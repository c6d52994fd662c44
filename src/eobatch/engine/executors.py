"""The interface every executor implements, and `make_executor(settings)` to build one from settings.

An executor runs tile tasks somewhere (a local process pool, a Dask cluster) and tells the scheduler
which have started and which have finished. Keys are tile primary keys; payloads are tile tasks.
"""

from __future__ import annotations

from typing import Any, Protocol

from eobatch.engine.execution import DEFAULT_TASK, Attempt, TaskRef
from eobatch.engine.worker_pool import WorkerLimits
from eobatch.errors import BadRequest, EobatchError
from eobatch.settings import Settings


class ExecutorUnavailable(EobatchError):
    """The executor cannot start (for example a Dask scheduler address that does not answer)."""

    code = "EXECUTOR_UNAVAILABLE"


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

    def shutdown(self, grace_s: float | None = None) -> None:
        """Cancel what has not started, wait for what runs (at most `grace_s`, None: until it ends),
        release the workers. Tasks cut off are reported by `collect()` as cancelled."""


def tile_limits(settings: Settings) -> WorkerLimits:
    """The limits of a tile worker from settings (docs/operations.md, "Worker limits")."""
    return WorkerLimits(
        memory_bytes=settings.worker_memory_mb << 20 if settings.worker_memory_mb > 0 else None,
        cpu_s=settings.tile_cpu_limit_s or None,
        wall_s=settings.tile_time_limit_s or None,
        confinement=settings.worker_confinement,
    )


def make_executor(settings: Settings, task: TaskRef = DEFAULT_TASK) -> Executor:
    """The executor named by `settings.executor` ("local" or "dask")."""
    if settings.executor == "local":
        from eobatch.engine.local_pool import LocalExecutor

        return LocalExecutor(settings.workers, task=task, limits=tile_limits(settings))
    if settings.executor == "dask":
        from eobatch.engine.dask_cluster import DaskExecutor

        if not settings.dask_address:
            raise BadRequest("EOBATCH_EXECUTOR=dask needs EOBATCH_DASK_ADDRESS (e.g. tcp://host:8786)")
        return DaskExecutor(settings.dask_address, task=task, settings=settings)
    raise BadRequest(f"Unknown executor {settings.executor!r}; allowed: 'local', 'dask'")
