"""The interface every executor implements (`engine/executor_factory.py` builds one from settings).

An executor runs tile tasks somewhere (a local process pool, a Dask cluster) and tells the scheduler
which have started and which have finished. Keys are tile primary keys; payloads are tile tasks.
"""

from __future__ import annotations

from typing import Any, Protocol

from eobatch.engine.execution import Attempt
from eobatch.errors import EobatchError


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
