"""The default analysis of a request: tiles of the grid over the area, evalscript check, cost figures.

Runs in a scheduler thread; returns a `store.work.AnalysisResult` or raises an `EobatchError`
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
    rng = (source.get("dataFilter") or {}).get("timeRange") or {}
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


def analyse_request(request: RequestSnapshot, settings: Settings) -> AnalysisResult:
    """Enumerate tiles, validate the evalscript against the collections' bands, estimate the cost."""
    from eobatch import grids
    from eobatch.evalscript import validate_evalscript

    pr = request.process_request
    if request.grid_id is None or request.resolution is None:
        raise BadRequest("tilingGrid needs an id and a resolution")
    area = grids.area_from_bounds((pr.get("input") or {}).get("bounds") or {})
    grid_tiles = grids.tiles_for_area(request.grid_id, area, max_tiles=settings.max_tiles_per_request)
    registry = _registry(settings)
    sources = _inputs(pr)
    collections = {s.get("id"): registry.get(s.get("type", ""), i) for i, s in enumerate(sources)}
    band_lookup: dict[str | None, set[str]] = {key: set(c.bands) for key, c in collections.items()}
    if len(sources) == 1:
        band_lookup[None] = set(next(iter(collections.values())).bands)
    responses = [r.get("identifier", "default") for r in (pr.get("output") or {}).get("responses") or []]
    t_from, t_to = _time_range(sources[0])
    setup = validate_evalscript(pr.get("evalscript") or "", responses or ["default"], band_lookup,
                                time_range=(t_from, t_to))

    bands = tuple(sorted({b for i in setup.inputs for b in i.bands}))
    inputs = CostInputs(bands=bands, float32=any(o.sample_type.upper() == "FLOAT32" for o in setup.outputs),
                        fusion=cost.fusion_factor(len(sources)), mosaicking=setup.mosaicking,
                        estimated_samples=cost.estimated_samples(setup.mosaicking, t_from, t_to))
    pixel_grids = [grids.pixel_grid(t, request.resolution, request.buffer_x, request.buffer_y)
                   for t in grid_tiles]
    footprints = [grids.footprint_wgs84(t) for t in grid_tiles]
    scenes = [_scene_count(collections, sources, fp) for fp in footprints]
    figures = estimate([(p.width, p.height) for p in pixel_grids], inputs, scenes)
    planned = [
        PlannedTile(tile_id=t.id, name=t.name, epsg=t.epsg, bounds=tuple(t.bounds), width_px=p.width,
                    height_px=p.height, geometry=_geojson(fp), estimated_pu=pu)
        for t, p, fp, pu in zip(grid_tiles, pixel_grids, footprints, figures.tile_pu, strict=True)
    ]
    first = pixel_grids[0] if pixel_grids else None
    width = first.width - 2 * request.buffer_x if first else 0
    height = first.height - 2 * request.buffer_y if first else 0
    return AnalysisResult(tiles=planned, tile_width_px=width, tile_height_px=height,
                          value_estimate=figures.value_estimate, cost_estimate=figures.cost_estimate)


def _scene_count(collections: dict, sources: list[dict], footprint: Any) -> int:
    """The most scenes any input collection holds over the tile in its time range."""
    counts = []
    for source in sources:
        t_from, t_to = _time_range(source)
        max_cc = (source.get("dataFilter") or {}).get("maxCloudCoverage", 100.0)
        counts.append(len(collections[source.get("id")].search(footprint, t_from, t_to, max_cc)))
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
