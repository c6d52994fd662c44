"""A Dask cluster of separate processes, as in production: one `dask scheduler` and `dask worker`s.

Each process is started from the command line of this interpreter's environment, on free loopback
ports, with its own scratch folder; `stop()` ends every process it started (by pid, with the children
each spawned) and removes the folders. `kill_worker(i)` SIGKILLs one worker (nanny and worker process)
to simulate a lost machine. The processes stay in the caller's session: with the kernel's
autogroup scheduling a new session would get its own share of a busy machine's CPU, which would
flatter Dask against a local pool in benchmarks.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from eobatch.service import free_port

DASK = Path(sys.executable).parent / "dask"


@dataclass
class DaskProcesses:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="eobatch-dask-")))

    def add_worker(self, env: dict[str, str] | None = None, nthreads: int = 1) -> subprocess.Popen:
        n = len(self.workers)
        folder = self.scratch / f"worker-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(DASK), "worker", self.address, "--nthreads", str(nthreads), "--name", f"worker-{n}",
            "--no-dashboard", "--memory-limit", "0", "--local-directory", str(folder),
            "--host", "127.0.0.1", "--death-timeout", "60",
        ]  # fmt: skip
        with open(folder / "worker.log", "wb") as log:  # the worker keeps its own copy of the handle
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=folder, env=env)
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, n: int, timeout_s: float = 60.0) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout_s) as client:
            client.wait_for_workers(n, timeout=timeout_s)

    def kill_worker(self, index: int) -> None:
        """SIGKILL worker `index`: its nanny and the worker process it runs."""
        _kill_tree(self.workers[index])

    def log(self, name: str) -> str:
        path = self.scratch / name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _kill_tree(proc)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a process we started and every process below it."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    psutil.wait_procs(children, timeout=10)


def start_dask(n_workers: int, env: dict[str, str] | None = None, timeout_s: float = 60.0) -> DaskProcesses:
    """`dask scheduler` + `n_workers` single-threaded `dask worker` processes, all ready."""
    port = free_port()
    scratch = Path(tempfile.mkdtemp(prefix="eobatch-dask-"))
    with open(scratch / "scheduler.log", "wb") as log:  # the scheduler keeps its own copy of the handle
        scheduler = subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=scratch,
            env=env,
        )
    cluster = DaskProcesses(f"tcp://127.0.0.1:{port}", scheduler, scratch=scratch)
    try:
        for _ in range(n_workers):
            cluster.add_worker(env)
        cluster.wait_for_workers(n_workers, timeout_s)
    except BaseException:
        logs = cluster.log("scheduler.log") + cluster.log("worker-0/worker.log")
        cluster.stop()
        raise RuntimeError(f"the Dask cluster did not start:\n{logs}") from None
    return cluster
