"""What runs inside a worker process: resolve the task function, run it, report one `Attempt`.

The worker never lets an exception cross the process boundary: `TileFailure` is a dataclass exception
that does not survive pickling, and the scheduler only needs the message and whether to retry.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eobatch.errors import EobatchError, TileFailure

DEFAULT_TASK = "eobatch.processing.process_tile"


class ExecutorUnavailable(EobatchError):
    """The executor cannot start (for example a Dask scheduler address that does not answer)."""

    code = "EXECUTOR_UNAVAILABLE"


TaskRef = str | Callable[[Any], Any]


@dataclass(frozen=True)
class Attempt:
    """The outcome of running a task once. `worker_lost`: the process died; `cancelled`: never ran."""

    ok: bool
    result: Any = None
    error: str | None = None
    retryable: bool = True
    duration_s: float = 0.0
    worker_lost: bool = False
    cancelled: bool = False


def resolve_task(task: TaskRef) -> Callable[[Any], Any]:
    """A callable as is, or "package.module.function" imported."""
    if callable(task):
        return task
    module_name, _, attr = task.rpartition(".")
    if not module_name:
        raise ValueError(f"task {task!r} is not a dotted path like 'package.module.function'")
    return getattr(importlib.import_module(module_name), attr)


def run_task(task: TaskRef, payload: Any) -> Attempt:
    """Run `task(payload)` and describe what happened; never raises for a failing task."""
    started = time.perf_counter()
    try:
        result = resolve_task(task)(payload)
    except TileFailure as exc:
        return Attempt(False, error=exc.reason, retryable=exc.retryable, duration_s=time.perf_counter() - started)
    except Exception as exc:  # any other error is a retryable failure of this attempt
        return Attempt(
            False, error=f"{type(exc).__name__}: {exc}", retryable=True, duration_s=time.perf_counter() - started
        )
    return Attempt(True, result=result, duration_s=time.perf_counter() - started)


def noop(payload: Any) -> None:
    """A task that does nothing (warming pools up, measuring the scheduler's own overhead)."""
    return None
