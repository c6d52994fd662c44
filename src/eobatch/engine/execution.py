"""What runs inside a worker process: resolve the task function, run it, report one `Attempt`.

The worker never lets an exception cross the process boundary: `TileFailure` is a dataclass exception
that does not survive pickling, and the scheduler only needs the message and whether to retry.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eobatch.errors import TileFailure

DEFAULT_TASK = "eobatch.processing.process_tile"

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
    storage_retries: int = 0  # object-storage calls tried again during this attempt


def resolve_task(task: TaskRef) -> Callable[[Any], Any]:
    """A callable as is, or "package.module.function" imported."""
    if callable(task):
        return task
    module_name, _, attr = task.rpartition(".")
    if not module_name:
        raise ValueError(f"task {task!r} is not a dotted path like 'package.module.function'")
    return getattr(importlib.import_module(module_name), attr)


def _storage_retries() -> int:
    storage = sys.modules.get("eobatch.storage.objects")
    return storage.retries_so_far() if storage is not None else 0


def run_task(task: TaskRef, payload: Any) -> Attempt:
    """Run `task(payload)` and describe what happened; never raises for a failing task."""
    started, retries = time.perf_counter(), _storage_retries()
    try:
        result = resolve_task(task)(payload)
    except TileFailure as exc:
        attempt = Attempt(False, error=exc.reason, retryable=exc.retryable)
    except Exception as exc:  # any other error is a retryable failure of this attempt
        attempt = Attempt(False, error=f"{type(exc).__name__}: {exc}", retryable=True)
    else:
        attempt = Attempt(True, result=result)
    return dataclasses.replace(
        attempt, duration_s=time.perf_counter() - started, storage_retries=_storage_retries() - retries
    )


def noop(payload: Any) -> None:
    """A task that does nothing (warming pools up, measuring the scheduler's own overhead)."""
    return None
