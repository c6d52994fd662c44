"""Validation of a request's `input.data[i].dataFilter` (timeRange, maxCloudCoverage, mosaickingOrder)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from eobatch.collections.scene import MOSAICKING_ORDERS
from eobatch.errors import BadRequest, Violation

# Collections whose scenes carry no cloud cover: leastCC makes no sense there (as in Sentinel Hub).
_NO_CLOUD_COVER_PREFIXES = ("byoc-", "batch-", "zarr-", "sentinel-1-", "dem")
# A static collection's items hold at every time (DEM): a missing timeRange means "any time".
STATIC_TIME_RANGE = (dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))


@dataclass(frozen=True)
class DataFilter:
    """A validated dataFilter; times are timezone-aware UTC and inclusive at both ends."""

    time_from: dt.datetime
    time_to: dt.datetime
    max_cloud_coverage: float = 100.0
    mosaicking_order: str = "mostRecent"


def parse_datetime(value: Any, parameter: str) -> dt.datetime:
    """An ISO 8601 date-time as aware UTC; a naive one is taken as UTC. Dates alone are refused."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and "T" in value.upper():
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            _fail(parameter, f"{value!r} is not an ISO 8601 date-time such as 2024-04-01T00:00:00Z")
    else:
        _fail(
            parameter,
            f"{value!r} is not a date-time; give one such as 2024-04-01T00:00:00Z "
            "(a date without time is not accepted)",
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _fail(parameter: str, violation: str) -> None:
    raise BadRequest(f"{parameter}: {violation}", [Violation(parameter, violation)])


def _time_range(value: Any, prefix: str) -> tuple[dt.datetime, dt.datetime]:
    parameter = f"{prefix}.timeRange"
    if not isinstance(value, dict) or not value.get("from") or not value.get("to"):
        _fail(parameter, f"timeRange is required as an object with 'from' and 'to' date-times, got {value!r}")
    time_from = parse_datetime(value["from"], f"{parameter}.from")
    time_to = parse_datetime(value["to"], f"{parameter}.to")
    if time_from > time_to:
        _fail(parameter, f"the time range is reversed: from {value['from']} is after to {value['to']}")
    return time_from, time_to


def _max_cloud_coverage(value: Any, prefix: str) -> float:
    parameter = f"{prefix}.maxCloudCoverage"
    if value is None:
        return 100.0
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        _fail(parameter, f"must be a number from 0 to 100, got {value!r}")
    if not 0 <= value <= 100:
        _fail(parameter, f"must be from 0 to 100 (percent), got {value}")
    return float(value)


def _mosaicking_order(value: Any, prefix: str, collection_type: str | None) -> str:
    parameter = f"{prefix}.mosaickingOrder"
    if value is None:
        return "mostRecent"
    allowed = MOSAICKING_ORDERS
    if collection_type and collection_type.startswith(_NO_CLOUD_COVER_PREFIXES):
        allowed = ("mostRecent", "leastRecent")
    if value not in allowed:
        what = f"collection {collection_type}" if collection_type else "this collection"
        _fail(parameter, f"{value!r} is not allowed for {what}; allowed: {', '.join(allowed)}")
    return value


def validate_data_filter(
    data_filter: dict | None, *, index: int = 0, collection_type: str | None = None, static: bool = False
) -> DataFilter:
    """Check a dataFilter and return it parsed; BadRequest names the parameter, e.g.
    `processRequest.input.data[0].dataFilter.timeRange`. A `static` collection (DEM) needs no timeRange."""
    prefix = f"processRequest.input.data[{index}].dataFilter"
    if data_filter is None:
        data_filter = {}
    if not isinstance(data_filter, dict):
        _fail(prefix, f"must be an object, got {data_filter!r}")
    if static and data_filter.get("timeRange") is None:
        time_from, time_to = STATIC_TIME_RANGE
    else:
        time_from, time_to = _time_range(data_filter.get("timeRange"), prefix)
    return DataFilter(
        time_from=time_from,
        time_to=time_to,
        max_cloud_coverage=_max_cloud_coverage(data_filter.get("maxCloudCoverage"), prefix),
        mosaicking_order=_mosaicking_order(data_filter.get("mosaickingOrder"), prefix, collection_type),
    )
