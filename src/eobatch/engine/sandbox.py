"""Evalscript checks at analysis time run in a confined worker process, never in the scheduler's own.

The scheduler (and the API beside it in `eobatch serve`) must survive any script: a typed-array or
WebAssembly bomb, an endless loop, or a V8 crash at the top level of a script would otherwise take the
whole service down, and again after every restart. Here the check runs on a small `WorkerPool`
(as many workers as analyses may run at once) with the tile workers' memory limit and its own short
time limit (`Settings.analysis_time_limit_s`). A worker killed for memory or time fails the analysis
with that reason; an unexplained death is tried once more, then fails it too.

The script is evaluated on a real sample of the request's data when there is one (a small window of
its first tile through the tile pipeline, engine/sample_window.py), else on synthetic samples.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from eobatch.engine.worker_pool import WorkerLimits, WorkerPool
from eobatch.errors import EobatchError, EvalscriptError, TileFailure
from eobatch.settings import Settings

TRIES = 2
SETUP_TIME_LIMIT_S = 10.0  # the create-time check runs only the script's top level and setup()
CREATE_CHECK_WORKERS = 2


class SandboxStopped(RuntimeError):
    """The analysis workers were stopped (process shutdown) before the check finished: not the
    request's fault; the scheduler releases the analysis so that it runs again."""


_POOLS: dict[tuple[int, WorkerLimits], WorkerPool] = {}
_LOCK = threading.Lock()


def analysis_limits(settings: Settings) -> WorkerLimits:
    """The tile workers' memory limit; a wall-clock limit a little past the script's own V8 time limit,
    which applies twice (the script's set-up check, then its run on the sample)."""
    limit = max(settings.analysis_time_limit_s, 1.0)
    return WorkerLimits(
        memory_bytes=settings.worker_memory_mb << 20 if settings.worker_memory_mb > 0 else None,
        cpu_s=3 * limit + 5,
        wall_s=2 * limit + 5,
        confinement=settings.worker_confinement,
        what="evalscript check at analysis",
    )


def create_check_limits(settings: Settings) -> WorkerLimits:
    """The tile workers' memory limit; a short wall-clock limit: only the script's top level and setup() run."""
    return WorkerLimits(
        memory_bytes=settings.worker_memory_mb << 20 if settings.worker_memory_mb > 0 else None,
        cpu_s=2 * SETUP_TIME_LIMIT_S + 5,
        wall_s=SETUP_TIME_LIMIT_S + 5,
        confinement=settings.worker_confinement,
        what="evalscript check at create",
    )


def _pool(settings: Settings) -> WorkerPool:
    return _pool_of(max(settings.max_concurrent_analyses, 1), analysis_limits(settings), "eobatch-analysis")


def _pool_of(workers: int, limits: WorkerLimits, name: str) -> WorkerPool:
    key = (workers, limits)
    with _LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = WorkerPool(workers, limits, check_in_worker, name=name)
            pool.start()
            _POOLS[key] = pool
        return pool


@atexit.register
def shutdown_sandboxes() -> None:
    """Stop the analysis workers (at interpreter exit; they also die with this process)."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(0)


def validate_confined(
    settings: Settings,
    source: str,
    response_ids: Iterable[str],
    band_lookup: Mapping[str | None, Iterable[str]],
    time_range: tuple[datetime, datetime] | None = None,
    sample: Any | None = None,
) -> Any:
    """`validate_evalscript` in a confined worker; its SetupInfo, or EvalscriptError with the reason.

    `sample`: the `TileTask` of a real-data window (engine/sample_window.sample_task) to evaluate the
    script on; synthetic samples where it is None or finds no scene."""
    job = {
        "sample": sample,
        "source": source,
        "response_ids": list(response_ids),
        "band_lookup": {k: sorted(v) for k, v in band_lookup.items()},
        "time_range": time_range,
        "timeout_s": max(settings.analysis_time_limit_s, 1.0),
        "max_memory_mb": settings.evalscript_max_memory_mb,
    }
    attempt = None
    for _ in range(TRIES):
        attempt = _pool(settings).call(job)
        if attempt.ok:
            return attempt.result
        if attempt.cancelled:
            raise SandboxStopped(attempt.error or "the analysis workers stopped")
        if not attempt.worker_lost:
            break
    assert attempt is not None
    raise EvalscriptError(attempt.error or "The evalscript check at analysis failed")


def setup_outputs_confined(settings: Settings, source: str) -> tuple[Any, ...]:
    """The outputs the script's setup() declares (`OutputSpec`s), worked out in a confined worker, so that
    a create request never runs user JavaScript in the API's own process. EvalscriptError (with the
    script line) when the script fails or a worker limit stops it."""
    job = {"outputs_only": True, "source": source, "timeout_s": SETUP_TIME_LIMIT_S, "max_memory_mb": 256}
    attempt = None
    for _ in range(TRIES):
        attempt = _pool_of(CREATE_CHECK_WORKERS, create_check_limits(settings), "eobatch-create-check").call(job)
        if attempt.ok or not attempt.worker_lost:
            break
    assert attempt is not None
    if not attempt.ok:
        raise EvalscriptError(attempt.error or "The evalscript could not be set up")
    outcome = attempt.result
    if outcome[0] == "error":
        raise EvalscriptError(outcome[1], outcome[2])
    return outcome[1]


def check_in_worker(job: dict[str, Any]) -> Any:
    """Runs inside the worker: the check with the analysis time limit; script errors as non-retryable."""
    from eobatch.engine.sample_window import evaluate_sample
    from eobatch.evalscript import EvalscriptEngine, validate_evalscript

    if job.get("outputs_only"):
        return _setup_outputs(job)
    engine = EvalscriptEngine(
        timeout_s=job["timeout_s"], max_memory_mb=job["max_memory_mb"], strict_band_count=False, compiled=False
    )
    sample = job["sample"]
    args = (job["source"], job["response_ids"], job["band_lookup"], engine)
    try:
        setup = validate_evalscript(*args, time_range=job["time_range"], synthetic=sample is None)
        if sample is not None and evaluate_sample(sample, engine) == 0:  # no scene: synthetic samples
            validate_evalscript(*args, time_range=job["time_range"])
        return setup
    except EobatchError as exc:
        raise TileFailure(exc.message, retryable=False) from None


def _setup_outputs(job: dict[str, Any]) -> tuple[Any, ...]:
    """("ok", outputs) or ("error", message, line): the script's own errors travel as data, line included."""
    from eobatch.evalscript import EvalscriptEngine

    engine = EvalscriptEngine(timeout_s=job["timeout_s"], max_memory_mb=job["max_memory_mb"], compiled=False)
    try:
        with engine.load(job["source"]) as script:
            return ("ok", tuple(script.setup.outputs))
    except EvalscriptError as exc:
        return ("error", exc.message, exc.line)
