"""`DaskExecutor`: tile tasks on an existing Dask distributed cluster (`dask scheduler` + `dask worker`).

Workers are ordinary `dask worker` processes with eobatch installed. Tasks are submitted with
`pure=False` and no Dask-level retries: the engine's own retry rules apply. A worker that dies is
replaced by its nanny and Dask re-runs the task; after too many deaths Dask reports `KilledWorker`,
which the engine treats as a lost worker.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from eobatch.engine.execution import DEFAULT_TASK, Attempt, TaskRef, run_task
from eobatch.engine.executors import ExecutorUnavailable


class DaskExecutor:
    REFRESH_S = 5.0
    RUNNING_REFRESH_S = 0.1

    def __init__(self, address: str, *, task: TaskRef = DEFAULT_TASK, connect_timeout_s: float = 10.0):
        self.address = address
        self.task = task
        self.connect_timeout_s = connect_timeout_s
        self._client: Any = None
        self._futures: dict[int, Any] = {}
        self._keys: dict[str, int] = {}
        self._capacity, self._capacity_at = 1, 0.0
        self._running: set[int] = set()
        self._running_at = 0.0

    def start(self) -> None:
        from distributed import Client

        try:
            self._client = Client(self.address, timeout=self.connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorUnavailable(
                f"The Dask scheduler at {self.address} does not answer (waited {self.connect_timeout_s:g} s: "
                f"{exc}). Start it with `dask scheduler` and workers with `dask worker {self.address}`, "
                "or use EOBATCH_EXECUTOR=local."
            ) from exc

    @property
    def client(self) -> Any:
        if self._client is None:
            raise ExecutorUnavailable("DaskExecutor.start() was not called")
        return self._client

    @property
    def capacity(self) -> int:
        """Threads across the cluster's workers, asked again at most every few seconds."""
        now = time.monotonic()
        if now >= self._capacity_at:
            self._capacity = max(sum(self.client.nthreads().values()), 1)
            self._capacity_at = now + self.REFRESH_S
        return self._capacity

    @property
    def queue_depth(self) -> int:
        """Dask hands results back with more latency than a local pool: keep more tasks waiting."""
        return 3 * self.capacity

    def submit(self, key: int, payload: Any) -> None:
        dask_key = f"eobatch-tile-{key}-{uuid.uuid4().hex[:8]}"
        self._futures[key] = self.client.submit(run_task, self.task, payload, key=dask_key, pure=False, retries=0)
        self._keys[dask_key] = key

    def running(self) -> set[int]:
        """Tasks the Dask scheduler has handed to a worker (asked at most every `RUNNING_REFRESH_S`)."""
        now = time.monotonic()
        if self._futures and now >= self._running_at:
            started = {k for keys in self.client.processing().values() for k in keys}
            self._running = {self._keys[k] for k in started if k in self._keys}
            self._running_at = now + self.RUNNING_REFRESH_S
        return self._running & set(self._futures)

    def cancel(self, key: int) -> bool:
        future = self._futures.get(key)
        if future is None or future.done() or key in self.running():
            return False
        future.cancel()
        self._forget(key)
        return True

    def _forget(self, key: int) -> None:
        future = self._futures.pop(key)
        self._keys.pop(future.key, None)

    def collect(self) -> list[tuple[int, Attempt]]:
        out = []
        for key, future in [(k, f) for k, f in self._futures.items() if f.done()]:
            self._forget(key)
            out.append((key, _attempt_of(future)))
        return out

    def shutdown(self) -> None:
        if self._client is None:
            return
        if self._futures:
            self._client.cancel(list(self._futures.values()))
        self._futures.clear()
        self._keys.clear()
        self._client.close()
        self._client = None


def _attempt_of(future: Any) -> Attempt:
    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        return Attempt(False, error="cancelled before it ran", cancelled=True)
    exc = future.exception()
    if type(exc).__name__ == "KilledWorker":
        return Attempt(False, error=f"Dask workers died while running this tile: {exc}", worker_lost=True)
    return Attempt(False, error=f"{type(exc).__name__}: {exc}", retryable=True)
