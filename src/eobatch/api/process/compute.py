"""Computing a Process API window with the batch tile pipeline (`processing.run_tile`) on a confined
`WorkerPool` (evalscripts never run in the API server's own process), with the files kept in memory.

The workers have the tile workers' memory limit and a time and CPU limit per window; admission is
bounded (in total and per account), so a hostile script fails only its own window, with a 400 that
says which limit it exceeded, and one account cannot occupy every worker."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eobatch.api.process.wire import ProcessWindow
from eobatch.domain.plan import BatchPlan
from eobatch.engine.execution import Attempt
from eobatch.engine.worker_pool import PoolUnavailable, WorkerLimits, WorkerPool
from eobatch.errors import BadRequest, EobatchError, TileFailure, TooManyRequests, Unavailable
from eobatch.settings import Settings
from eobatch.storage.memory import MemoryStorage

WINDOW_TASK = "eobatch.api.process.compute.compute_window"
RETRY_AFTER_S = 5

SCRATCH = "s3://eobatch-process/<tileName>/<outputId>.<format>"
FAR_PAST, FAR_FUTURE = "1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


@dataclass(frozen=True)
class Computed:
    files: dict[str, bytes]  # file name (identifier.ext) -> bytes
    cost_pu: float
    scene_count: int


@dataclass(frozen=True)
class Failed:
    """A window that could not be computed (sent back as data: exceptions do not cross processes well)."""

    message: str
    bad_input: bool

    def error(self) -> EobatchError:
        return BadRequest(self.message) if self.bad_input else EobatchError(self.message)


def window_task(window: ProcessWindow, account_id: str, settings: Settings):
    """The `TileTask` of a window: a one-off tile with the window's pixel grid, outputs kept in memory."""
    from eobatch import grids
    from eobatch.processing import TileTask

    name = f"process-{uuid.uuid4().hex[:12]}"
    tile = grids.GridTile(grid_id=grids.NO_GRID_ID, id=0, name=name, epsg=window.epsg, bounds=window.bounds)
    pixel_grid = grids.PixelGrid(window.epsg, window.transform, window.width, window.height)
    return TileTask(
        request_id=name,
        account_id=account_id,
        tile=tile,
        pixel_grid=pixel_grid,
        area_wgs84_wkb=window.area_wgs84.wkb,
        plan=window_plan(window, settings),
        settings=settings,
    )


def window_plan(window: ProcessWindow, settings: Settings) -> BatchPlan:
    """The plan of a window: its inputs (the whole archive's time range when none is given), evalscript and
    responses, every output written to the in-memory scratch location."""
    from eobatch.api.intake import IntakeContext, parse_inputs
    from eobatch.domain.plan import Destination, Output, WindowTiling, WriteFlags

    process_request = copy.deepcopy(window.process_request)
    for entry in process_request["input"]["data"]:
        if isinstance(entry, dict):
            data_filter = entry.setdefault("dataFilter", {})
            if isinstance(data_filter, dict) and data_filter.get("timeRange") is None:
                data_filter["timeRange"] = {"from": FAR_PAST, "to": FAR_FUTURE}
    scratch = Destination(path=SCRATCH)
    return BatchPlan(
        inputs=parse_inputs(process_request, IntakeContext(settings, stored=True)),
        area=None,
        tiling=WindowTiling(width_px=window.width, height_px=window.height),
        outputs=tuple(Output(id=r.identifier, format=r.mime, destination=scratch) for r in window.responses),
        delivery=scratch,
        write=WriteFlags(overwrite=True),
        evalscript=process_request["evalscript"],
    )


def compute_window(task) -> Computed | Failed:
    """Run in a worker process: the pipeline on the window, every output returned by file name.

    Every failure of the pipeline comes back as data, so that a failed `Attempt` of the pool always
    means the worker was stopped (a limit) or died."""
    from eobatch.collections.batch import with_batch_inputs
    from eobatch.processing.pipeline import run_tile
    from eobatch.processing.runtime import runtime_for

    runtime = runtime_for(task.settings)
    storage = MemoryStorage()
    try:
        registry = with_batch_inputs(runtime.registry, task.plan.inputs, task.settings)  # batch-<id> inputs
        result = run_tile(task, engine=runtime.engine, registry=registry, storage=storage)
    except TileFailure as failure:
        return Failed(failure.reason, bad_input=not failure.retryable)
    except Exception as exc:  # a fault of this service, not of the request: a 500 (logged)
        return Failed(f"{type(exc).__name__}: {exc}", bad_input=False)
    files = {url.rsplit("/", 1)[-1]: data for url, data in storage.files.items()}
    return Computed(files, result.cost_pu, result.scene_count)


def window_limits(settings: Settings) -> WorkerLimits:
    """The tile workers' memory limit and confinement; the Process API's own time and CPU limits."""
    return WorkerLimits(
        memory_bytes=settings.worker_memory_mb << 20 if settings.worker_memory_mb > 0 else None,
        cpu_s=settings.process_api_cpu_limit_s or None,
        wall_s=settings.process_api_time_limit_s or None,
        confinement=settings.worker_confinement,
        what="Process API window",
    )


def outcome(attempt: Attempt) -> Computed:
    """The computed window, or the error the API answers: a worker stopped at a limit (memory, time,
    CPU) or dead while running the window is the script's doing (400 with the reason); a pool that
    stopped meanwhile is a 503."""
    if attempt.cancelled:
        raise Unavailable("The Process API's workers are stopping; try again later", RETRY_AFTER_S)
    if not attempt.ok:
        raise BadRequest(attempt.error or "The Process API window could not be computed")
    if isinstance(attempt.result, Failed):
        raise attempt.result.error()
    return attempt.result


class ProcessWorkers:
    """The Process API's confined worker pool (started on first use) and its admission limits:
    at most `process_api_queue` windows running or waiting, at most `process_api_per_account` of
    them from one account; beyond, 429 with Retry-After."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.size = max(1, settings.process_api_workers)
        self.queue_limit = max(self.size, settings.process_api_queue)
        self.per_account = max(1, settings.process_api_per_account)
        self._pool: WorkerPool | None = None
        self._start_lock = threading.Lock()
        self._lock = threading.Lock()
        self._admitted: dict[str, int] = {}
        self._closed = False

    @property
    def pool(self) -> WorkerPool | None:
        return self._pool

    def run(self, task) -> Computed:
        with self._admission(task.account_id):
            return outcome(self._started().call(task))

    @contextmanager
    def _admission(self, account_id: str) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise Unavailable("The Process API is shutting down; try again later", RETRY_AFTER_S)
            if sum(self._admitted.values()) >= self.queue_limit:
                raise TooManyRequests(
                    f"The Process API is busy ({self.queue_limit} windows running or waiting); try again later",
                    RETRY_AFTER_S,
                )
            if self._admitted.get(account_id, 0) >= self.per_account:
                raise TooManyRequests(
                    f"This account already has {self.per_account} Process API window(s) running or waiting; "
                    "wait for them before sending more",
                    RETRY_AFTER_S,
                )
            self._admitted[account_id] = self._admitted.get(account_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._admitted[account_id] - 1
                if left:
                    self._admitted[account_id] = left
                else:
                    del self._admitted[account_id]

    def _started(self) -> WorkerPool:
        with self._start_lock:
            if self._closed:
                raise Unavailable("The Process API is shutting down; try again later", RETRY_AFTER_S)
            if self._pool is None:
                pool = WorkerPool(
                    self.size,
                    window_limits(self.settings),
                    WINDOW_TASK,
                    imports=("eobatch.api.process.compute", "eobatch.processing.pipeline"),
                    name="eobatch-process",
                )
                try:
                    pool.start()
                except PoolUnavailable as exc:
                    raise Unavailable(f"The Process API's workers could not start: {exc}", RETRY_AFTER_S) from exc
                self._pool = pool
            return self._pool

    def shutdown(self) -> None:
        """Stop taking windows and stop the workers (windows still running answer 503)."""
        with self._lock:
            self._closed = True
        with self._start_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(0)
