"""`make bench`: run every bench/bench_*.py module and print one table of ratios.

Each module defines `run() -> list[dict]`; a row has `name`, `value`, `unit`, `reference`,
`reference_value`, `ratio` (value relative to the reference, as `note` explains), `target`, `note` and, for
paired measurements (bench/paired.py), `rounds`, `load` (1-minute load average before->after) and `cpu_s`
(CPU seconds of the bench process and its descendants, value vs reference). Every figure is measured in
this run, next to its reference.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import psutil


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    rows: list[dict] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        print(f"running {name} ...", flush=True)
        for row in module.run():
            row.setdefault("suite", name.removeprefix("bench_"))
            rows.append(row)
        print(f"  {name} took {time.perf_counter() - started:.1f} s", flush=True)
    cols = [
        "suite", "name", "value", "unit", "reference", "reference_value", "ratio", "target", "rounds", "load",
        "cpu_s", "note",
    ]  # fmt: skip
    table = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) if table else len(c) for i, c in enumerate(cols)]
    print(" | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for t in table:
        print(" | ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)))
    out = here / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
