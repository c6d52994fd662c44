"""Paired, alternating measurement rounds: every ratio compares two runs made next to each other.

Round k runs every arm once, in the given order on even rounds and reversed on odd rounds, so slow drift
of the machine (other jobs, thermal state) falls on both sides. For each run the wall time and the CPU
time of this process and all of its descendants (pool workers, Dask processes started by the bench)
are taken, and apart the CPU time of this process alone (where a bench runs its scheduler) and the busy
CPU time of the whole machine (what other work took meanwhile is the difference); the machine's load
average is read before the first and after the last round.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # this process and its descendants
    own_cpu_s: float = 0.0  # this process alone
    machine_cpu_s: float = 0.0  # every process on the machine

    @property
    def children_cpu_s(self) -> float:
        return self.cpu_s - self.own_cpu_s

    @property
    def others_cpu_s(self) -> float:
        """CPU seconds of processes outside this one's tree (other work on the machine)."""
        return max(self.machine_cpu_s - self.cpu_s, 0.0)


@dataclass
class Paired:
    """The runs of each arm, in round order, and the 1-minute load average around them."""

    runs: dict[str, list[Run]] = field(default_factory=dict)
    load_before: float = 0.0
    load_after: float = 0.0

    @property
    def rounds(self) -> int:
        return min(len(r) for r in self.runs.values())

    def wall(self, arm: str) -> float:
        return statistics.median(r.wall_s for r in self.runs[arm])

    def cpu(self, arm: str) -> float:
        return statistics.median(r.cpu_s for r in self.runs[arm])

    def own_cpu(self, arm: str) -> float:
        """Median CPU seconds of this process alone."""
        return statistics.median(r.own_cpu_s for r in self.runs[arm])

    def children_cpu(self, arm: str) -> float:
        """Median CPU seconds of the descendants (workers, Dask processes)."""
        return statistics.median(r.children_cpu_s for r in self.runs[arm])

    def others_cores(self, arm: str) -> float:
        """Median cores kept busy by other work on the machine during the runs of `arm`."""
        return statistics.median(r.others_cpu_s / r.wall_s for r in self.runs[arm])

    def ratio(self, arm: str, reference: str, *, speed: bool = False) -> float:
        """Median over rounds of arm/reference wall time (`speed`: reference/arm, i.e. a speed-up)."""
        pairs = zip(self.runs[arm], self.runs[reference], strict=True)
        values = [(r.wall_s / a.wall_s) if speed else (a.wall_s / r.wall_s) for a, r in pairs]
        return statistics.median(values)

    @property
    def load(self) -> str:
        return f"{self.load_before:.2f}->{self.load_after:.2f}"


def tree_cpu_s() -> float:
    """User + system CPU seconds of this process and every live descendant (+ reaped children)."""
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    reaped = os.times()
    return total + reaped.children_user + reaped.children_system


def own_cpu_s() -> float:
    """User + system CPU seconds of this process (all its threads)."""
    t = psutil.Process().cpu_times()
    return t.user + t.system


def machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine, all cores (everything but idle and I/O wait)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def measure(call: Callable[[], object]) -> Run:
    cpu, own, machine = tree_cpu_s(), own_cpu_s(), machine_cpu_s()
    started = time.perf_counter()
    call()
    wall = time.perf_counter() - started
    return Run(wall, tree_cpu_s() - cpu, own_cpu_s() - own, machine_cpu_s() - machine)


def paired(arms: dict[str, Callable[[], object]], rounds: int) -> Paired:
    """Run every arm once per round, alternating the order; at least 3 rounds."""
    if rounds < 3:
        raise ValueError("paired measurements need at least 3 rounds")
    out = Paired({name: [] for name in arms}, load_before=os.getloadavg()[0])
    names = list(arms)
    for k in range(rounds):
        for name in names if k % 2 == 0 else reversed(names):
            out.runs[name].append(measure(arms[name]))
    out.load_after = os.getloadavg()[0]
    return out


def row(
    name: str,
    result: Paired,
    arm: str,
    reference: str,
    *,
    label: str,
    target: str,
    note: str,
    speed: bool = False,
    value: float | None = None,
    reference_value: float | None = None,
    unit: str = "s",
) -> dict:
    """A `make bench` row: median wall times of `arm` and `reference` (described by `label`), the median
    per-round ratio, rounds, load and median CPU seconds of both."""
    return {
        "name": name,
        "value": round(result.wall(arm) if value is None else value, 4),
        "unit": unit,
        "reference": label,
        "reference_value": round(result.wall(reference) if reference_value is None else reference_value, 4),
        "ratio": round(result.ratio(arm, reference, speed=speed), 3),
        "target": target,
        "rounds": result.rounds,
        "load": result.load,
        "cpu_s": f"{result.cpu(arm):.2f} vs {result.cpu(reference):.2f}",
        "note": note,
    }
