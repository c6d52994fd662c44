"""The worker process of `WorkerPool`: `python -m eobatch.engine.worker IN_FD OUT_FD PARENT_PID`.

It dies with the thread that started it, takes its set-up (import path, modules to import) from the
first message, answers "ready", then runs one job at a time: `(key, pickled (task, payload,
cpu_limit_s))` in,
`(key, Attempt)` out. Nothing else ever runs here, so a job that exhausts memory or CPU takes only
this process down. EOF or `None` on the inbox ends it.
"""

from __future__ import annotations

import importlib
import pickle
import sys
from multiprocessing.connection import Connection


def main(argv: list[str]) -> int:
    from eobatch.engine.confine import die_with_parent, limit_cpu_time

    in_fd, out_fd, parent_pid = (int(a) for a in argv[:3])
    die_with_parent(parent_pid)
    inbox, outbox = Connection(in_fd, writable=False), Connection(out_fd, readable=False)
    try:
        setup = inbox.recv()
    except EOFError:
        return 0
    sys.path[:] = setup["sys_path"]
    for module in setup.get("imports", ()):
        importlib.import_module(module)
    from eobatch.engine.execution import Attempt, run_task

    outbox.send("ready")
    while True:
        try:
            job = inbox.recv()
        except EOFError:
            return 0
        if job is None:
            return 0
        key, blob = job
        try:
            task, payload, cpu_limit_s = pickle.loads(blob)
        except Exception as exc:  # e.g. a task function this worker cannot import
            outbox.send((key, Attempt(False, error=f"the worker could not read the task: {exc}", retryable=False)))
            continue
        limit_cpu_time(cpu_limit_s)
        attempt = run_task(task, payload)
        limit_cpu_time(None)
        try:
            outbox.send((key, attempt))
        except Exception as exc:  # an unpicklable result
            outbox.send((key, Attempt(False, error=f"the tile's result could not be returned: {exc}")))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
