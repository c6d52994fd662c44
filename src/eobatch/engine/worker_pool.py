"""`WorkerPool`: worker processes under OS-level limits, each running one job at a time.

Jobs wait in this process until a worker is idle, so a job that has not started can always be
withdrawn. Each worker is its own process (`engine/worker.py`, started with `subprocess`, never
forked from a process that has V8) with a memory cgroup (or an RSS watchdog), a CPU-time limit per
job and a wall-clock limit per job enforced here. When a worker dies or is killed, only its own job
fails, with the reason (memory, CPU, time, or an unexplained death), and only that worker is replaced.

All process handling happens in one manager thread: a worker is bound to the thread that started it
(PR_SET_PDEATHSIG), and that thread lives exactly as long as the pool.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from eobatch.engine.confine import MemoryCgroups, WorkerCgroup, describe_bytes, rss_bytes
from eobatch.engine.execution import Attempt, TaskRef
from eobatch.observability.metrics import WORKER_RESTARTS
from eobatch.settings import Settings
from eobatch.threads import thread_environment, threads_for_workers

log = logging.getLogger("eobatch.engine")

WATCHDOG_INTERVAL_S = 0.1
RESPAWN_PAUSE_S = 1.0


@dataclass(frozen=True)
class WorkerLimits:
    """Per-worker limits. `memory_bytes`/`cpu_s`/`wall_s` None: no such limit.

    `confinement`: "auto" (a memory cgroup where this process may create one, else the watchdog),
    "cgroup" (fail to start without one), "watchdog" (poll resident memory), "none".
    `threads`: the threads each worker may use (GDAL, numeric libraries, output encoding); None: the
    cores divided among the pool's workers, at least 1 (eobatch/threads.py).
    """

    memory_bytes: int | None = 2 << 30
    cpu_s: float | None = None
    wall_s: float | None = None
    confinement: str = "auto"
    what: str = "tile"  # named in failure messages
    threads: int | None = None


def tile_limits(settings: Settings) -> WorkerLimits:
    """The limits of a tile worker from settings (docs/operations.md, "Worker limits"): the local pool's,
    and the confined pool inside each Dask worker (engine/dask_worker.py)."""
    return WorkerLimits(
        memory_bytes=settings.worker_memory_mb << 20 if settings.worker_memory_mb > 0 else None,
        cpu_s=settings.tile_cpu_limit_s or None,
        wall_s=settings.tile_time_limit_s or None,
        confinement=settings.worker_confinement,
        threads=settings.worker_threads or None,
    )


@dataclass
class _Worker:
    proc: subprocess.Popen
    inbox: Connection
    outbox: Connection
    cgroup: WorkerCgroup | None
    ready: bool = False
    key: int | None = None
    started: float = 0.0
    kill_reason: Attempt | None = None
    kill_label: str = ""


@dataclass
class _Stats:
    restarts: int = 0  # workers replaced after they ended (by_reason: memory, cpu, time, shutdown, lost)
    spawned: int = 0
    startup_failures: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class PoolUnavailable(RuntimeError):
    """The workers could not be started."""


class WorkerPool:
    def __init__(
        self,
        size: int,
        limits: WorkerLimits,
        task: TaskRef,
        *,
        imports: tuple[str, ...] = (),
        name: str = "eobatch-workers",
    ):
        if size < 1:
            raise ValueError(f"a worker pool needs at least 1 worker, got {size}")
        if limits.confinement not in ("auto", "cgroup", "watchdog", "none"):
            raise ValueError(f"unknown confinement {limits.confinement!r}; use auto, cgroup, watchdog or none")
        self.size = size
        self.limits = limits
        self.threads = threads_for_workers(size, limits.threads)
        self.task = task
        self.imports = imports
        self.name = name
        self.stats = _Stats()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: OrderedDict[int, bytes] = OrderedDict()
        self._finished: list[tuple[int, Attempt]] = []
        self._workers: list[_Worker] = []
        self._stopping = False
        self._grace_deadline: float | None = None
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._cgroups: MemoryCgroups | None = None
        self._start_error: str | None = None
        self._next_spawn = 0.0
        self._keys = itertools.count(-1, -1)  # private keys of call()

    # ------------------------------------------------------------------ public

    @property
    def confinement(self) -> str:
        """What limits memory here: "cgroup v1", "cgroup v2", "watchdog" or "none"."""
        if self.limits.memory_bytes is None or self.limits.confinement == "none":
            return "none"
        if self._cgroups is not None:
            return f"cgroup v{self._cgroups.version}"
        return "watchdog"

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the workers and wait until each has answered; PoolUnavailable otherwise."""
        if self._thread is not None:
            return
        if self.limits.memory_bytes is not None and self.limits.confinement in ("auto", "cgroup"):
            self._cgroups = MemoryCgroups.detect()
            if self._cgroups is None and self.limits.confinement == "cgroup":
                raise PoolUnavailable("no writable memory cgroup for the workers (EOBATCH_WORKER_CONFINEMENT=cgroup)")
        self._thread = threading.Thread(target=self._manage, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        error = None
        with self._changed:
            while sum(w.ready for w in self._workers) < self.size and error is None:
                if self._start_error is not None or time.monotonic() > deadline:
                    error = self._start_error or f"not ready after {timeout_s:g} s"
                self._changed.wait(0.1)
        if error is not None:
            self.shutdown(0)
            raise PoolUnavailable(f"the {self.size} workers did not start: {error}")
        log.info(
            "%s: %d workers ready, %d threads each, memory confined by %s",
            self.name,
            self.size,
            self.threads,
            self.confinement,
        )

    def submit(self, key: int, payload: Any, task: TaskRef | None = None) -> None:
        """Queue one job; it starts when a worker is idle."""
        try:
            blob = pickle.dumps((task or self.task, payload, self.limits.cpu_s))
        except Exception as exc:
            with self._lock:
                self._finished.append((key, Attempt(False, error=f"the task cannot be sent: {exc}", retryable=False)))
            return
        with self._lock:
            if self._stopping:
                raise PoolUnavailable("the pool is shutting down")
            self._queue[key] = blob
        self._wake()

    def cancel(self, key: int) -> bool:
        """Withdraw a job that has not started; False when it runs or ran."""
        with self._lock:
            return self._queue.pop(key, None) is not None

    def running(self) -> set[int]:
        with self._lock:
            return {w.key for w in self._workers if w.key is not None}

    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        with self._lock:
            return [w.proc.pid for w in self._workers]

    def collect(self) -> list[tuple[int, Attempt]]:
        with self._lock:
            done = [(k, a) for k, a in self._finished if k >= 0]
            self._finished = [(k, a) for k, a in self._finished if k < 0]
            return done

    def call(self, payload: Any, task: TaskRef | None = None) -> Attempt:
        """Run one job and wait for its outcome (analysis-time checks)."""
        key = next(self._keys)
        self.submit(key, payload, task)
        with self._changed:
            while True:
                for i, (k, attempt) in enumerate(self._finished):
                    if k == key:
                        del self._finished[i]
                        return attempt
                if self._thread is None or not self._thread.is_alive():
                    return Attempt(False, error="the worker pool stopped", cancelled=True)
                self._changed.wait(0.5)

    def shutdown(self, grace_s: float | None = 0.0) -> None:
        """Withdraw queued jobs, let running ones finish for `grace_s` (None: as long as they take),
        then stop every worker. Jobs cut off are reported as cancelled (they never completed)."""
        with self._lock:
            for key in list(self._queue):
                self._finished.append((key, Attempt(False, error="withdrawn: the pool stopped", cancelled=True)))
            self._queue.clear()
            self._stopping = True
            self._grace_deadline = None if grace_s is None else time.monotonic() + grace_s
        self._wake()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1

    # ------------------------------------------------------------------ manager thread

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def _manage(self) -> None:
        try:
            while True:
                with self._changed:
                    if self._stopping and not any(w.key is not None for w in self._workers):
                        break
                    self._spawn_missing()
                    self._assign()
                    self._enforce_limits()
                    conns = [w.outbox for w in self._workers]
                    self._changed.notify_all()
                ready = wait([*conns, self._wake_r], timeout=WATCHDOG_INTERVAL_S)
                with self._changed:
                    if self._wake_r in ready:
                        with contextlib.suppress(OSError):
                            os.read(self._wake_r, 4096)
                    for worker in [w for w in self._workers if w.outbox in ready]:
                        self._receive(worker)
                    self._changed.notify_all()
        except Exception:
            log.exception("%s: the manager thread failed", self.name)
            with self._changed:
                self._start_error = self._start_error or "the manager thread failed"
        finally:
            self._stop_all()

    def _spawn_missing(self) -> None:
        if self._stopping or time.monotonic() < self._next_spawn:
            return
        while len(self._workers) < self.size:
            try:
                self._workers.append(self._spawn())
            except Exception as exc:
                self.stats.startup_failures += 1
                self._start_error = f"{type(exc).__name__}: {exc}"
                self._next_spawn = time.monotonic() + RESPAWN_PAUSE_S
                log.error("%s: could not start a worker: %s", self.name, exc)
                return

    def _spawn(self) -> _Worker:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        cgroup = self._cgroups.create(self.limits.memory_bytes) if self._cgroups and self.limits.memory_bytes else None
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "eobatch.engine.worker", str(to_child_r), str(from_child_w), str(os.getpid())],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                env=os.environ | thread_environment(self.threads),
            )
        except BaseException:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            if cgroup is not None:
                cgroup.remove()
            raise
        os.close(to_child_r)
        os.close(from_child_w)
        worker = _Worker(proc, Connection(to_child_w, readable=False), Connection(from_child_r, writable=False), cgroup)
        try:
            if cgroup is not None:
                cgroup.add(proc.pid)
            imports = self.imports or _task_module(self.task)
            worker.inbox.send({"sys_path": list(sys.path), "imports": imports})
        except Exception:
            self._kill(worker)
            raise
        self.stats.spawned += 1
        return worker

    def _assign(self) -> None:
        if self._stopping:
            return
        for worker in self._workers:
            if not self._queue:
                return
            if not worker.ready or worker.key is not None or worker.kill_reason is not None:
                continue
            key, blob = self._queue.popitem(last=False)
            try:
                worker.inbox.send((key, blob))
            except OSError:  # died meanwhile: the job goes back to the front of the queue
                self._queue[key] = blob
                self._queue.move_to_end(key, last=False)
                continue
            worker.key, worker.started = key, time.monotonic()

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        lim = self.limits
        watchdog = lim.memory_bytes is not None and self._cgroups is None and lim.confinement != "none"
        for worker in self._workers:
            if worker.kill_reason is not None:
                continue
            if worker.key is not None and lim.wall_s is not None and now - worker.started > lim.wall_s:
                self._condemn(worker, Attempt(False, error=self._time_message(), retryable=True), "time")
            elif watchdog and rss_bytes(worker.proc.pid) > lim.memory_bytes:
                self._condemn(worker, Attempt(False, error=self._memory_message(), retryable=False), "memory")
            elif (
                self._stopping
                and self._grace_deadline is not None
                and now > self._grace_deadline
                and worker.key is not None
            ):
                self._condemn(worker, Attempt(False, error="stopped at shutdown", cancelled=True), "shutdown")

    def _condemn(self, worker: _Worker, outcome: Attempt, label: str) -> None:
        worker.kill_reason, worker.kill_label = outcome, label
        with contextlib.suppress(OSError):
            worker.proc.kill()

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.outbox.recv()
        except (EOFError, OSError):
            self._bury(worker)
            return
        if message == "ready":
            worker.ready = True
            self._start_error = None
            return
        key, attempt = message
        if key == worker.key and worker.kill_reason is None:
            self._finished.append((key, attempt))
            worker.key = None

    def _bury(self, worker: _Worker) -> None:
        """A worker ended: report its job with the reason, forget it (a new one is spawned next turn)."""
        returncode = self._reap(worker)
        self._workers.remove(worker)
        outcome, reason = worker.kill_reason, worker.kill_label
        if outcome is None:
            outcome, reason = self._death_reason(worker, returncode)
        if worker.cgroup is not None:
            worker.cgroup.remove()
        if not worker.ready and not self._stopping:
            self.stats.startup_failures += 1
            self._start_error = f"a worker exited during start-up with code {returncode}"
            self._next_spawn = time.monotonic() + RESPAWN_PAUSE_S
            return
        if self._stopping and worker.key is None:
            return
        self.stats.restarts += 1
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
        WORKER_RESTARTS.labels(reason).inc()
        if worker.key is not None:
            self._finished.append((worker.key, outcome))
            log.warning(
                "%s: worker %d ended while running job %s: %s", self.name, worker.proc.pid, worker.key, outcome.error
            )
        else:
            log.warning("%s: idle worker %d ended (code %s); replacing it", self.name, worker.proc.pid, returncode)

    def _death_reason(self, worker: _Worker, returncode: int | None) -> tuple[Attempt, str]:
        """Why a worker nobody here killed ended, and a short label (memory, cpu, lost)."""
        if worker.cgroup is not None and worker.cgroup.oom_kills() > 0:
            return Attempt(False, error=self._memory_message(), retryable=False), "memory"
        if returncode == -signal.SIGXCPU:
            return Attempt(
                False,
                error=f"the {self.limits.what} exceeded the CPU time limit of {self.limits.cpu_s:g} s; "
                "its worker was stopped and replaced",
                retryable=True,
            ), "cpu"
        how = f"signal {signal.Signals(-returncode).name}" if returncode and returncode < 0 else f"code {returncode}"
        return Attempt(
            False,
            error=f"the worker process died while running this {self.limits.what} ({how}); it was replaced",
            retryable=True,
            worker_lost=True,
        ), "lost"

    def _memory_message(self) -> str:
        limit = describe_bytes(self.limits.memory_bytes or 0)
        return (
            f"evalscript exceeded the {limit} memory limit of a worker while processing this {self.limits.what} "
            "(typed arrays and WebAssembly memory count); its worker was stopped and replaced"
        )

    def _time_message(self) -> str:
        return (
            f"the {self.limits.what} exceeded the time limit of {self.limits.wall_s:g} s (evalscript or data "
            "reads); its worker was stopped and replaced"
        )

    def _reap(self, worker: _Worker) -> int | None:
        try:
            return worker.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            return worker.proc.wait()
        finally:
            for conn in (worker.inbox, worker.outbox):
                conn.close()

    def _kill(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.proc.kill()
        self._reap(worker)
        if worker.cgroup is not None:
            worker.cgroup.remove()

    def _stop_all(self) -> None:
        with self._changed:
            workers, self._workers = self._workers, []
            for worker in workers:
                if worker.key is not None:
                    self._finished.append(
                        (worker.key, worker.kill_reason or Attempt(False, error="stopped at shutdown", cancelled=True))
                    )
                with contextlib.suppress(OSError):
                    worker.inbox.send(None)
            self._changed.notify_all()
        deadline = time.monotonic() + 5
        for worker in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            self._kill(worker)


def _task_module(task: TaskRef) -> tuple[str, ...]:
    """Import the task's module when the worker starts, so the first job does not wait for it."""
    if isinstance(task, str):
        return (task.rpartition(".")[0],)
    module = getattr(task, "__module__", None)
    return (module,) if module and module != "__main__" else ()
