"""A Process API body (Sentinel Hub's shape) parsed into the window to compute: its CRS, pixel grid,
area, responses and evalscript. Limits: at most `MAX_SIZE` pixels a side (a clear 400 beyond)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import affine
import shapely
from shapely.geometry import shape

from eobatch.errors import BadRequest, Violation
from eobatch.grids.aoi import CRS84_URL, area_from_bounds, parse_crs
from eobatch.processing.outputs import EXTENSIONS, JSON, USERDATA

MAX_SIZE = 2500
DEFAULT_SIZE = 256
FORMAT_ALIASES = {"image/tif": "image/tiff", "image/jpg": "image/jpeg"}


def fail(parameter: str, violation: str) -> BadRequest:
    return BadRequest(f"{parameter}: {violation}", [Violation(parameter, violation)])


@dataclass(frozen=True)
class Response:
    identifier: str
    mime: str

    @property
    def filename(self) -> str:
        return f"{self.identifier}.{EXTENSIONS[self.mime]}"


@dataclass(frozen=True)
class ProcessWindow:
    epsg: int
    bounds: tuple[float, float, float, float]  # in EPSG:epsg (lon/lat for geographic CRSs)
    width: int
    height: int
    area_wgs84: Any
    responses: tuple[Response, ...]
    process_request: dict  # the body, normalised: responses with their format type

    @property
    def transform(self) -> affine.Affine:
        minx, miny, maxx, maxy = self.bounds
        return affine.Affine((maxx - minx) / self.width, 0.0, minx, 0.0, -(maxy - miny) / self.height, maxy)


def _number(value: Any, parameter: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value == float("inf"):
        raise fail(parameter, f"must be a positive number, got {value!r}")
    return float(value)


def _bounds_in_crs(bounds: dict) -> tuple[int, tuple[float, float, float, float]]:
    properties = bounds.get("properties") or {}
    crs = parse_crs(properties.get("crs", CRS84_URL), "input.bounds.properties.crs")
    epsg = crs.to_epsg() or 4326
    if bounds.get("bbox") is not None:
        minx, miny, maxx, maxy = (float(v) for v in bounds["bbox"])
    else:
        minx, miny, maxx, maxy = shape(bounds["geometry"]).bounds
    if crs.is_geographic and minx > maxx:
        raise fail("input.bounds.bbox", "a window crossing the antimeridian is not supported; split it in two")
    return epsg, (minx, miny, maxx, maxy)


def _size(output: dict, bounds: tuple[float, float, float, float]) -> tuple[int, int]:
    minx, miny, maxx, maxy = bounds
    if output.get("resx") is not None or output.get("resy") is not None:
        if output.get("width") is not None or output.get("height") is not None:
            raise fail("output", "give width/height or resx/resy, not both")
        resx = _number(output.get("resx"), "output.resx")
        resy = _number(output.get("resy", output.get("resx")), "output.resy")
        width, height = round((maxx - minx) / resx), round((maxy - miny) / resy)
    else:
        width, height = output.get("width"), output.get("height")
        for name, value in (("width", width), ("height", height)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise fail(f"output.{name}", f"must be a positive integer, got {value!r}")
        if width is None and height is None:
            width = height = DEFAULT_SIZE
        elif width is None:
            width = max(1, round(height * (maxx - minx) / (maxy - miny)))
        elif height is None:
            height = max(1, round(width * (maxy - miny) / (maxx - minx)))
    if width < 1 or height < 1:
        raise fail("output", f"the window is {width} x {height} px: less than one pixel; use a finer resolution")
    if width > MAX_SIZE or height > MAX_SIZE:
        raise fail(
            "output",
            f"the output would be {width} x {height} px; the Process API returns at most {MAX_SIZE} x {MAX_SIZE} px "
            "(use a coarser resolution, a smaller area, or a batch request)",
        )
    return int(width), int(height)


def _responses(output: dict) -> tuple[Response, ...]:
    raw = output.get("responses")
    if raw is None:
        raw = [{"identifier": "default", "format": {"type": "image/tiff"}}]
    if not isinstance(raw, list) or not raw:
        raise fail("output.responses", "must be a non-empty list of {identifier, format}")
    found = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            raise fail(f"output.responses[{n}]", "must be an object")
        identifier = str(item.get("identifier", "default"))
        fmt = item.get("format") or {}
        mime = FORMAT_ALIASES.get(str(fmt.get("type", "image/tiff")), str(fmt.get("type", "image/tiff")))
        if mime not in EXTENSIONS:
            raise fail(
                f"output.responses[{n}].format.type", f"{mime!r} is not supported; allowed: {', '.join(EXTENSIONS)}"
            )
        if (identifier == USERDATA) != (mime == JSON):
            raise fail(f"output.responses[{n}]", "application/json is the format of the userdata response only")
        if identifier in [r.identifier for r in found]:
            raise fail(f"output.responses[{n}].identifier", f"{identifier!r} is given twice")
        found.append(Response(identifier, mime))
    return tuple(found)


def parse_process(body: Any) -> ProcessWindow:
    """The window a Process API body asks for; BadRequest (nothing computed, nothing charged) otherwise."""
    if not isinstance(body, dict):
        raise fail("body", "must be a JSON object with input, output and evalscript")
    request = copy.deepcopy(body)
    source = request.get("input")
    if not isinstance(source, dict) or not isinstance(source.get("bounds"), dict):
        raise fail("input.bounds", "is required: an object with a bbox and/or a geometry and properties.crs")
    if not isinstance(source.get("data"), list) or not source["data"]:
        raise fail("input.data", "is required: a list with at least one collection")
    if not isinstance(request.get("evalscript"), str) or not request["evalscript"].strip():
        raise fail("evalscript", "is required: the evalscript source")
    area = area_from_bounds(source["bounds"], "input.bounds")
    epsg, bounds = _bounds_in_crs(source["bounds"])
    output = request.get("output") or {}
    if not isinstance(output, dict):
        raise fail("output", "must be an object")
    width, height = _size(output, bounds)
    responses = _responses(output)
    request["output"] = {
        **output,
        "responses": [{"identifier": r.identifier, "format": {"type": r.mime}} for r in responses],
    }
    if shapely.is_empty(area):
        raise fail("input.bounds", "the area is empty")
    return ProcessWindow(epsg, bounds, width, height, area, responses, request)
