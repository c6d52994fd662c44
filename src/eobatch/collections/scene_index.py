"""An in-memory index of a static collection's scenes: an STRtree on footprints plus time and cloud
arrays, so a search for one tile costs microseconds instead of a re-read of every item."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from eobatch.collections.scene import Scene


class SceneIndex:
    """Scenes kept sorted by datetime descending (then id); `search` keeps that order."""

    def __init__(self, scenes: Iterable[Scene]):
        self.scenes = sorted(scenes, key=lambda s: (-s.datetime.timestamp(), s.id))
        self._footprints = np.array([s.footprint_wgs84 for s in self.scenes], dtype=object)
        self._times = np.array([s.datetime.timestamp() for s in self.scenes], dtype=np.float64)
        self._clouds = np.array(
            [np.nan if s.cloud_cover is None else s.cloud_cover for s in self.scenes], dtype=np.float64
        )
        self._tree = shapely.STRtree(self._footprints)
        self._extent = shapely.total_bounds(self._footprints) if self.scenes else None

    def __len__(self) -> int:
        return len(self.scenes)

    def search(
        self,
        area_wgs84: BaseGeometry,
        time_from: dt.datetime,
        time_to: dt.datetime,
        max_cloud_coverage: float = 100.0,
    ) -> list[Scene]:
        """Scenes whose footprint shares area with `area_wgs84` (touching only does not count),
        acquired in [time_from, time_to], with cloud cover <= max (missing cloud cover passes)."""
        if not self.scenes:
            return []
        hits = np.sort(self._tree.query(area_wgs84, predicate="intersects"))
        if hits.size == 0:
            return []
        times = self._times[hits]
        clouds = self._clouds[hits]
        keep = (times >= time_from.timestamp()) & (times <= time_to.timestamp())
        keep &= ~(clouds > max_cloud_coverage)  # NaN (no cloud cover) compares False: it passes
        hits = hits[keep]
        if hits.size:
            hits = hits[~shapely.touches(self._footprints[hits], area_wgs84)]
        return [self.scenes[i] for i in hits]

    def reach(self, envelopes: np.ndarray) -> np.ndarray:
        """For each (minx, miny, maxx, maxy) row, whether it meets the box around every scene: an area
        inside an envelope that does not can share area with no scene (its `counts` is 0)."""
        envelopes = np.asarray(envelopes, dtype=np.float64).reshape(-1, 4)
        if self._extent is None:
            return np.zeros(len(envelopes), dtype=bool)
        minx, miny, maxx, maxy = self._extent
        return (
            (envelopes[:, 0] <= maxx)
            & (envelopes[:, 2] >= minx)
            & (envelopes[:, 1] <= maxy)
            & (envelopes[:, 3] >= miny)
        )

    def counts(
        self,
        areas: Sequence[BaseGeometry],
        time_from: dt.datetime,
        time_to: dt.datetime,
        max_cloud_coverage: float = 100.0,
    ) -> np.ndarray:
        """`len(self.search(area, ...))` for every area, in one vectorised query of the tree."""
        areas = np.asarray(areas, dtype=object)
        if not self.scenes or areas.size == 0:
            return np.zeros(areas.size, dtype=np.int64)
        which, hits = self._tree.query(areas, predicate="intersects")
        times = self._times[hits]
        keep = (times >= time_from.timestamp()) & (times <= time_to.timestamp())
        keep &= ~(self._clouds[hits] > max_cloud_coverage)  # NaN (no cloud cover) compares False: it passes
        which, hits = which[keep], hits[keep]
        if hits.size:
            shares_area = ~shapely.touches(self._footprints[hits], areas[which])
            which = which[shares_area]
        return np.bincount(which, minlength=areas.size).astype(np.int64)
