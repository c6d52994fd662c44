"""Computing a Process API window with the batch tile pipeline (`processing.run_tile`), in a worker
process (evalscripts never run in the API server's own process), with the files kept in memory."""

from __future__ import annotations

import copy
import multiprocessing
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from eobatch.api.process.wire import ProcessWindow
from eobatch.domain.plan import BatchPlan
from eobatch.errors import BadRequest, EobatchError, TileFailure
from eobatch.settings import Settings

SCRATCH = "s3://eobatch-process/<tileName>/<outputId>.<format>"
FAR_PAST, FAR_FUTURE = "1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


class MemoryStorage:
    """Where the pipeline writes a window's files: a dict, never object storage."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, url: str, data: bytes) -> int:
        self.files[url] = data
        return len(data)

    def exists(self, url: str) -> bool:
        return url in self.files

    def delete(self, url: str) -> None:
        self.files.pop(url, None)


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
    from eobatch.artifacts import GEOPACKAGE_GRID_ID
    from eobatch.processing import TileTask

    name = f"process-{uuid.uuid4().hex[:12]}"
    tile = grids.GridTile(grid_id=GEOPACKAGE_GRID_ID, id=0, name=name, epsg=window.epsg, bounds=window.bounds)
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
    """Run in a worker process: the pipeline on the window, every output returned by file name."""
    from eobatch.processing.pipeline import run_tile
    from eobatch.processing.runtime import runtime_for

    runtime = runtime_for(task.settings)
    storage = MemoryStorage()
    try:
        result = run_tile(task, engine=runtime.engine, registry=runtime.registry, storage=storage)
    except TileFailure as failure:
        return Failed(failure.reason, bad_input=not failure.retryable)
    files = {url.rsplit("/", 1)[-1]: data for url, data in storage.files.items()}
    return Computed(files, result.cost_pu, result.scene_count)


class ProcessWorkers:
    """A small pool of worker processes (spawned on first use) for Process API windows."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, task) -> Computed:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            pool = self._pool
        outcome = pool.submit(compute_window, task).result()
        if isinstance(outcome, Failed):
            raise outcome.error()
        return outcome

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
