"""The default analysis of a request: tiles of the grid over the area, evalscript check, cost figures.

Runs in a scheduler thread (the evalscript check in a confined worker, engine/sandbox.py); returns a
`store.work.AnalysisResult` or raises an `EobatchError`
(BadRequest, EvalscriptError) whose message becomes the request's `error`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eobatch.domain import cost
from eobatch.engine.estimate import CostInputs, estimate
from eobatch.errors import BadRequest
from eobatch.settings import Settings
from eobatch.store.work import AnalysisResult, PlannedTile, RequestSnapshot


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _inputs(process_request: dict[str, Any]) -> list[dict[str, Any]]:
    data = (process_request.get("input") or {}).get("data") or []
    if not data:
        raise BadRequest("processRequest.input.data must name at least one collection")
    return data


def _time_range(source: dict[str, Any]) -> tuple[datetime, datetime]:
    """The source's timeRange; a static collection (DEM) may omit it, which means any time."""
    rng = (source.get("dataFilter") or {}).get("timeRange") or {}
    if not rng:
        rng = {"from": "1970-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    try:
        return _time(rng["from"]), _time(rng["to"])
    except (KeyError, ValueError) as exc:
        raise BadRequest(f"input.data[].dataFilter.timeRange needs ISO 'from' and 'to', got {rng!r}") from exc


_REGISTRIES: dict[tuple, Any] = {}


def _registry(settings: Settings) -> Any:
    """The collection registry of these settings, built once per process (scene indexes are cached in it)."""
    from eobatch.collections import CollectionRegistry

    key = (str(settings.data_dir.resolve()), str(settings.collections_file))
    if key not in _REGISTRIES:
        _REGISTRIES[key] = CollectionRegistry.from_settings(settings)
    return _REGISTRIES[key]


def _check_formats(process_request: dict, setup: Any, output: dict) -> None:
    """Each raster response's format holds its output's sampleType and bands (PNG/JPEG limits, COG);
    Zarr outputs have their own checks at create."""
    from eobatch.processing.outputs import validate_output_formats
    from eobatch.processing.pipeline import is_zarr_output

    if is_zarr_output(output):
        return
    responses = (process_request.get("output") or {}).get("responses") or []
    validate_output_formats(responses, setup.outputs, cog_output=bool(output.get("cogOutput")))


def analyse_request(request: RequestSnapshot, settings: Settings) -> AnalysisResult:
    """Enumerate tiles, validate the evalscript against the collections' bands, estimate the cost.

    v2 requests: a GeoPackage input gives one tile per feature instead of grid tiles; at the end the
    feature manifest is uploaded with the delivery credentials (the check that they may write there)
    and, for Zarr output, the Zarr group is created (see docs/v2.md, "Engine hooks").
    """
    from eobatch.engine.sandbox import validate_confined

    pr = request.process_request
    if request.v2_input.get("type") == "geopackage":
        grid_tiles, pixel_grids, footprints, geometries = _feature_tiles(request, settings)
    else:
        grid_tiles, pixel_grids, footprints = _grid_tiles(request, settings)
        geometries = None
    registry = _registry(settings)
    sources = _inputs(pr)
    collections = {s.get("id"): registry.get(s.get("type", ""), i) for i, s in enumerate(sources)}
    band_lookup: dict[str | None, set[str]] = {key: set(c.bands) for key, c in collections.items()}
    if len(sources) == 1:
        band_lookup[None] = set(next(iter(collections.values())).bands)
    responses = [r.get("identifier", "default") for r in (pr.get("output") or {}).get("responses") or []]
    t_from, t_to = _time_range(sources[0])
    setup = validate_confined(  # in a confined worker process: never run user JavaScript here
        settings, pr.get("evalscript") or "", responses or ["default"], band_lookup, time_range=(t_from, t_to)
    )
    _check_formats(pr, setup, request.output or {})

    bands = tuple(sorted({b for i in setup.inputs for b in i.bands}))
    inputs = CostInputs(
        bands=bands,
        float32=any(o.sample_type.upper() == "FLOAT32" for o in setup.outputs),
        fusion=cost.fusion_factor(len(sources)),
        mosaicking=setup.mosaicking,
        estimated_samples=cost.estimated_samples(setup.mosaicking, t_from, t_to),
    )
    area = _request_area(request, footprints)
    scenes = [_scene_count(request.id, collections, sources, area, fp) for fp in footprints]
    figures = estimate([(p.width, p.height) for p in pixel_grids], inputs, scenes)
    _check_memory(pixel_grids, setup, scenes, settings)
    planned = [
        PlannedTile(
            tile_id=t.id,
            name=t.name,
            epsg=t.epsg,
            bounds=tuple(t.bounds),
            width_px=p.width,
            height_px=p.height,
            geometry=_geojson(fp),
            estimated_pu=pu,
        )
        for t, p, fp, pu in zip(grid_tiles, pixel_grids, footprints, figures.tile_pu, strict=True)
    ]
    width = height = None
    if geometries is None:
        first = pixel_grids[0] if pixel_grids else None
        width = first.width - 2 * request.buffer_x if first else 0
        height = first.height - 2 * request.buffer_y if first else 0
    if request.is_v2:
        from eobatch.engine.v2_outputs import prepare_v2_outputs

        prepare_v2_outputs(request, settings, list(zip(grid_tiles, pixel_grids, strict=True)), geometries)
    return AnalysisResult(
        tiles=planned,
        tile_width_px=width,
        tile_height_px=height,
        value_estimate=figures.value_estimate,
        cost_estimate=figures.cost_estimate,
    )


def _check_memory(pixel_grids: list, setup: Any, scenes: list[int], settings: Settings) -> None:
    """Refuse (BadRequest) a request whose largest tile cannot fit a worker's memory (processing/memory.py)."""
    from eobatch.processing.memory import check_tile_memory, footprint_of

    if pixel_grids:
        largest = max(pixel_grids, key=lambda p: p.width * p.height)
        tile = footprint_of(largest.width, largest.height, setup, max(scenes, default=1))
        check_tile_memory(tile, settings.worker_memory_mb)


def _grid_tiles(request: RequestSnapshot, settings: Settings) -> tuple[list, list, list]:
    """The grid's tiles over the request's bounds, their pixel grids and WGS84 footprints."""
    from eobatch import grids

    if request.grid_id is None or request.resolution is None:
        raise BadRequest("tilingGrid needs an id and a resolution")
    area = grids.area_from_bounds((request.process_request.get("input") or {}).get("bounds") or {})
    grid_tiles = grids.tiles_for_area(request.grid_id, area, max_tiles=settings.max_tiles_per_request)
    pixel_grids = [grids.pixel_grid(t, request.resolution, request.buffer_x, request.buffer_y) for t in grid_tiles]
    return grid_tiles, pixel_grids, [grids.footprint_wgs84(t) for t in grid_tiles]


def _feature_tiles(request: RequestSnapshot, settings: Settings) -> tuple[list, list, list, dict]:
    """One tile per GeoPackage feature (read again from the bucket with the input's credentials) that
    intersects the request's bounds, or every feature without bounds: tiles, pixel grids, WGS84
    footprints and the features' own polygons by tile id (for the manifest)."""
    from eobatch import grids
    from eobatch.artifacts import feature_tiles, read_feature_geopackage
    from eobatch.artifacts.features import feature_footprint_wgs84
    from eobatch.errors import EobatchError, NotFound
    from eobatch.storage import ObjectStorage

    source = request.v2_input
    url = (((source.get("features") or {}).get("s3")) or {}).get("url")
    if not url:
        raise BadRequest("input.features.s3.url is missing; a geopackage input needs the GeoPackage's URL")
    credentials = (request.delivery_credentials or {}).get("features")
    try:
        data = ObjectStorage(settings, credentials).get(url)
    except NotFound as exc:
        raise BadRequest(f"input.features: no GeoPackage at {url}: {exc.message}") from exc
    except EobatchError as exc:
        raise BadRequest(f"input.features: cannot read {url} with the given credentials: {exc.message}") from exc
    features = read_feature_geopackage(
        data, defaults=source.get("defaults"), max_features=min(settings.max_tiles_per_request, 700_000)
    )
    footprints = [feature_footprint_wgs84(f) for f in features]
    bounds = (request.process_request.get("input") or {}).get("bounds")
    if bounds:
        area = grids.area_from_bounds(bounds)
        kept = [i for i, fp in enumerate(footprints) if fp.intersects(area)]
        if not kept:
            raise BadRequest("no GeoPackage feature intersects processRequest.input.bounds")
        features, footprints = [features[i] for i in kept], [footprints[i] for i in kept]
    pairs = feature_tiles(features)
    return ([t for t, _ in pairs], [p for _, p in pairs], footprints, {f.id: f.geometry for f in features})


def _request_area(request: RequestSnapshot, footprints: list) -> Any:
    """The area searched once per input collection: the request's bounds, or its features' union."""
    import shapely

    from eobatch import grids

    bounds = (request.process_request.get("input") or {}).get("bounds")
    if request.grid_id is not None and bounds:
        return grids.area_from_bounds(bounds)
    return shapely.union_all(footprints) if footprints else shapely.Polygon()


def _scene_count(request_id: str, collections: dict, sources: list[dict], area: Any, footprint: Any) -> int:
    """The most scenes any input collection holds over the tile in its time range, looked up in the
    request's one search per input (collections.request_scenes)."""
    from eobatch.collections.request_scenes import input_filter, request_index

    counts = []
    for index, source in enumerate(sources):
        _time_range(source)  # the analysis' own check of the time range
        t_from, t_to, max_cc = input_filter(source)
        scenes = request_index(request_id, index, source, collections[source.get("id")], area)
        counts.append(len(scenes.search(footprint, t_from, t_to, max_cc)))
    return max(counts, default=0)


def _geojson(geometry: Any) -> dict[str, Any]:
    from shapely.geometry import mapping

    return _lists(mapping(geometry))


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value
