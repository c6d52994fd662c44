"""`LocalExecutor`: a process pool on this machine. Workers come from a forkserver (a clean process that
has not loaded V8: V8 does not survive fork), or are spawned with start_method="spawn".

A worker killed mid-task breaks the whole pool (BrokenProcessPool): every task in it is reported as
`worker_lost`, and the next submit builds a fresh pool.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from eobatch.engine.execution import DEFAULT_TASK, Attempt, ExecutorUnavailable, TaskRef, noop, run_task


class LocalExecutor:
    def __init__(self, workers: int, *, task: TaskRef = DEFAULT_TASK, start_method: str = "forkserver"):
        if workers < 1:
            raise ValueError(f"a local pool needs at least 1 worker, got {workers}")
        self.workers = workers
        self.task = task
        self._context = multiprocessing.get_context(start_method)
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[int, Future] = {}

    @property
    def capacity(self) -> int:
        return self.workers

    @property
    def queue_depth(self) -> int:
        return self.workers

    def start(self) -> None:
        """Spawn the workers now (and import the task there), so the first tiles do not wait for it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = ProcessPoolExecutor(self.workers, mp_context=self._context)
        try:
            for f in [self._pool.submit(noop, None) for _ in range(self.workers)]:
                f.result(timeout=120)
        except Exception as exc:
            self.shutdown()
            raise ExecutorUnavailable(f"The local process pool of {self.workers} workers did not start: {exc}") from exc

    def _live_pool(self) -> ProcessPoolExecutor:
        if self._pool is None or getattr(self._pool, "_broken", False):
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=self._context)
        return self._pool

    def submit(self, key: int, payload: Any) -> None:
        try:
            self._futures[key] = self._live_pool().submit(run_task, self.task, payload)
        except BrokenProcessPool:
            self._pool = None
            self._futures[key] = self._live_pool().submit(run_task, self.task, payload)

    def running(self) -> set[int]:
        return {k for k, f in self._futures.items() if f.running()}

    def cancel(self, key: int) -> bool:
        future = self._futures.get(key)
        if future is None or not future.cancel():
            return False
        del self._futures[key]
        return True

    def collect(self) -> list[tuple[int, Attempt]]:
        done = [(k, f) for k, f in self._futures.items() if f.done()]
        out = []
        for key, future in done:
            del self._futures[key]
            out.append((key, _attempt_of(future)))
        return out

    def shutdown(self) -> None:
        for key in [k for k, f in self._futures.items() if f.cancel()]:
            del self._futures[key]
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _attempt_of(future: Future) -> Attempt:
    if future.cancelled():
        return Attempt(False, error="cancelled before it ran", cancelled=True)
    exc = future.exception()
    if exc is None:
        return future.result()
    if isinstance(exc, BrokenProcessPool):
        return Attempt(
            False,
            error="the worker process died while the pool ran this tile (killed or out of memory)",
            retryable=True,
            worker_lost=True,
        )
    return Attempt(False, error=f"{type(exc).__name__}: {exc}", retryable=True)
