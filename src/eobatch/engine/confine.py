"""OS-level limits of a worker process: a memory cgroup per worker (or an RSS watchdog), CPU time, and
death with the parent.

V8 cannot be confined from inside: its heap limit does not count typed arrays or WebAssembly memory,
and `RLIMIT_AS` aborts V8 at start (docs/operations.md, "Worker limits"). What works is a memory
cgroup: the kernel kills the worker at the limit and the pool reads the cgroup's OOM counter to tell
why. `MemoryCgroups.detect()` finds a writable memory controller (cgroup v2, else v1) under this
process's own cgroup; where there is none (an unprivileged container), the pool falls back to polling
each worker's resident memory and killing it above the limit (`rss_bytes`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import itertools
import logging
import os
import resource
import signal
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("eobatch.engine")

PR_SET_PDEATHSIG = 1
_CGROUP_NUMBERS = itertools.count(1)  # unique per process, across pools


def die_with_parent(parent_pid: int) -> None:
    """Linux: SIGKILL this process when the thread that started it ends (even on the parent's SIGKILL).

    Exits at once if the parent is already gone (it died before the request took effect).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still stops its workers
        pass
    if os.getppid() != parent_pid:
        os._exit(0)


def limit_cpu_time(seconds: float | None) -> None:
    """Allow this process `seconds` more CPU time (all threads) from now; SIGXCPU beyond. None: no limit.

    Only the soft limit moves, so it can be raised again for the next task; core dumps are off.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if seconds is None:
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + max(seconds, 1.0)) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def describe_bytes(n: int) -> str:
    """2147483648 -> '2 GiB'; 1536 MiB -> '1.5 GiB'; below a GiB in MiB."""
    if n >= 1 << 30:
        return f"{n / (1 << 30):g} GiB"
    return f"{n / (1 << 20):g} MiB"


@dataclass
class WorkerCgroup:
    """One worker's memory cgroup: created before the worker starts, removed after it ended."""

    path: Path
    version: int

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many processes the kernel killed in this cgroup for exceeding its limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
            if self.version == 1:  # kernels without the counter: any hit of the limit
                return int((self.path / "memory.failcnt").read_text())
        except (OSError, ValueError):
            pass
        return 0

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                log.warning("could not remove worker cgroup %s: %s", self.path, exc)


class MemoryCgroups:
    """Makes per-worker memory cgroups under this process's own memory cgroup."""

    def __init__(self, parent: Path, version: int):
        self.parent = parent
        self.version = version

    @classmethod
    def detect(cls) -> MemoryCgroups | None:
        """A memory controller this process may create child cgroups in, or None."""
        for version, own in ((2, _own_cgroup_dir(v2=True)), (1, _own_cgroup_dir(v2=False))):
            if own is None:
                continue
            limit_file = "memory.max" if version == 2 else "memory.limit_in_bytes"
            probe = own / f"eobatch-probe-{os.getpid()}"
            try:
                probe.mkdir(exist_ok=True)
                ok = (probe / limit_file).exists()
                probe.rmdir()
            except OSError:
                continue
            if ok:
                groups = cls(own, version)
                groups.remove_stale()
                return groups
        return None

    def create(self, limit_bytes: int) -> WorkerCgroup:
        path = self.parent / f"eobatch-{os.getpid()}-{next(_CGROUP_NUMBERS)}"
        path.mkdir(exist_ok=True)
        if self.version == 2:
            (path / "memory.max").write_text(str(limit_bytes))
            if (path / "memory.swap.max").exists():
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            memsw = path / "memory.memsw.limit_in_bytes"
            if memsw.exists():  # no swapping past the limit either
                with contextlib.suppress(OSError):
                    memsw.write_text(str(limit_bytes))
        return WorkerCgroup(path, self.version)

    def remove_stale(self) -> None:
        """Remove empty worker cgroups left by eobatch processes that no longer exist."""
        for path in self.parent.glob("eobatch-*-*"):
            pid = path.name.split("-")[1]
            if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
                WorkerCgroup(path, self.version).remove()


def _own_cgroup_dir(*, v2: bool) -> Path | None:
    """This process's cgroup folder in the v2 tree, or in the v1 memory hierarchy."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
        memberships = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    own = None
    for line in memberships:
        _, controllers, path = line.split(":", 2)
        if (v2 and controllers == "") or (not v2 and "memory" in controllers.split(",")):
            own = path
    if own is None:
        return None
    for line in mounts:
        fields = line.split()
        sep = fields.index("-")
        fstype, options = fields[sep + 1], fields[sep + 3] if len(fields) > sep + 3 else ""
        root, mount_point = fields[3], fields[4]
        if (v2 and fstype == "cgroup2") or (not v2 and fstype == "cgroup" and "memory" in options.split(",")):
            relative = os.path.relpath(own, root) if own.startswith(root) else None
            if relative is None or relative.startswith(".."):
                continue
            folder = Path(mount_point) / relative
            if folder.is_dir():
                return folder
    return None
