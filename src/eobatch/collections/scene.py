"""`Scene`: one acquisition of one collection, and the pure functions that order and group scenes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from shapely.geometry.base import BaseGeometry

from eobatch.errors import BadRequest

MOSAICKING_ORDERS = ("mostRecent", "leastRecent", "leastCC")


@dataclass(frozen=True)
class Scene:
    """A scene found by search. `assets` maps band name -> href (local path, http(s):// or s3://)."""

    id: str
    datetime: dt.datetime
    cloud_cover: float | None
    assets: dict[str, str]
    footprint_wgs84: BaseGeometry
    epsg: int | None
    processing_baseline: str | None = field(default=None, compare=False)
    harmonize_offset: float = field(default=0.0, compare=False)  # DN offset for harmonizeValues=true

    def __hash__(self) -> int:
        return hash((self.id, self.datetime))


def _most_recent_key(scene: Scene) -> tuple[float, str]:
    return (-scene.datetime.timestamp(), scene.id)


def order_scenes(scenes: Iterable[Scene], mosaicking_order: str) -> list[Scene]:
    """Scenes in the order a mosaic takes them (first = on top).

    mostRecent: newest first; leastRecent: oldest first; leastCC: lowest cloud cover first, scenes
    without cloud cover last. Ties are broken by datetime descending, then id.
    """
    scenes = list(scenes)
    if mosaicking_order == "mostRecent":
        return sorted(scenes, key=_most_recent_key)
    if mosaicking_order == "leastRecent":
        return sorted(scenes, key=lambda s: (s.datetime.timestamp(), s.id))
    if mosaicking_order == "leastCC":

        def key(s: Scene) -> tuple[bool, float, float, str]:
            missing = s.cloud_cover is None
            return (missing, 0.0 if missing else s.cloud_cover, *_most_recent_key(s))

        return sorted(scenes, key=key)
    raise BadRequest(f"Unknown mosaickingOrder {mosaicking_order!r}; allowed: {', '.join(MOSAICKING_ORDERS)}")


def group_by_day(scenes: Iterable[Scene]) -> list[tuple[dt.date, list[Scene]]]:
    """Group scenes by UTC acquisition day (ORBIT mosaicking), keeping the input order.

    Groups come in the order their first scene appears; scenes keep their order inside a group, so
    `group_by_day(order_scenes(scenes, order))` gives the samples in the mosaicking order.
    """
    groups: dict[dt.date, list[Scene]] = {}
    for scene in scenes:
        day = scene.datetime.astimezone(dt.UTC).date()
        groups.setdefault(day, []).append(scene)
    return list(groups.items())
