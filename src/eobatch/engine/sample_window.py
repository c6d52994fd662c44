"""The real sample that the analysis-time evalscript check evaluates (engine/sandbox.py): a small window
of the request's first tile, read and evaluated through the tile pipeline with nothing written.

A script that fails on real values (a band some scene lacks, a throw on a value the synthetic samples
never have) then fails at analysis, with the JavaScript error and line and the window's place, instead
of in every tile. Where the window finds no scene, the check falls back to synthetic samples.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from eobatch.domain.plan import JSON, TIFF, BatchPlan, Destination, WindowTiling, WriteFlags
from eobatch.errors import TileFailure
from eobatch.settings import Settings

log = logging.getLogger("eobatch.engine")

SAMPLE_PX = 6  # pixels a side: a few dozen evaluatePixel calls
SAMPLE_MAX_SCENES = 32  # beyond, synthetic samples (reading them all could outlast the check's time limit)
SCRATCH = Destination(path="s3://eobatch-analysis-sample/<tileName>/<outputId>.<format>")


def first_sample(
    request_id: str,
    account_id: str,
    plan: BatchPlan,
    tiles: list,
    pixel_grids: list,
    footprints: list,
    settings: Settings,
    *,
    registry: Any,
    request_area: Any,
) -> Any | None:
    """The sample window of the request's first tile (grid or GeoPackage feature), with its scenes from
    the request's one search per input (over `request_area` with `registry`, as the analysis counts
    tiles' scenes); None when there is no tile or the window cannot be placed (the check then uses
    synthetic samples)."""
    from shapely.geometry import shape

    if not tiles:
        return None
    try:
        if plan.features is not None:
            area = footprints[0]
            if plan.area is not None:
                area = area.intersection(shape(plan.area.geometry))
        else:
            area = shape(plan.area.geometry)
        task = sample_task(request_id, account_id, plan, tiles[0], pixel_grids[0], area, settings)
        return None if task is None else replace(task, scenes=_scenes(task, plan, registry, request_area))
    except Exception as exc:  # never fail an analysis for want of a sample
        log.warning("analysis of %s: no real-data sample window (%s); synthetic samples instead", request_id, exc)
        return None


def sample_task(
    request_id: str, account_id: str, plan: BatchPlan, tile: Any, pixel_grid: Any, area_wgs84: Any, settings: Settings
) -> Any | None:
    """The `TileTask` of a `SAMPLE_PX` window of `tile` around a point of the request's area (None when
    the area misses the tile). Outputs go to memory as GeoTIFF (userdata as JSON), never to storage."""
    import affine
    from shapely.geometry import box

    from eobatch import grids
    from eobatch.processing import TileTask
    from eobatch.processing.aoi import area_in_tile_crs

    transform = pixel_grid.transform
    left, top = transform @ (0, 0)
    right, bottom = transform @ (pixel_grid.width, pixel_grid.height)
    inside = area_in_tile_crs(area_wgs84, tile, on_grid=plan.grid is not None).intersection(
        box(min(left, right), min(top, bottom), max(left, right), max(top, bottom))
    )
    if inside.is_empty:
        return None
    point = inside.representative_point()
    col, row = ~transform @ (point.x, point.y)
    width, height = min(SAMPLE_PX, pixel_grid.width), min(SAMPLE_PX, pixel_grid.height)
    col0 = min(max(int(col) - width // 2, 0), pixel_grid.width - width)
    row0 = min(max(int(row) - height // 2, 0), pixel_grid.height - height)
    window = transform @ affine.Affine.translation(col0, row0)
    x0, y0 = window @ (0, 0)
    x1, y1 = window @ (width, height)
    bounds = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    sample_tile = grids.GridTile(grid_id=grids.NO_GRID_ID, id=tile.id, name=tile.name, epsg=tile.epsg, bounds=bounds)
    return TileTask(
        request_id=request_id,
        account_id=account_id,
        tile=sample_tile,
        pixel_grid=grids.PixelGrid(pixel_grid.epsg, window, width, height),
        area_wgs84_wkb=area_wgs84.wkb,
        plan=_sample_plan(plan, width, height),
        settings=settings,
    )


def _sample_plan(plan: BatchPlan, width: int, height: int) -> BatchPlan:
    outputs = tuple(
        o.model_copy(update={"format": JSON if o.format == JSON else TIFF, "destination": SCRATCH})
        for o in plan.outputs
    )
    return plan.model_copy(
        update={
            "outputs": outputs,
            "delivery": SCRATCH,
            "tiling": WindowTiling(width_px=width, height_px=height),
            "write": WriteFlags(overwrite=True),
            "cog": None,
            "zarr": None,
        }
    )


def evaluate_sample(task: Any, engine: Any) -> int:
    """Run in the analysis worker: the pipeline on the sample window with `engine`. Returns how many
    scenes it found (0: nothing real to evaluate). A failure the request causes (a script error, a band
    missing from a scene) raises a non-retryable `TileFailure` that names the window; a passing failure
    of the service (a storage hiccup) is logged and counts as no scene."""
    from eobatch.collections.batch import with_batch_inputs
    from eobatch.processing.pipeline import run_tile
    from eobatch.processing.runtime import runtime_for
    from eobatch.storage.memory import MemoryStorage

    registry = with_batch_inputs(runtime_for(task.settings).registry, task.plan.inputs, task.settings)
    count = sum(len(found) for found in task.scenes or ())
    if count == 0:
        return 0
    if count > SAMPLE_MAX_SCENES:  # a long time series: its reads could outlast the analysis time limit
        log.info("analysis of %s: %d scenes over the sample window; synthetic samples instead", task.request_id, count)
        return 0
    try:
        result = run_tile(task, engine=engine, registry=registry, storage=MemoryStorage())
    except TileFailure as failure:
        if failure.retryable:
            log.warning("analysis of %s: the real-data sample could not be read: %s", task.request_id, failure.reason)
            return 0
        raise TileFailure(f"{failure.reason} [{where(task)}]", retryable=False, details=failure.details) from None
    return result.scene_count


def _scenes(task: Any, plan: BatchPlan, registry: Any, request_area: Any) -> Any:
    """The scenes over the window per plan input, from the request's one search per input (made here in
    the scheduler, so the worker searches nothing); None when the search fails (synthetic samples)."""
    import shapely

    from eobatch.collections.request_scenes import tile_scenes
    from eobatch.errors import EobatchError
    from eobatch.processing.aoi import search_area
    from eobatch.processing.grid import TargetGrid

    where = search_area(shapely.from_wkb(task.area_wgs84_wkb), TargetGrid.of(task.pixel_grid))
    try:
        return tile_scenes(task.request_id, plan.inputs, registry, request_area, where)
    except EobatchError as exc:
        log.warning("analysis of %s: no scene search for the sample: %s", task.request_id, exc.message)
        return None


def where(task: Any) -> str:
    """The sample window in words a user can find: its tile, upper-left corner and size."""
    x, y = task.pixel_grid.transform @ (0, 0)
    grid = task.pixel_grid
    return (
        f"found on the request's data: the {grid.width} x {grid.height} px window at x={x:.0f}, y={y:.0f} "
        f"(EPSG:{grid.epsg}) of tile {task.tile.name}"
    )
