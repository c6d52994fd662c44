"""Small geometry helpers: cached pyproj transformers, projecting shapely geometries, the antimeridian."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

WGS84 = 4326
SEGMENT_DEG = 0.01  # longest straight edge (degrees) kept when a lon/lat area is projected
WORLD = shapely.box(-180.0, -90.0, 180.0, 90.0)


@lru_cache(maxsize=512)
def transformer(src: pyproj.CRS | int, dst: pyproj.CRS | int) -> pyproj.Transformer:
    """An always_xy transformer (lon/lat order for geographic CRSs), cached per CRS pair."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def transform(geom: BaseGeometry, src: pyproj.CRS | int, dst: pyproj.CRS | int) -> BaseGeometry:
    """`geom` with every vertex transformed from `src` to `dst` (no densifying)."""
    if src == dst:
        return geom
    t = transformer(src, dst)
    return shapely.transform(geom, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def project_lonlat(geom: BaseGeometry, epsg: int) -> BaseGeometry:
    """A lon/lat geometry in EPSG:`epsg`, densified first so its edges stay straight in lon/lat."""
    if epsg == WGS84:
        return geom
    return transform(shapely.segmentize(geom, SEGMENT_DEG), WGS84, epsg)


def wrap_longitudes(geom: BaseGeometry) -> BaseGeometry:
    """A lon/lat geometry whose longitudes may run past +-180 (up to +-540), cut and moved into -180..180."""
    minx, _, maxx, _ = geom.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return geom
    pieces = []
    for k in (-1, 0, 1):
        window = shapely.box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0)
        piece = shapely.intersection(geom, window)
        if not piece.is_empty:
            pieces.append(shapely.transform(piece, lambda c, k=k: c - np.array([360.0 * k, 0.0])))
    return polygonal(shapely.union_all(pieces))


def split_antimeridian(ring_lonlat: BaseGeometry) -> BaseGeometry:
    """A lon/lat polygon that jumps across +-180 (vertices on both sides) as a MultiPolygon cut at 180."""
    minx, _, maxx, _ = ring_lonlat.bounds
    if maxx - minx <= 180.0:
        return ring_lonlat
    unwrapped = shapely.transform(
        ring_lonlat, lambda c: np.column_stack([np.where(c[:, 0] < 0, c[:, 0] + 360, c[:, 0]), c[:, 1]])
    )
    return wrap_longitudes(unwrapped)


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygon parts of `geom` (drops lines and points left by intersections)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def as_geojson(geom: BaseGeometry) -> dict:
    """The geometry as a GeoJSON object made of lists only (JSON columns and plans store it as is)."""
    from shapely.geometry import mapping

    return _lists(mapping(geom))


def as_geojson_many(geoms: Sequence[BaseGeometry]) -> list[dict]:
    """`as_geojson` of every geometry, the same dicts; polygons without holes (a grid's footprints) are
    converted in vectorised batches of equal vertex count instead of one `mapping` each."""
    geoms = np.asarray(geoms, dtype=object)
    result: list[dict | None] = [None] * len(geoms)
    simple = (shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    simple &= ~shapely.has_z(geoms)
    counts = shapely.get_num_coordinates(geoms)
    for n in np.unique(counts[simple]).tolist():
        index = np.flatnonzero(simple & (counts == n))
        rings = shapely.get_coordinates(geoms[index]).reshape(len(index), 1, n, 2)  # no holes: the exterior
        for k, coordinates in zip(index.tolist(), rings.tolist(), strict=True):
            result[k] = {"type": "Polygon", "coordinates": coordinates}
    for k in np.flatnonzero(~simple).tolist():
        result[k] = as_geojson(geoms[k])
    return result  # type: ignore[return-value]


def geojson_texts(geoms: Sequence[BaseGeometry]) -> list[str]:
    """`json.dumps(as_geojson(g))` of every geometry, the same text (a JSON column stores exactly that);
    polygons without holes and with finite coordinates are formatted from their coordinate arrays in
    batches of equal vertex count, each float by `float.__repr__` as `json.dumps` writes it."""
    geoms = np.asarray(geoms, dtype=object)
    result: list[str | None] = [None] * len(geoms)
    simple = (shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    simple &= ~shapely.has_z(geoms)
    counts = shapely.get_num_coordinates(geoms)
    for n in np.unique(counts[simple]).tolist():
        index = np.flatnonzero(simple & (counts == n))
        flat = shapely.get_coordinates(geoms[index]).reshape(len(index), 2 * n)  # no holes: the exterior
        for k, text in zip(index.tolist(), ring_texts(flat), strict=True):
            result[k] = text
    for k, text in enumerate(result):
        if text is None:
            result[k] = json.dumps(as_geojson(geoms[k]))
    return result  # type: ignore[return-value]


def ring_texts(flat: np.ndarray, skip: np.ndarray | None = None) -> list[str | None]:
    """The GeoJSON text of a Polygon without holes for each row of `flat` (its exterior ring's x, y, x, y,
    ...), as `json.dumps(as_geojson(polygon))` writes it: each float by `float.__repr__`. None for the rows
    `skip` names and those with a non-finite value (json.dumps writes NaN and Infinity, not nan and inf)."""
    result: list[str | None] = [None] * len(flat)
    keep = np.isfinite(flat).all(axis=1)
    if skip is not None:
        keep &= ~skip
    index, flat = np.flatnonzero(keep), flat[keep]
    width = flat.shape[1]
    template = '{"type": "Polygon", "coordinates": [[' + ", ".join(["[%s, %s]"] * (width // 2)) + "]]}"
    texts = iter(_reprs(flat.ravel()).tolist())
    for k, values in zip(index.tolist(), zip(*[texts] * width, strict=True), strict=True):
        result[k] = template % values
    return result


def _reprs(values: np.ndarray) -> np.ndarray:
    """`float.__repr__` of every float64, as an object array; each distinct value (by its bits: 0.0 and
    -0.0 apart) is formatted once, since neighbouring tiles share their corners."""
    distinct, inverse = np.unique(np.ascontiguousarray(values).view(np.uint64), return_inverse=True)
    return np.array(list(map(float.__repr__, distinct.view(np.float64).tolist())), dtype=object)[inverse]


def _lists(value):
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value
