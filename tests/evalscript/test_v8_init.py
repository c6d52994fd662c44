"""V8 starts once per process under a lock: threads creating their first contexts at the same instant
never abort the process (each run is a fresh process, since V8 initialises once per process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNS, THREADS, AT_ONCE = 25, 8, 5  # 200 first-context creations


def test_two_hundred_parallel_first_contexts_never_abort():
    codes = []
    for batch in range(0, RUNS, AT_ONCE):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.evalscript.first_contexts", str(THREADS)],
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(batch, min(batch + AT_ONCE, RUNS))
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            codes.append((proc.returncode, err.decode(errors="replace")[-300:]))
    assert [c for c, _ in codes] == [0] * RUNS, [e for c, e in codes if c]
