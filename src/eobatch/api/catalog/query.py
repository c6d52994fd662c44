"""A catalog search as sent on the wire (POST JSON body or GET query parameters), parsed and checked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from eobatch.collections.filters import parse_datetime
from eobatch.errors import BadRequest, Violation

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
WORLD = box(-180.0, -90.0, 180.0, 90.0)
DISTINCT = ("date",)


def fail(parameter: str, violation: str) -> BadRequest:
    return BadRequest(f"{parameter}: {violation}", [Violation(parameter, violation)])


@dataclass(frozen=True)
class SearchQuery:
    collections: tuple[str, ...]
    area_wgs84: BaseGeometry = WORLD
    time_from: dt.datetime = EARLIEST
    time_to: dt.datetime = LATEST
    ids: tuple[str, ...] = ()
    filter: Any = None  # CQL2 text (str) or CQL2 JSON (dict)
    filter_lang: str = "cql2-text"
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    distinct: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse_limit(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise fail("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {value!r}") from None
    if isinstance(value, bool) or not 1 <= limit <= MAX_LIMIT or (isinstance(value, float) and value != limit):
        raise fail("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {value!r}")
    return limit


def parse_next(value: Any) -> int:
    """The paging token: the offset of the page's first feature (what `context.next` returned)."""
    if value is None or value == "":
        return 0
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise fail("next", f"must be the token returned in context.next, got {value!r}")
    return int(text)


def parse_interval(value: Any) -> tuple[dt.datetime, dt.datetime]:
    """`datetime`: one instant, or `start/end` with `..` (or nothing) for an open end."""
    if value is None or value == "":
        return EARLIEST, LATEST
    if not isinstance(value, str):
        raise fail("datetime", f"must be a string such as 2024-01-01T00:00:00Z/2024-02-01T00:00:00Z, got {value!r}")
    if "/" not in value:
        instant = parse_datetime(value, "datetime")
        return instant, instant
    start_text, _, end_text = value.partition("/")
    start = EARLIEST if start_text.strip() in ("", "..") else parse_datetime(start_text, "datetime")
    end = LATEST if end_text.strip() in ("", "..") else parse_datetime(end_text, "datetime")
    if start > end:
        raise fail("datetime", f"the interval {value!r} ends before it starts")
    return start, end


def parse_bbox(value: Any) -> BaseGeometry:
    if isinstance(value, str):
        value = value.split(",")
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        raise fail("bbox", f"must be 4 numbers minx,miny,maxx,maxy (WGS84), got {value!r}") from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(abs(n) < float("inf") for n in numbers):
        raise fail("bbox", f"must be 4 numbers minx,miny,maxx,maxy (WGS84), got {value!r}")
    minx, miny, maxx, maxy = numbers
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise fail("bbox", f"must lie within longitude -180..180 and latitude -90..90, got {numbers}")
    if minx > maxx:  # crosses the antimeridian
        return box(minx, miny, 180.0, maxy).union(box(-180.0, miny, maxx, maxy))
    return box(minx, miny, maxx, maxy)


def parse_intersects(value: Any) -> BaseGeometry:
    try:
        geometry = shape(value)
    except Exception:  # shapely raises several types for malformed GeoJSON
        raise fail("intersects", "must be a GeoJSON geometry in WGS84 (longitude, latitude)") from None
    if geometry.is_empty:
        raise fail("intersects", "the geometry is empty")
    if not geometry.is_valid:
        geometry = geometry.buffer(0)
    return geometry


def parse_fields(value: Any) -> dict[str, tuple[str, ...]]:
    """The fields extension: `{"include": [...], "exclude": [...]}` (GET: `a,-b`)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        names = [v.strip() for v in value.split(",") if v.strip()]
        include = tuple(n.lstrip("+") for n in names if not n.startswith("-"))
        return {"include": include, "exclude": tuple(n[1:] for n in names if n.startswith("-"))}
    if not isinstance(value, dict):
        raise fail("fields", "must be an object with include and/or exclude lists")
    result = {}
    for key in ("include", "exclude"):
        names = value.get(key) or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise fail(f"fields.{key}", "must be a list of field names")
        result[key] = tuple(names)
    return result


def _collections(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise fail("collections", 'must list at least one collection id, e.g. ["sentinel-2-l2a"]')
    return tuple(value)


def _ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail("ids", "must be a list of item ids")
    return tuple(value)


def parse_search(body: Any) -> SearchQuery:
    """A POST body (or the GET parameters as a dict) as a SearchQuery; BadRequest on anything malformed."""
    if not isinstance(body, dict):
        raise fail("body", "must be a JSON object")
    if body.get("bbox") is not None and body.get("intersects") is not None:
        raise fail("intersects", "give either bbox or intersects, not both")
    if body.get("intersects") is not None:
        area = parse_intersects(body["intersects"])
    elif body.get("bbox") is not None:
        area = parse_bbox(body["bbox"])
    else:
        area = WORLD
    time_from, time_to = parse_interval(body.get("datetime"))
    filter_lang = body.get("filter-lang") or ("cql2-json" if isinstance(body.get("filter"), dict) else "cql2-text")
    if filter_lang not in ("cql2-text", "cql2-json"):
        raise fail("filter-lang", f"must be cql2-text or cql2-json, got {filter_lang!r}")
    distinct = body.get("distinct")
    if distinct is not None and distinct not in DISTINCT:
        raise fail("distinct", f"supported values: {', '.join(DISTINCT)}; got {distinct!r}")
    return SearchQuery(
        collections=_collections(body.get("collections")),
        area_wgs84=area,
        time_from=time_from,
        time_to=time_to,
        ids=_ids(body.get("ids")),
        filter=body.get("filter") or None,
        filter_lang=filter_lang,
        fields=parse_fields(body.get("fields")),
        distinct=distinct,
        limit=parse_limit(body.get("limit")),
        offset=parse_next(body.get("next")),
    )
