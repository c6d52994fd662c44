"""GeoPackage feature input (v2 `input.type = "geopackage"`): read, validate, turn features into tiles.

Each feature table row becomes one output tile named by its `identifier` (batch-api.md §4.3):
columns `id` (INTEGER, unique), `identifier` (TEXT, unique), a POLYGON/MULTIPOLYGON geometry in an
EPSG CRS, and either `width` + `height` (INTEGER, pixels) or `resolution` (REAL, CRS units);
width/height take precedence. At most 700 000 features and 3500 x 3500 px per feature.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import affine
import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from eobatch.domain.plan import FeatureDefaults
from eobatch.errors import BadRequest, Violation
from eobatch.grids.model import NO_GRID_ID, GridTile, PixelGrid

MAX_FEATURES = 700_000
MAX_FEATURE_PX = 3500
GEOPACKAGE_GRID_ID = NO_GRID_ID  # `GridTile.grid_id` of a tile made from a GeoPackage feature
PARAMETER = "input.features"
REQUIRED_COLUMNS = ("id", "identifier")


@dataclass(frozen=True)
class Feature:
    """One validated feature: its output raster covers the geometry's bounds at width x height pixels."""

    id: int
    identifier: str
    epsg: int
    geometry: BaseGeometry  # in EPSG:epsg
    width: int
    height: int


def read_feature_geopackage(
    source: bytes | str | Path,
    *,
    defaults: FeatureDefaults | None = None,
    max_features: int = MAX_FEATURES,
    max_px: int = MAX_FEATURE_PX,
) -> list[Feature]:
    """Every feature of every table in the GeoPackage, validated; BadRequest naming the first problem.

    `defaults` (width and height, or a resolution) fills in features whose row has neither.
    """
    if isinstance(source, bytes | bytearray):
        if not bytes(source[:16]).startswith(b"SQLite format 3"):
            raise _bad("is not a GeoPackage (an SQLite file starting with 'SQLite format 3')")
        with tempfile.TemporaryDirectory(prefix="eobatch-features-") as folder:
            path = Path(folder) / "features.gpkg"  # GDAL wants the .gpkg extension
            path.write_bytes(bytes(source))
            return read_feature_geopackage(path, defaults=defaults, max_features=max_features, max_px=max_px)
    layers = _layers(source)
    if not layers:
        raise _bad(
            "the GeoPackage has no feature table; expected one with id, identifier, geometry and "
            "width/height or resolution columns"
        )
    infos = {layer: pyogrio.read_info(source, layer=layer, force_feature_count=True) for layer in layers}
    total = sum(int(info["features"]) for info in infos.values())
    if total > max_features:
        raise _bad(f"the GeoPackage has {total} features; at most {max_features} are allowed")
    features = [f for layer, info in infos.items() for f in _read_layer(source, layer, info, defaults, max_px)]
    if not features:
        raise _bad("the GeoPackage's feature tables are empty; at least one feature is required")
    _check_unique(features)
    return features


def _layers(source: bytes | str | Path) -> list[str]:
    try:
        listed = pyogrio.list_layers(source)
    except Exception as exc:  # GDAL cannot open it
        raise _bad(f"cannot be read as a GeoPackage: {exc}") from exc
    return [str(name) for name, geometry_type in listed if geometry_type is not None]


def _read_layer(
    source: bytes | str | Path, layer: str, info: dict[str, Any], defaults: FeatureDefaults | None, max_px: int
) -> list[Feature]:
    columns = [str(c) for c in info["fields"]]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise _bad(
            f"table {layer!r} lacks the column(s) {', '.join(missing)}; required: id INTEGER UNIQUE, "
            f"identifier TEXT UNIQUE, a geometry and width+height (INTEGER) or resolution (REAL); "
            f"found: {', '.join(columns) or 'none'}"
        )
    has_size = "width" in columns and "height" in columns
    if not has_size and "resolution" not in columns and not defaults:
        raise _bad(
            f"table {layer!r} needs width and height (INTEGER) or resolution (REAL) columns; "
            f"found: {', '.join(columns)}"
        )
    epsg = _epsg(info.get("crs"), layer)
    wanted = [c for c in ("id", "identifier", "width", "height", "resolution") if c in columns]
    _meta, _fids, wkb, values = pyogrio.raw.read(source, layer=layer, columns=wanted)[:4]
    data = dict(zip(wanted, values, strict=True))
    geometries = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    return [_feature(layer, i, data, geometries[i], epsg, defaults, max_px) for i in range(len(geometries))]


def _epsg(crs_text: str | None, layer: str) -> int:
    if not crs_text:
        raise _bad(f"table {layer!r} has no CRS; the geometry must be in an EPSG CRS")
    epsg = CRS.from_user_input(crs_text).to_epsg()
    if epsg is None:
        raise _bad(f"table {layer!r} has CRS {crs_text!r}, which is not an EPSG CRS; use an EPSG code")
    return int(epsg)


def _feature(
    layer: str,
    row: int,
    data: dict[str, np.ndarray],
    geometry: Any,
    epsg: int,
    defaults: FeatureDefaults | None,
    max_px: int,
) -> Feature:
    where = f"table {layer!r} row {row + 1}"
    raw_id = data["id"][row]
    if raw_id is None or (isinstance(raw_id, float) and not raw_id.is_integer()):
        raise _bad(f"{where}: id must be an integer, got {raw_id!r}")
    identifier = data["identifier"][row]
    if not isinstance(identifier, str) or not identifier.strip():
        raise _bad(f"{where}: identifier must be a non-empty text, got {identifier!r}")
    if "/" in identifier or identifier in (".", ".."):
        raise _bad(f"{where}: identifier {identifier!r} cannot be used in an output path (no '/', '.', '..')")
    if geometry is None or geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        kind = None if geometry is None else geometry.geom_type
        raise _bad(f"{where} ({identifier}): geometry must be a non-empty POLYGON or MULTIPOLYGON, got {kind}")
    width, height = _size(where, identifier, data, row, geometry, defaults)
    if not (1 <= width <= max_px and 1 <= height <= max_px):
        raise _bad(
            f"{where} ({identifier}): output size {width} x {height} px is not allowed; "
            f"each side must be 1 to {max_px} px"
        )
    return Feature(int(raw_id), identifier, epsg, geometry, width, height)


def _size(
    where: str,
    identifier: str,
    data: dict[str, np.ndarray],
    row: int,
    geometry: BaseGeometry,
    defaults: FeatureDefaults | None,
) -> tuple[int, int]:
    width = _number(data, "width", row)
    height = _number(data, "height", row)
    if width is not None and height is not None:
        return int(width), int(height)
    resolution = _number(data, "resolution", row)
    defaults = defaults or FeatureDefaults()
    if resolution is None and defaults.width and defaults.height:
        return int(defaults.width), int(defaults.height)
    if resolution is None:
        resolution = defaults.resolution
    if resolution is None or not resolution > 0:
        raise _bad(f"{where} ({identifier}): give width and height, or a positive resolution")
    minx, miny, maxx, maxy = geometry.bounds
    return max(1, math.ceil((maxx - minx) / resolution - 1e-9)), max(1, math.ceil((maxy - miny) / resolution - 1e-9))


def _number(data: dict[str, np.ndarray], column: str, row: int) -> float | None:
    if column not in data:
        return None
    value = data[column][row]
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    return float(value)


def _check_unique(features: list[Feature]) -> None:
    seen_ids: set[int] = set()
    seen_names: set[str] = set()
    for f in features:
        if f.id in seen_ids:
            raise _bad(f"feature id {f.id} occurs more than once; ids must be unique")
        if f.identifier in seen_names:
            raise _bad(f"feature identifier {f.identifier!r} occurs more than once; identifiers must be unique")
        seen_ids.add(f.id)
        seen_names.add(f.identifier)


def feature_pixel_grid(feature: Feature) -> PixelGrid:
    """The output raster of a feature: its geometry's bounds split into width x height pixels."""
    minx, miny, maxx, maxy = feature.geometry.bounds
    res_x = (maxx - minx) / feature.width
    res_y = (maxy - miny) / feature.height
    return PixelGrid(feature.epsg, affine.Affine(res_x, 0.0, minx, 0.0, -res_y, maxy), feature.width, feature.height)


def feature_tiles(features: list[Feature]) -> list[tuple[GridTile, PixelGrid]]:
    """One (GridTile, PixelGrid) per feature, for the engine's analysis instead of grid tiles.

    The tile's `id` is the feature id, its `name` the identifier (`<tileName>` in output paths),
    `grid_id` is GEOPACKAGE_GRID_ID and `bounds` the geometry's bounds in the feature's CRS.
    """
    return [
        (GridTile(GEOPACKAGE_GRID_ID, f.id, f.identifier, f.epsg, tuple(f.geometry.bounds)), feature_pixel_grid(f))
        for f in features
    ]


def _bad(violation: str) -> BadRequest:
    return BadRequest(f"{PARAMETER}: {violation}", [Violation(PARAMETER, violation)])


def feature_footprint_wgs84(feature: Feature) -> BaseGeometry:
    """The feature's polygon in WGS84 (lon, lat), densified so long edges stay faithful."""
    if feature.epsg == 4326:
        return feature.geometry
    from eobatch.grids.geo import transform

    minx, miny, maxx, maxy = feature.geometry.bounds
    step = max(maxx - minx, maxy - miny) / 32 or 1.0
    return transform(shapely.segmentize(feature.geometry, step), feature.epsg, 4326)
