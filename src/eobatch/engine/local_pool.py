"""`LocalExecutor`: tile tasks on a `WorkerPool` of processes on this machine, each under OS-level limits
(memory cgroup or watchdog, CPU time, wall-clock time per tile; see engine/worker_pool.py).

A worker that dies or is killed fails only its own tile (with the reason) and is replaced; tiles
handed to the executor but not started wait here and can be withdrawn (CANCEL, STOP, shutdown).
"""

from __future__ import annotations

from typing import Any

from eobatch.engine.execution import DEFAULT_TASK, Attempt, TaskRef
from eobatch.engine.executors import ExecutorUnavailable
from eobatch.engine.worker_pool import PoolUnavailable, WorkerLimits, WorkerPool


class LocalExecutor:
    def __init__(self, workers: int, *, task: TaskRef = DEFAULT_TASK, limits: WorkerLimits | None = None):
        if workers < 1:
            raise ValueError(f"a local pool needs at least 1 worker, got {workers}")
        self.workers = workers
        self.task = task
        self.limits = limits or WorkerLimits()
        self._pool: WorkerPool | None = None
        self._open = False

    @property
    def capacity(self) -> int:
        return self.workers

    @property
    def queue_depth(self) -> int:
        return self.workers

    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            raise ExecutorUnavailable("LocalExecutor.start() was not called")
        return self._pool

    def start(self) -> None:
        """Start the workers now (importing the task there), so the first tiles do not wait for it."""
        if self._open:
            return
        pool = WorkerPool(self.workers, self.limits, self.task, name="eobatch-tiles")
        try:
            pool.start()
        except PoolUnavailable as exc:
            raise ExecutorUnavailable(f"The local process pool of {self.workers} workers did not start: {exc}") from exc
        self._pool, self._open = pool, True

    def submit(self, key: int, payload: Any) -> None:
        self.pool.submit(key, payload)

    def running(self) -> set[int]:
        return self.pool.running() if self._pool is not None else set()

    def cancel(self, key: int) -> bool:
        return self._open and self.pool.cancel(key)

    def collect(self) -> list[tuple[int, Attempt]]:
        return self.pool.collect() if self._pool is not None else []

    def shutdown(self, grace_s: float | None = None) -> None:
        """Withdraw what has not started; let running tiles finish (at most `grace_s`); stop the workers.

        What finished meanwhile (and what was cut off, as cancelled) is still given by `collect()`."""
        if self._pool is not None and self._open:
            self._open = False
            self._pool.shutdown(grace_s)
