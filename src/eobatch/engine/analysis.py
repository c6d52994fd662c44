"""The default analysis of a request: its tiles, the evalscript check and the cost figures, from its plan.

Runs in a scheduler thread (the evalscript check in a confined worker, engine/sandbox.py); returns a
`store.work.AnalysisResult` or raises an `EobatchError`
(BadRequest, EvalscriptError) whose message becomes the request's `error`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely

from eobatch.domain import cost
from eobatch.domain.plan import BatchPlan, FeatureTiling, GridTiling
from eobatch.engine.estimate import CostInputs, estimate
from eobatch.engine.keys import plan_of, storage_keys
from eobatch.grids.geo import geojson_texts
from eobatch.grids.model import TileColumns
from eobatch.settings import Settings
from eobatch.store.work import AnalysisResult, PlannedTiles, RequestSnapshot

_REGISTRIES: dict[tuple, Any] = {}


def _registry(settings: Settings) -> Any:
    """The collection registry of these settings, built once per process (scene indexes are cached in it)."""
    from eobatch.collections import CollectionRegistry

    key = (str(settings.data_dir.resolve()), str(settings.collections_file))
    if key not in _REGISTRIES:
        _REGISTRIES[key] = CollectionRegistry.from_settings(settings)
    return _REGISTRIES[key]


def _check_formats(plan: BatchPlan, setup: Any) -> None:
    """Each raster output's format holds its evalscript output's sampleType and bands (PNG/JPEG limits, COG);
    Zarr outputs have their own checks at create."""
    from eobatch.processing.outputs import validate_output_formats

    if plan.zarr is None:
        validate_output_formats(plan.outputs, setup.outputs, cog_output=plan.cog is not None)


def analyse_request(request: RequestSnapshot, settings: Settings) -> AnalysisResult:
    """Enumerate tiles, validate the evalscript against the collections' bands, estimate the cost.

    v2 requests: a GeoPackage input gives one tile per feature instead of grid tiles; at the end the
    feature manifest is uploaded with the delivery credentials (the check that they may write there)
    and, for Zarr output, the Zarr group is created (see docs/v2.md, "Engine hooks").
    """
    from eobatch.collections.batch import with_batch_inputs
    from eobatch.engine.sample_window import first_sample
    from eobatch.engine.sandbox import validate_confined

    plan = plan_of(request)
    if plan.grid is None:  # one tile per GeoPackage feature
        feature_tiles, pixel_grids, footprints, geometries = _feature_tiles(request, plan, plan.features, settings)
        columns = TileColumns.of(feature_tiles)
        sizes = np.array([(p.width, p.height) for p in pixel_grids], dtype=np.int64).reshape(len(pixel_grids), 2)
    else:
        columns, sizes = _grid_tiles(plan, plan.grid, settings)
        feature_tiles, pixel_grids, footprints, geometries = None, None, None, None
    first_tiles = [columns.tile(0)] if len(columns) else []
    registry = with_batch_inputs(_registry(settings), plan.inputs, settings)  # batch-<id> inputs
    collections = {s.id: registry.get(s.type, i) for i, s in enumerate(plan.inputs)}
    band_lookup: dict[str | None, set[str]] = {key: set(c.bands) for key, c in collections.items()}
    if len(plan.inputs) == 1:
        band_lookup[None] = set(next(iter(collections.values())).bands)
    first = plan.inputs[0]
    sample = first_sample(
        request.id,
        request.account_id,
        plan,
        first_tiles,
        pixel_grids if pixel_grids is not None else _pixel_grids(plan, first_tiles),  # the first is read
        footprints if footprints is not None else [],  # only GeoPackage features read theirs
        settings,
        registry=registry,
        request_area=_request_area(plan, footprints),
    )
    # the footprints, their GeoJSON and scene counts meanwhile (the check mostly waits on its worker)
    with ThreadPoolExecutor(1, thread_name_prefix="eobatch-analysis-tiles") as helper:
        located = helper.submit(_located, request.id, collections, plan, columns, footprints)
        setup = validate_confined(  # in a confined worker process: never run user JavaScript here
            settings,
            plan.evalscript,
            list(plan.response_ids) or ["default"],
            band_lookup,
            time_range=(first.time_from, first.time_to),
            sample=sample,
        )
        _check_formats(plan, setup)
        geojson, scenes = located.result()

    bands = tuple(sorted({b for i in setup.inputs for b in i.bands}))
    inputs = CostInputs(
        bands=bands,
        float32=any(o.sample_type.upper() == "FLOAT32" for o in setup.outputs),
        fusion=cost.fusion_factor(len(plan.inputs)),
        mosaicking=setup.mosaicking,
        estimated_samples=cost.estimated_samples(setup.mosaicking, first.time_from, first.time_to),
    )
    figures = estimate(sizes, inputs, scenes)
    _check_memory(sizes, setup, scenes, settings)
    planned = PlannedTiles(
        columns.ids,
        columns.names,
        columns.epsgs.tolist(),
        *columns.bounds.T.tolist(),
        sizes[:, 0].tolist(),
        sizes[:, 1].tolist(),
        geojson,
        figures.tile_pu,
    )
    width = height = None
    if isinstance(plan.tiling, GridTiling):
        width = int(sizes[0, 0]) - 2 * plan.tiling.buffer_x if len(sizes) else 0
        height = int(sizes[0, 1]) - 2 * plan.tiling.buffer_y if len(sizes) else 0
    if request.is_v2:
        from eobatch.engine.v2_outputs import prepare_v2_outputs

        tiles = feature_tiles if feature_tiles is not None else columns.tiles()
        if pixel_grids is None:
            pixel_grids = _pixel_grids(plan, tiles)
        prepare_v2_outputs(request, settings, list(zip(tiles, pixel_grids, strict=True)), geometries)
    return AnalysisResult(
        tiles=planned,
        tile_width_px=width,
        tile_height_px=height,
        value_estimate=figures.value_estimate,
        cost_estimate=figures.cost_estimate,
    )


def _pixel_grids(plan: BatchPlan, tiles: list) -> list:
    """The pixel grids of grid tiles (the analysis itself needs only their sizes: `grids.pixel_sizes`)."""
    from eobatch import grids

    tiling = plan.tiling
    return grids.pixel_grids(tiles, tiling.resolution, tiling.buffer_x, tiling.buffer_y)


def _check_memory(sizes: np.ndarray, setup: Any, scenes: list[int], settings: Settings) -> None:
    """Refuse (BadRequest) a request whose largest tile cannot fit a worker's memory (processing/memory.py)."""
    from eobatch.processing.memory import check_tile_memory, footprint_of

    if len(sizes):
        width, height = sizes[int(np.argmax(sizes[:, 0] * sizes[:, 1]))].tolist()  # the first of the largest
        tile = footprint_of(width, height, setup, max(scenes, default=1))
        check_tile_memory(tile, settings.worker_memory_mb)


def _grid_tiles(plan: BatchPlan, tiling: GridTiling, settings: Settings) -> tuple[TileColumns, np.ndarray]:
    """The grid's tiles over the request's area (as columns) and their output sizes ((n, 2) px, buffer
    included, computed for all tiles at once)."""
    from shapely.geometry import shape

    from eobatch import grids

    area = shape(plan.area.geometry)
    columns = grids.tile_columns_for_area(tiling.grid_id, area, max_tiles=settings.max_tiles_per_request)
    return columns, grids.pixel_size_array(columns, tiling.resolution, tiling.buffer_x, tiling.buffer_y)


def _located(
    request_id: str, collections: dict, plan: BatchPlan, columns: TileColumns, footprints: list | None
) -> tuple[list[str], list[int]]:
    """The tiles' WGS84 footprints as the GeoJSON text stored with them, and their scene counts. Grid tiles'
    texts are formatted from their corners (grids.footprint_texts), and their footprints are made only for
    the tiles whose envelope meets the scenes found (the others have none)."""
    from eobatch import grids

    def footprints_at(index: np.ndarray) -> list:
        if footprints is None:
            return grids.footprints_wgs84(columns.take(index))
        return [footprints[k] for k in index.tolist()]

    if footprints is None:
        rings = grids.footprint_rings(columns)
        texts, envelopes = grids.footprint_texts(rings), grids.footprint_envelopes(rings)
    else:
        texts = geojson_texts(footprints)
        envelopes = shapely.bounds(np.asarray(footprints, dtype=object)).reshape(len(footprints), 4)
    area = _request_area(plan, footprints)
    return texts, _scene_counts(request_id, collections, plan, area, envelopes, footprints_at)


def _feature_tiles(
    request: RequestSnapshot, plan: BatchPlan, tiling: FeatureTiling, settings: Settings
) -> tuple[list, list, list, dict]:
    """One tile per GeoPackage feature (read again from the bucket with the input's credentials) that
    intersects the request's area, or every feature without one: tiles, pixel grids, WGS84 footprints
    and the features' own polygons by tile id (for the manifest)."""
    from shapely.geometry import shape

    from eobatch.artifacts import feature_tiles, read_feature_geopackage
    from eobatch.artifacts.features import feature_footprint_wgs84
    from eobatch.errors import BadRequest, EobatchError, NotFound
    from eobatch.storage import ObjectStorage

    try:
        data = ObjectStorage(settings, storage_keys(request, tiling.credentials)).get(tiling.url)
    except NotFound as exc:
        raise BadRequest(f"input.features: no GeoPackage at {tiling.url}: {exc.message}") from exc
    except EobatchError as exc:
        raise BadRequest(f"input.features: cannot read {tiling.url} with the given credentials: {exc.message}") from exc
    features = read_feature_geopackage(
        data, defaults=tiling.defaults, max_features=min(settings.max_tiles_per_request, 700_000)
    )
    footprints = [feature_footprint_wgs84(f) for f in features]
    if plan.area is not None:
        area = shape(plan.area.geometry)
        kept = [i for i, fp in enumerate(footprints) if fp.intersects(area)]
        if not kept:
            raise BadRequest("no GeoPackage feature intersects processRequest.input.bounds")
        features, footprints = [features[i] for i in kept], [footprints[i] for i in kept]
    pairs = feature_tiles(features)
    return ([t for t, _ in pairs], [p for _, p in pairs], footprints, {f.id: f.geometry for f in features})


def _request_area(plan: BatchPlan, footprints: list | None) -> Any:
    """The area searched once per input collection: the request's area, or its tiles' union (GeoPackage
    features: `footprints` is given)."""
    import shapely
    from shapely.geometry import shape

    if plan.grid is not None and plan.area is not None:
        return shape(plan.area.geometry)
    return shapely.union_all(footprints) if footprints else shapely.Polygon()


def _scene_counts(
    request_id: str,
    collections: dict,
    plan: BatchPlan,
    area: Any,
    envelopes: np.ndarray,
    footprints_at: Callable[[np.ndarray], list],
) -> list[int]:
    """For each tile, the most scenes any input collection holds over it in its time range: the request's
    one search per input (collections.request_scenes), then the footprints (`footprints_at` the tiles'
    positions) of the tiles whose `envelopes` meet the scenes found looked up in one query; the others
    hold none."""
    from eobatch.collections.request_scenes import request_index

    counts = np.zeros(len(envelopes), dtype=np.int64)
    if not len(envelopes):
        return []
    for index, source in enumerate(plan.inputs):
        scenes = request_index(request_id, index, source, collections[source.id], area)
        reached = np.flatnonzero(scenes.reach(envelopes))
        if reached.size:
            found = scenes.counts(footprints_at(reached), source.time_from, source.time_to, source.max_cloud_coverage)
            np.maximum(counts[reached], found, out=found)
            counts[reached] = found
    return counts.tolist()
