"""`DaskExecutor`: tile tasks on an existing Dask distributed cluster (`dask scheduler` + `dask worker`).

Workers are ordinary `dask worker` processes with eobatch installed (any deployment reachable by address:
see docs/engine.md). Tasks are submitted with `pure=False` and no Dask-level retries: the engine's own
retry rules apply. A worker that dies is replaced by its nanny and Dask re-runs the task; after too many
deaths Dask reports `KilledWorker`, which the engine treats as a lost worker.

Efficiency (bench/bench_engine.py, Dask vs the local pool):
* `start()` registers `EobatchWorkerPlugin` (engine/dask_worker.py): each worker builds its runtime
  once and drops worker defaults that slow tiles down. With settings (as the service runs it), each
  Dask worker runs its tiles on a confined `WorkerPool` with the local pool's limits (memory, CPU and
  wall-clock time per tile; `EOBATCH_DASK_CONFINE_TILES`).
* tasks stay small: payload fields larger than `SHARE_BYTES` when pickled (a request's area, evalscript,
  settings) are scattered to every worker once and referenced by every tile that carries the same value;
  the data is released when no submitted tile refers to it any more, and scattered again if it was lost.
* results stream in: the client's own event loop collects each result as its task finishes
  (`distributed.as_completed`), so `collect()` only drains what has arrived, without a round trip.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import time
import uuid
from typing import Any

from eobatch.engine.execution import DEFAULT_TASK, Attempt, TaskRef
from eobatch.engine.executors import ExecutorUnavailable
from eobatch.engine.worker_pool import tile_limits
from eobatch.settings import Settings

SHARE_BYTES = 4096


class DaskExecutor:
    REFRESH_S = 5.0
    RUNNING_REFRESH_S = 0.1

    def __init__(
        self,
        address: str,
        *,
        task: TaskRef = DEFAULT_TASK,
        connect_timeout_s: float = 10.0,
        settings: Settings | None = None,
    ):
        self.address = address
        self.task = task
        self.connect_timeout_s = connect_timeout_s
        self.settings = settings
        self._client: Any = None
        self._done: Any = None  # distributed.as_completed of every submitted future
        self._futures: dict[int, Any] = {}
        self._keys: dict[str, int] = {}
        self._uses: dict[int, list[str]] = {}  # tile key -> digests of the shared values it refers to
        self._shared: dict[str, tuple[Any, int]] = {}  # digest -> (scattered future, tiles referring to it)
        self._capacity, self._capacity_at = 1, 0.0
        self._running: set[int] = set()
        self._running_at = 0.0

    def start(self) -> None:
        from distributed import Client, as_completed

        from eobatch.engine.dask_worker import EobatchWorkerPlugin

        try:
            self._client = Client(self.address, timeout=self.connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorUnavailable(
                f"The Dask scheduler at {self.address} does not answer (waited {self.connect_timeout_s:g} s: "
                f"{exc}). Start it with `dask scheduler` and workers with `dask worker {self.address}`, "
                "or use EOBATCH_EXECUTOR=local."
            ) from exc
        limits = None
        if self.settings is not None and self.settings.dask_confine_tiles:
            limits = tile_limits(self.settings)  # each tile in a confined process on the Dask worker
        self._client.register_plugin(EobatchWorkerPlugin(self.settings, limits=limits))
        self._done = as_completed(loop=self._client.loop, with_results=True, raise_errors=False)

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
        from eobatch.engine.dask_worker import run_parts

        kind, fields, digests = self._describe(payload)
        dask_key = f"eobatch-tile-{key}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(run_parts, self.task, kind, fields, key=dask_key, pure=False, retries=0)
        self._futures[key] = future
        self._keys[dask_key] = key
        self._uses[key] = digests
        self._done.add(future)

    def _describe(self, payload: Any) -> tuple[type | None, Any, list[str]]:
        """(class, fields, digests): a dataclass payload's fields, large ones replaced by references to
        values scattered once; any other payload as it is."""
        if not dataclasses.is_dataclass(payload) or isinstance(payload, type):
            return None, payload, []
        fields: dict[str, Any] = {}
        digests: list[str] = []
        for field in dataclasses.fields(payload):
            value = getattr(payload, field.name)
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            if len(data) < SHARE_BYTES:
                fields[field.name] = value
                continue
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            future, count = self._shared.get(digest) or (None, 0)
            if future is None or future.status != "finished":  # new, or lost with the workers holding it
                # a one-element list, so that a dict or list value is scattered whole
                future = self.client.scatter([value], broadcast=True, hash=False)[0]
            self._shared[digest] = (future, count + 1)
            fields[field.name] = future
            digests.append(digest)
        return type(payload), fields, digests

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
        for digest in self._uses.pop(key, []):
            shared, count = self._shared[digest]
            if count <= 1:
                del self._shared[digest]  # dropping the last reference releases the data on the cluster
            else:
                self._shared[digest] = (shared, count - 1)

    def collect(self) -> list[tuple[int, Attempt]]:
        if self._done is None:
            return []
        out = []
        for future, result in self._done.next_batch(block=False):
            key = self._keys.get(future.key)
            if key is None or self._futures.get(key) is not future:
                continue  # withdrawn before it finished
            self._forget(key)
            out.append((key, _attempt_of(future, result)))
        return out

    def shutdown(self, grace_s: float | None = None) -> None:
        """Cancel every task still held (Dask workers finish what they run on their own) and disconnect."""
        if self._client is None:
            return
        if self._futures:
            self._client.cancel(list(self._futures.values()))
        if self._done is not None:
            self._done.clear()
            self._done = None
        self._futures.clear()
        self._keys.clear()
        self._uses.clear()
        self._shared.clear()
        self._client.close()
        self._client = None


def _attempt_of(future: Any, result: Any) -> Attempt:
    if future.status == "finished":
        return result
    if future.status == "cancelled":
        return Attempt(False, error="cancelled before it ran", cancelled=True)
    exc = result if isinstance(result, BaseException) else future.exception()
    if type(exc).__name__ == "KilledWorker":
        return Attempt(False, error=f"Dask workers died while running this tile: {exc}", worker_lost=True)
    return Attempt(False, error=f"{type(exc).__name__}: {exc}", retryable=True)
