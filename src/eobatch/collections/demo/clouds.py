"""Drifting clouds: one fractal cloud deck in the shared local frame, moved by a steady wind between
acquisitions and thresholded to each date's target cloud cover. Shadows are the same deck shifted
away from the sun (about 900 m towards north-north-west at 10:10 UTC in spring)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from eobatch.collections.demo.area import DEMO_BBOX, LAT0, LON0, M_PER_DEG_LAT, M_PER_DEG_LON, ZoneGrid
from eobatch.collections.demo.noise import fbm, lattices, upsample

WIND_M_PER_DAY = (2200.0, 900.0)  # the deck drifts east-north-east
SHADOW_OFFSET_M = (380.0, -815.0)  # from a shadowed pixel towards its cloud (towards the sun)
CLOUD_CELL_M = 5000.0
SOFT_EDGE = 0.06  # noise range over which opacity goes 0 -> 1
CLM_OPACITY = 0.35  # opacity from which a pixel counts as cloud (CLM = 1)
START = dt.date(2024, 4, 1)


class CloudDeck:
    def __init__(self, seed: int):
        self._lats = lattices(seed + 101, 5)

    def _noise(self, x: np.ndarray, y: np.ndarray, date: dt.date) -> np.ndarray:
        days = (date - START).days
        return fbm(x - WIND_M_PER_DAY[0] * days, y - WIND_M_PER_DAY[1] * days, CLOUD_CELL_M, self._lats)

    def threshold(self, date: dt.date, cover_percent: float) -> float:
        """Noise level above which opacity starts, so that about `cover_percent` of the demo area
        has opacity >= CLM_OPACITY."""
        if cover_percent <= 0:
            return 10.0
        lon = np.linspace(DEMO_BBOX[0], DEMO_BBOX[2], 160)
        lat = np.linspace(DEMO_BBOX[1], DEMO_BBOX[3], 100)
        x = ((lon - LON0) * M_PER_DEG_LON).astype(np.float32)[None, :]
        y = ((lat - LAT0) * M_PER_DEG_LAT).astype(np.float32)[:, None]
        n = self._noise(x, y, date)
        level = float(np.quantile(n, 1.0 - min(cover_percent, 100.0) / 100.0))
        return level - CLM_OPACITY * SOFT_EDGE

    def opacity(self, grid: ZoneGrid, date: dt.date, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """(cloud opacity, shadow strength) at 60 m on the zone grid, both float32 in [0, 1]."""
        x, y = grid.local_coordinates(60.0)
        alpha = np.clip((self._noise(x, y, date) - threshold) / SOFT_EDGE, 0.0, 1.0)
        shifted = self._noise(x + SHADOW_OFFSET_M[0], y + SHADOW_OFFSET_M[1], date)
        shadow = np.clip((shifted - threshold) / SOFT_EDGE, 0.0, 1.0) * (1.0 - alpha)
        return alpha.astype(np.float32), shadow.astype(np.float32)


def at_resolution(field60: np.ndarray, k: int) -> np.ndarray:
    """A 60 m field resampled to 60/k m (k = 1, 3 or 6), bilinear."""
    return np.clip(upsample(field60, k), 0.0, 1.0)
