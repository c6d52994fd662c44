"""`process_tile`: search, read + warp, mosaic, evaluate, encode and write one tile.

Every stage is timed into `TileResult.timings`. Foreign errors are turned into `TileFailure`s here:
bad input (`BadRequest`, `EvalscriptError`) is not retryable, storage hiccups are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from eobatch.domain.plan import DEFAULT_JPEG_QUALITY, JSON, ZARR, DataInput, WriteFlags
from eobatch.errors import BadRequest, EobatchError, Forbidden, TileFailure
from eobatch.processing import mosaic
from eobatch.processing.aoi import aoi_mask, area_in_tile_crs, search_area
from eobatch.processing.assemble import ArrayAssembly, RasterAssembly, tile_folder
from eobatch.processing.blocks import Block, row_blocks
from eobatch.processing.cost import tile_cost
from eobatch.processing.encode import encode_json
from eobatch.processing.grid import TargetGrid
from eobatch.processing.memory import TileFootprint, block_rows
from eobatch.processing.runtime import runtime_for
from eobatch.processing.scene_reader import DEFAULT_BAND_WORKERS, SceneReader, band_plans
from eobatch.processing.task import TIMING_KEYS, TileResult, TileTask
from eobatch.storage import ObjectStorage, S3Credentials, render_tile_path
from eobatch.threads import tile_threads

log = logging.getLogger(__name__)
ENCODE_WORKERS = 2  # outputs are compressed concurrently (GDAL releases the GIL), within the tile's threads


@dataclass
class _Input:
    """One evalscript input bound to its request `input.data[]` entry and collection."""

    spec: object  # evalscript.InputSpec
    source: DataInput
    collection: object
    scenes: list  # collections.Scene, in mosaicking order, after the script's filter


@dataclass
class _Target:
    output_id: str
    fmt: str
    url: str
    quality: int = DEFAULT_JPEG_QUALITY


class _Clock:
    def __init__(self) -> None:
        self.timings = dict.fromkeys(TIMING_KEYS, 0.0)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] += time.perf_counter() - started


def process_tile(task: TileTask) -> TileResult:
    """Process one tile with this process's cached evalscript engine and collection registry."""
    runtime = runtime_for(task.settings)
    from eobatch.collections.batch import with_batch_inputs

    registry = with_batch_inputs(runtime.registry, task.plan.inputs, task.settings)  # batch-<id> inputs
    return run_tile(task, engine=runtime.engine, registry=registry)


def run_tile(
    task: TileTask,
    *,
    engine,
    registry,
    storage: ObjectStorage | None = None,
    band_workers: int = DEFAULT_BAND_WORKERS,
    block_rows: int | None = None,
) -> TileResult:
    """`process_tile` with its collaborators passed in; `block_rows` fixes the rows per block (default:
    from the memory model, `processing.memory.block_rows`)."""
    try:
        return _run(task, engine, registry, storage, band_workers, block_rows)
    except TileFailure:
        raise
    except Forbidden as exc:
        raise TileFailure(exc.message, retryable=False) from exc
    except BadRequest as exc:  # includes EvalscriptError
        line = getattr(exc, "line", None)
        where = f" (line {line})" if line else ""
        raise TileFailure(f"{exc.message}{where}", retryable=False) from exc
    except EobatchError as exc:
        raise TileFailure(exc.message, retryable=True) from exc


def _run(
    task: TileTask, engine, registry, storage: ObjectStorage | None, band_workers: int, rows: int | None
) -> TileResult:
    clock = _Clock()
    grid = TargetGrid.of(task.pixel_grid)
    storage = storage or ObjectStorage(task.settings, write_keys(task))

    with engine.load(task.plan.evalscript) as script:
        result = _process(task, script, registry, storage, grid, clock, band_workers, rows)
        result.evaluation = script.evaluation
        log.debug("tile %s of %s: evaluatePixel ran %s", task.tile, task.request_id, result.evaluation)
        return result


def write_keys(task: TileTask) -> S3Credentials | None:
    """The key pair the plan's destinations write with (None: the service's own keys)."""
    keys = task.credentials.get(task.plan.delivery.credentials) if task.plan.delivery.credentials else None
    return S3Credentials(keys.access_key, keys.secret_key, keys.region) if keys else None


def _process(task, script, registry, storage, grid, clock, band_workers, rows) -> TileResult:
    plan = task.plan
    zarr = plan.zarr is not None
    targets = _zarr_targets(task) if zarr else _targets(task)
    skipped = False if zarr else _check_existing(storage, targets, plan.write, retry=task.attempt > 1)
    if skipped:
        return TileResult(0, [t.url for t in targets], 0, False, 0.0, clock.timings, skipped=True)

    with clock.stage("search"):
        area = shapely.from_wkb(task.area_wgs84_wkb)
        area_tile = area_in_tile_crs(area, task.tile, on_grid=plan.grid is not None)
        inputs = _find_scenes(script, plan.inputs, registry, area, grid, task.scenes)
    outputs = script.update_output({i.spec.datasource: _sample_count(i) for i in inputs})
    specs = {o.id: o for o in outputs}
    for target in targets:
        if target.fmt != JSON and target.output_id not in specs:
            raise TileFailure(f"The evalscript returned no values for output {target.output_id!r}", False)
    sample_counts = [1 if i.spec.mosaicking == "SIMPLE" else _sample_count(i) for i in inputs]
    footprint = TileFootprint(
        grid.width,
        grid.height,
        sum(len(set(i.spec.bands) | {mosaic.DATA_MASK}) for i in inputs),
        max([1, *sample_counts]),
        sum(o.bands for o in outputs),
    )
    if rows is None:
        rows = grid.height if _needs_whole_tile(inputs) else block_rows(footprint)
    work = grid.width * grid.height * footprint.samples

    with tile_folder() as folder:
        assemblies = _assemblies(Path(folder), targets, specs, grid, plan.cog, zarr)
        try:
            run = _BlockRun(task, script, inputs, area_tile, assemblies, specs, work, clock, band_workers)
            no_data = all([run.process(block) for block in row_blocks(grid, rows)])
            userdata = script.output_metadata() if any(t.fmt == JSON for t in targets) else None
            if zarr:
                with clock.stage("write"):
                    written = _write_zarr(task, {o: a.array for o, a in assemblies.items()})
            else:
                with clock.stage("encode"):
                    files = _finish(targets, assemblies, userdata)
                with clock.stage("write"):
                    written = _write_all(storage, files)
        finally:
            for assembly in assemblies.values():
                assembly.close()

    float32 = any(specs[t.output_id].sample_type.upper() == "FLOAT32" for t in targets if t.fmt != JSON)
    cost = tile_cost(grid.width, grid.height, [i.spec for i in inputs], sample_counts, float32)
    scene_count = sum(len(i.scenes) for i in inputs)
    return TileResult(
        written, [t.url for t in targets], scene_count, no_data, cost, clock.timings, scene_ids=_scene_ids(inputs)
    )


@dataclass
class _BlockRun:
    """What every row block of a tile shares."""

    task: TileTask
    script: object  # evalscript.Evalscript
    inputs: list[_Input]
    area_tile: object  # the area's part in the tile's CRS
    assemblies: dict  # output id -> RasterAssembly | ArrayAssembly
    specs: dict  # output id -> OutputSpec
    work: int  # pixel-samples of the whole tile
    clock: _Clock
    band_workers: int

    def process(self, block: Block) -> bool:
        """Read, mosaic, evaluate and stage one row block; True when it has no data at all."""
        clock = self.clock
        with clock.stage("search"):
            aoi = aoi_mask(self.area_tile, block.grid)
        samples, infos, read_s, mosaic_s = _read_and_mosaic(self.inputs, aoi, block.grid, self.task, self.band_workers)
        clock.timings["read"] += read_s
        clock.timings["mosaic"] += mosaic_s
        del aoi
        no_data = not any(float(s[mosaic.DATA_MASK].max(initial=0)) > 0 for ss in samples.values() for s in ss)
        with clock.stage("evaluate"):
            values = self.script.evaluate(samples, infos, block.grid.shape, work=self.work, row0=block.row0)
            del samples  # the inputs are no longer needed: free them before encoding
            typed = {}
            for output_id in self.assemblies:
                if output_id not in values:
                    raise TileFailure(f"The evalscript returned no values for output {output_id!r}", False)
                typed[output_id] = typed_output(values.pop(output_id), self.specs[output_id].sample_type)
            del values
        with clock.stage("encode"):
            for output_id, assembly in self.assemblies.items():
                assembly.write(block.row0, typed.pop(output_id))
        return no_data


def _assemblies(folder: Path, targets: list[_Target], specs, grid: TargetGrid, cog, zarr: bool) -> dict:
    """One assembly per raster output (by output id): staged on disk, or in memory for Zarr."""
    assemblies: dict[str, RasterAssembly | ArrayAssembly] = {}
    for n, target in enumerate(targets):
        if target.fmt == JSON or target.output_id in assemblies:
            continue
        if zarr:
            assemblies[target.output_id] = ArrayAssembly(grid)
            continue
        spec = specs[target.output_id]
        assemblies[target.output_id] = RasterAssembly(
            folder, f"out{n}", target.fmt, grid, nodata=spec.nodata_value, cog=cog, quality=target.quality
        )
    return assemblies


def _finish(targets: list[_Target], assemblies: dict, userdata) -> list[tuple[str, bytes | Path]]:
    """The files of every target: the assembled rasters converted (concurrently), the userdata JSON."""

    def finish(target: _Target) -> list[tuple[str, bytes | Path]]:
        if target.fmt == JSON:
            return [(target.url, encode_json(userdata))]
        return list(assemblies[target.output_id].finish(target.url))

    workers = min(ENCODE_WORKERS, tile_threads(), len(targets))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            encoded = list(pool.map(finish, targets))
    else:
        encoded = [finish(t) for t in targets]
    return [file for target_files in encoded for file in target_files]


def _needs_whole_tile(inputs: list[_Input]) -> bool:
    """A Sentinel-1 speckle filter looks at neighbouring pixels: such a tile is one block."""
    from eobatch.collections.options import parse_sar_processing

    for item in inputs:
        traits = getattr(item.collection, "traits", None)
        sar = getattr(traits, "family", "optical") == "sar"
        if sar and parse_sar_processing(item.source.resampling()).speckle_window is not None:
            return True
    return False


def _scene_ids(inputs: list[_Input]) -> list[str]:
    """The ids of the scenes the tile was made from (each input's, in mosaicking order)."""
    return [scene.id for item in inputs for scene in item.scenes]


def typed_output(values: np.ndarray, sample_type: str, rows: int = 256) -> np.ndarray:
    """`to_sample_type` applied in blocks of rows, so its float64 temporaries stay small."""
    from eobatch.evalscript import to_sample_type

    values = np.asarray(values)
    first = to_sample_type(values[:, :rows], sample_type)
    out = np.empty(values.shape, dtype=first.dtype)
    out[:, :rows] = first
    for r0 in range(rows, values.shape[1], rows):
        out[:, r0 : r0 + rows] = to_sample_type(values[:, r0 : r0 + rows], sample_type)
    return out


def _sample_count(item: _Input) -> int:
    """How many samples an input will have: one per UTC day for ORBIT, else one per scene."""
    from eobatch.collections.scene import group_by_day

    if item.spec.mosaicking == "ORBIT":
        return len(group_by_day(item.scenes))
    return len(item.scenes)


def _targets(task: TileTask) -> list[_Target]:
    return [
        _Target(
            output.id,
            output.format,
            render_tile_path(
                output.destination.path,
                request_id=task.request_id,
                tile_name=str(task.tile.name),
                tile_id=task.tile.id,
                output_id=output.id,
                fmt=output.extension,
            ),
            output.quality,
        )
        for output in task.plan.outputs
    ]


def _zarr_targets(task: TileTask) -> list[_Target]:
    """One target per output: the array `<group>/<identifier>` of the request's Zarr group."""
    from eobatch.artifacts.zarr_output import zarr_group_url

    return [_Target(o.id, ZARR, zarr_group_url(o.destination.path, task.request_id)) for o in task.plan.outputs]


def _write_zarr(task: TileTask, typed: dict[str, np.ndarray]) -> int:
    """Write each single-band output into its array's block (the group was created at analysis); returns
    the bytes of the blocks before compression. Tiles never share a chunk, so no locking is needed."""
    from eobatch.artifacts.zarr_output import ZarrOutput, zarr_group_url, zarr_store

    url = zarr_group_url(task.plan.delivery.path, task.request_id)
    try:
        group = ZarrOutput.open(zarr_store(url, task.settings, write_keys(task)))
    except Exception as exc:
        raise TileFailure(
            f"Cannot open the Zarr group at {url} (created at analysis): {type(exc).__name__}: {exc}", retryable=True
        ) from exc
    written = 0
    for name, values in typed.items():
        if values.shape[0] != 1:
            raise TileFailure(
                f"Zarr output {name!r} must have exactly one band, the evalscript gives {values.shape[0]}",
                retryable=False,
            )
        block = values[0].astype(group.group[name].dtype, copy=False)
        group.write_tile(name, tuple(task.tile.bounds), block)
        written += block.nbytes
    return written


def _check_existing(storage: ObjectStorage, targets: list[_Target], out: WriteFlags, *, retry: bool) -> bool:
    """True when the tile is to be skipped; TileFailure when existing files may not be overwritten.

    On a `retry` of the tile, files already present are the earlier attempt's own (it passed this check
    before writing, then was interrupted), so they are replaced rather than refused.
    """
    if out.overwrite and not out.skip_existing:
        return False
    existing = [t.url for t in targets if storage.exists(t.url)]
    if out.skip_existing and existing and len(existing) == len(targets):
        return True
    if existing and not out.overwrite and not retry:
        raise TileFailure(
            f"Output file(s) already exist: {', '.join(existing)}; set output.overwrite to replace them"
            + (" (skipExisting skips a tile only when all of its outputs exist)" if out.skip_existing else ""),
            retryable=False,
        )
    return False


def _find_scenes(script, sources: tuple[DataInput, ...], registry, area, grid: TargetGrid, given=None) -> list[_Input]:
    """Each script input's scenes in mosaicking order: `given` (the request's single search, one tuple per
    plan input) when the task carries them, else a search of the collection."""
    from eobatch.collections.scene import order_scenes
    from eobatch.evalscript import SceneInfo

    where = search_area(area, grid)
    bound: list[_Input] = []
    for spec in script.setup.inputs:
        source = _source_for(spec.datasource, sources)
        collection = registry.get(source.type)
        collection.check_bands([b for b in spec.bands if b != mosaic.DATA_MASK])
        start, end = source.time_from, source.time_to
        if given is not None:
            found = list(given[sources.index(source)])
        else:
            found = [] if where.is_empty else collection.search(where, start, end, source.max_cloud_coverage)
        ordered = order_scenes(found, source.mosaicking_order)
        infos = [_scene_info(s, SceneInfo) for s in ordered]
        kept_ids = [i.id for i in script.filter_scenes(spec.datasource, infos, start, end)]
        by_id = {s.id: s for s in ordered}
        kept = [by_id[i] for i in kept_ids if i in by_id]
        bound.append(_Input(spec, source, collection, kept))
    return bound


def _source_for(datasource: str | None, sources: tuple[DataInput, ...]) -> DataInput:
    if datasource is None or (len(sources) == 1 and not sources[0].id):
        return sources[0]
    for n, source in enumerate(sources):
        if source.id == datasource or (source.id is None and str(n) == datasource):
            return source
    ids = [s.id for s in sources]
    raise BadRequest(
        f"The evalscript input datasource {datasource!r} matches no processRequest.input.data[].id; ids: {ids}"
    )


def _scene_info(scene, scene_info_cls):
    paths = list(scene.assets.values())
    data_path = paths[0].rsplit("/", 1)[0] if paths else ""
    return scene_info_cls(scene.id, scene.datetime, scene.cloud_cover, data_path, scene.id)


def _read_and_mosaic(inputs: list[_Input], aoi: np.ndarray, grid: TargetGrid, task: TileTask, band_workers: int):
    from eobatch.collections.scene import group_by_day

    samples: dict[str | None, list[dict[str, np.ndarray]]] = {}
    infos: dict[str | None, list] = {}
    read_s = total_s = 0.0
    for item in inputs:
        started = time.perf_counter()
        spec = item.spec
        harmonize = item.source.harmonize
        reader = SceneReader(
            item.collection,
            band_plans(item.collection, spec.bands, spec.units, harmonize),
            grid,
            task.settings,
            item.source.resampling(),
            harmonize,
            band_workers,
        )
        names = [b for b in spec.bands if b != mosaic.DATA_MASK]
        fill = getattr(getattr(item.collection, "traits", None), "nodata_fill", 0.0)  # NaN on Landsat
        if spec.mosaicking == "SIMPLE":
            samples[spec.datasource] = [mosaic.first_valid(item.scenes, reader, aoi, names, fill=fill)]
        elif spec.mosaicking == "ORBIT":
            days = [day for _, day in group_by_day(item.scenes)]
            samples[spec.datasource] = mosaic.per_day(days, reader, aoi, names, fill=fill)
        else:
            samples[spec.datasource] = mosaic.per_scene(item.scenes, reader, aoi, names, fill=fill)
        infos[spec.datasource] = [_scene_info(s, _scene_info_cls()) for s in item.scenes]
        read_s += reader.read_seconds
        total_s += time.perf_counter() - started
    return samples, infos, read_s, total_s - read_s


def _scene_info_cls():
    from eobatch.evalscript import SceneInfo

    return SceneInfo


def _write_all(storage: ObjectStorage, files: list[tuple[str, bytes | Path]]) -> int:
    """Put every file (bytes, or a finished file on disk, streamed); if one fails, remove the ones
    already written so the tile is all or nothing."""
    done: list[str] = []
    total = 0
    try:
        for url, data in files:
            total += _put(storage, url, data)
            done.append(url)
    except EobatchError:
        for url in done:
            with suppress(EobatchError):
                storage.delete(url)
        raise
    return total


def _put(storage, url: str, data: bytes | Path) -> int:
    """A file streams when the storage can (`ObjectStorage.put_file`); a store that takes only bytes (the
    Process API's in-memory one, for small windows) gets its content."""
    if not isinstance(data, Path):
        return storage.put(url, data)
    put_file = getattr(storage, "put_file", None)
    return put_file(url, data) if put_file is not None else storage.put(url, data.read_bytes())
