"""The area of interest of a request: `processRequest.input.bounds` turned into a lon/lat geometry.

`bounds` holds a `bbox` and/or a GeoJSON (Multi)Polygon `geometry` in the CRS named by
`properties.crs` (an OGC URL or URN; CRS84 when absent). With both, the area is their intersection.
Geographic CRSs are read in lon/lat order (EPSG:4326 included, as Sentinel Hub does). A geographic
bbox whose west edge is east of its east edge crosses the antimeridian; a polygon may run past +-180
(up to +-360). Both are cut at 180 and brought back into -180..180.
"""

from __future__ import annotations

import math
import re
from typing import NoReturn

import numpy as np
import pyproj
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from eobatch.errors import BadRequest, Violation
from eobatch.grids.geo import WGS84, polygonal, transform, transformer, wrap_longitudes

CRS84_URL = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_CRS_PATTERNS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/OGC/[0-9.]+/CRS84$"),
    re.compile(r"^urn:ogc:def:crs:OGC:[0-9.]*:CRS84$", re.IGNORECASE),
)
_EPSG_PATTERNS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$"),
    re.compile(r"^urn:ogc:def:crs:EPSG:[0-9.]*:(\d+)$", re.IGNORECASE),
)
MAX_UNWRAPPED_LON = 360.0
AREA_OF_USE_MARGIN = 10.0  # degrees around a projected CRS's area of use


def parse_crs(url: object, parameter: str = "processRequest.input.bounds.properties.crs") -> pyproj.CRS:
    """The CRS named by an OGC CRS URL or URN; `BadRequest` for anything else."""
    if isinstance(url, str):
        if any(p.match(url) for p in _CRS_PATTERNS):
            return pyproj.CRS.from_epsg(WGS84)
        for pattern in _EPSG_PATTERNS:
            match = pattern.match(url)
            if match:
                try:
                    return pyproj.CRS.from_epsg(int(match.group(1)))
                except pyproj.exceptions.CRSError:
                    break
    message = (
        f"Unknown CRS {url!r}; use an OGC CRS URL such as {CRS84_URL} or "
        "http://www.opengis.net/def/crs/EPSG/0/<code> with an EPSG code."
    )
    raise BadRequest(message, [Violation(parameter, message)])


def area_from_bounds(bounds: dict, parameter: str = "processRequest.input.bounds") -> BaseGeometry:
    """The area of `bounds` as a valid (Multi)Polygon in lon/lat, longitudes within -180..180."""
    if not isinstance(bounds, dict) or ("bbox" not in bounds and "geometry" not in bounds):
        _fail(parameter, "bounds must be an object with a 'bbox' and/or a 'geometry'.")
    properties = bounds.get("properties") or {}
    if not isinstance(properties, dict):
        _fail(f"{parameter}.properties", 'properties must be an object such as {"crs": "..."}.')
    crs = parse_crs(properties.get("crs", CRS84_URL), f"{parameter}.properties.crs")
    parts = []
    if bounds.get("bbox") is not None:
        parts.append(_bbox_area(bounds["bbox"], crs, f"{parameter}.bbox"))
    if bounds.get("geometry") is not None:
        parts.append(_geometry_area(bounds["geometry"], crs, f"{parameter}.geometry"))
    if not parts:
        _fail(parameter, "bounds must have a non-null 'bbox' or 'geometry'.")
    area = parts[0] if len(parts) == 1 else polygonal(shapely.intersection(parts[0], parts[1]))
    if area.is_empty or area.area == 0.0:
        _fail(parameter, "bbox and geometry do not overlap: the area of interest is empty.")
    return area


def _bbox_area(bbox: object, crs: pyproj.CRS, parameter: str) -> BaseGeometry:
    if not isinstance(bbox, list | tuple) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        _fail(parameter, f"bbox must be four numbers [minX, minY, maxX, maxY], got {bbox!r}.")
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if miny >= maxy:
        _fail(parameter, f"bbox minY ({miny:g}) must be smaller than maxY ({maxy:g}).")
    if crs.is_geographic:
        _check_lonlat(np.array([minx, maxx]), np.array([miny, maxy]), parameter, max_lon=180.0)
        if minx == maxx:
            _fail(parameter, "bbox has zero width.")
        if minx > maxx:  # crosses the antimeridian (RFC 7946 5.2)
            maxx += 360.0
        geom = shapely.box(minx, miny, maxx, maxy)
    else:
        if minx >= maxx:
            _fail(parameter, f"bbox minX ({minx:g}) must be smaller than maxX ({maxx:g}).")
        geom = shapely.box(minx, miny, maxx, maxy)
    return _to_lonlat(geom, crs, parameter)


def _geometry_area(geometry: object, crs: pyproj.CRS, parameter: str) -> BaseGeometry:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        _fail(parameter, "geometry must be a GeoJSON Polygon or MultiPolygon object.")
    try:
        geom = shape(geometry)
    except KeyError as exc:
        _fail(parameter, f"geometry is not valid GeoJSON: it has no {exc.args[0]!r}.")
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as exc:
        _fail(parameter, f"geometry is not valid GeoJSON: {exc}.")
    coords = shapely.get_coordinates(geom)
    if geom.is_empty or len(coords) == 0:
        _fail(parameter, "geometry is empty.")
    if not np.isfinite(coords).all():
        _fail(parameter, "geometry has coordinates that are not finite numbers.")
    if not geom.is_valid:
        _fail(parameter, f"geometry is not a valid polygon: {shapely.is_valid_reason(geom)}.")
    if geom.area == 0.0:
        _fail(parameter, "geometry has zero area.")
    if crs.is_geographic:
        _check_lonlat(coords[:, 0], coords[:, 1], parameter, max_lon=MAX_UNWRAPPED_LON)
    return _to_lonlat(geom, crs, parameter)


def _to_lonlat(geom: BaseGeometry, crs: pyproj.CRS, parameter: str) -> BaseGeometry:
    if crs.is_geographic:
        if crs.to_epsg() != WGS84:
            geom = transform(geom, crs, WGS84)
    else:
        geom = _projected_to_lonlat(geom, crs, parameter)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    geom = wrap_longitudes(polygonal(geom))
    if geom.is_empty or geom.area == 0.0:
        _fail(parameter, "the area is empty after conversion to WGS84.")
    return geom


def _projected_to_lonlat(geom: BaseGeometry, crs: pyproj.CRS, parameter: str) -> BaseGeometry:
    minx, miny, maxx, maxy = geom.bounds
    dense = shapely.segmentize(geom, max(math.hypot(maxx - minx, maxy - miny) / 256.0, 1e-6))
    coords = shapely.get_coordinates(dense)
    lon, lat = transformer(crs, WGS84).transform(coords[:, 0], coords[:, 1])
    back_x, back_y = transformer(WGS84, crs).transform(lon, lat)
    finite = np.isfinite(lon).all() and np.isfinite(lat).all()
    if not finite or np.abs(back_x - coords[:, 0]).max() > 1.0 or np.abs(back_y - coords[:, 1]).max() > 1.0:
        _fail(parameter, f"coordinates are outside the valid domain of {crs.name} (EPSG:{crs.to_epsg()}).")
    _check_lonlat(np.asarray(lon), np.asarray(lat), parameter, max_lon=MAX_UNWRAPPED_LON)
    # an area straddling the antimeridian comes back with longitudes jumping by 360: make them continuous
    lon = np.unwrap(np.asarray(lon), period=360.0)
    _check_area_of_use(lon, np.asarray(lat), crs, parameter)
    return shapely.transform(dense, lambda c: np.column_stack([lon, lat]))


def _check_area_of_use(lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS, parameter: str) -> None:
    """Projected coordinates must fall within the CRS's area of use, widened by `AREA_OF_USE_MARGIN`."""
    use = crs.area_of_use
    if use is None:
        return
    west, south, east, north = use.bounds
    m = AREA_OF_USE_MARGIN
    span = (east - west if east > west else (east - west) % 360.0) + 2 * m  # may cross the antimeridian
    lon_ok = span >= 360.0 or bool((((lon - (west - m)) % 360.0) <= span).all())
    if not lon_ok or lat.min() < south - m or lat.max() > north + m:
        _fail(
            parameter,
            f"coordinates are outside the valid domain of {crs.name} (EPSG:{crs.to_epsg()}): its area of use is "
            f"lon {west:g}..{east:g}, lat {south:g}..{north:g} (accepted with a {m:g} degree margin).",
        )


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, parameter: str, max_lon: float) -> None:
    if np.abs(lat).max() > 90.0:
        _fail(parameter, f"latitude {float(np.abs(lat).max()):g} is outside -90..90 (coordinates are lon, lat).")
    if np.abs(lon).max() > max_lon:
        _fail(parameter, f"longitude {float(np.abs(lon).max()):g} is outside -{max_lon:g}..{max_lon:g}.")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fail(parameter: str, violation: str) -> NoReturn:
    raise BadRequest(f"Invalid area of interest: {violation}", [Violation(parameter, violation)])
