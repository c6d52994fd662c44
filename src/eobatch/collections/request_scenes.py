"""Search once per request: one source search per input collection for the whole area and time range,
kept in the process as a `SceneIndex`; every tile's scenes are then looked up in it by footprint.

Analysis (counting scenes per tile) and the scheduler (attaching each tile's scenes to its task) run
in the same process, so a request's archive is searched once per input collection; workers receive
the scenes with the task and never search. A scheduler process that did not analyse the request
searches once more when it first dispatches one of its tiles.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from shapely.geometry.base import BaseGeometry

from eobatch.collections.filters import parse_datetime
from eobatch.collections.scene import Scene
from eobatch.collections.scene_index import SceneIndex

FAR_PAST, FAR_FUTURE = "1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
_KEEP = 32  # requests whose search results a process keeps

_INDEXES: OrderedDict[tuple, SceneIndex] = OrderedDict()
_LOCKS: dict[tuple, threading.Lock] = {}
_GUARD = threading.Lock()


def input_filter(data: Any) -> tuple[dt.datetime, dt.datetime, float]:
    """(time_from, time_to, max_cloud_coverage) of one input: a plan's `DataInput`, or an `input.data[]` entry."""
    if hasattr(data, "time_from"):
        return data.time_from, data.time_to, float(data.max_cloud_coverage)
    dfilter = data.get("dataFilter") or {}
    time_range = dfilter.get("timeRange") or {}
    start = parse_datetime(time_range.get("from") or FAR_PAST, "timeRange.from")
    end = parse_datetime(time_range.get("to") or FAR_FUTURE, "timeRange.to")
    return start, end, float(dfilter.get("maxCloudCoverage", 100.0))


def request_index(request_id: str, index: int, data: Any, collection: Any, area: BaseGeometry) -> SceneIndex:
    """The scenes of input `index` of request `request_id` over its whole `area`: searched on first
    use in this process (one search even when threads ask together), then kept."""
    start, end, max_cc = input_filter(data)
    key = (request_id, index, collection.type, start, end, max_cc)
    with _GUARD:
        found = _INDEXES.get(key)
        if found is not None:
            _INDEXES.move_to_end(key)
            return found
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        with _GUARD:
            found = _INDEXES.get(key)
        if found is None:
            found = SceneIndex(collection.search(area, start, end, max_cc) if not area.is_empty else [])
            with _GUARD:
                _INDEXES[key] = found
                while len(_INDEXES) > _KEEP:
                    _INDEXES.popitem(last=False)
                _LOCKS.pop(key, None)
        return found


def tile_scenes(
    request_id: str, entries: Sequence[Any], registry: Any, area: BaseGeometry, where: BaseGeometry
) -> tuple[tuple[Scene, ...], ...]:
    """For each `input.data[]` entry, the scenes that reach `where` (a tile's search area inside the
    request's `area`), from the request's single search per input."""
    found = []
    for index, data in enumerate(entries):
        kind = data.type if hasattr(data, "type") else data.get("type", "")
        collection = registry.get(kind, index)
        start, end, max_cc = input_filter(data)
        scenes = request_index(request_id, index, data, collection, area)
        found.append(tuple(scenes.search(where, start, end, max_cc)) if not where.is_empty else ())
    return tuple(found)


def forget_request(request_id: str) -> None:
    """Drop a request's kept search results (tests; a finished request)."""
    with _GUARD:
        for key in [k for k in _INDEXES if k[0] == request_id]:
            del _INDEXES[key]
