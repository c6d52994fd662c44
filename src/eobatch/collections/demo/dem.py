"""The SYNTHETIC Copernicus DEM demo: one static GLO-30-like tile (EPSG:4326, 1 arc-second, float32
metres) over the demo area, consistent with the landscape: a plain rising gently from about 0 m in the
east to about 14 m in the west, the river in a channel between low levees, the lake a little below
its banks, reclaimed land below sea level in the south-east, and a smooth undulation of a metre or two.
"""

from __future__ import annotations

import numpy as np
from affine import Affine

from eobatch.collections.demo.area import DEMO_BBOX, LAT0, LON0, M_PER_DEG_LAT, M_PER_DEG_LON
from eobatch.collections.demo.landscape import _ellipse, _river_centre
from eobatch.collections.demo.noise import fbm, lattices

ARC_SECOND = 1.0 / 3600.0
MARGIN_DEG = 0.01


def dem_grid() -> tuple[Affine, int, int]:
    """The 1 arc-second grid covering the demo box plus a margin, on whole arc seconds."""
    west, south, east, north = DEMO_BBOX
    left = np.floor((west - MARGIN_DEG) * 3600) / 3600
    top = np.ceil((north + MARGIN_DEG) * 3600) / 3600
    cols = round((east + MARGIN_DEG - left) * 3600)
    rows = round((top - (south - MARGIN_DEG)) * 3600)
    return Affine(ARC_SECOND, 0.0, float(left), 0.0, -ARC_SECOND, float(top)), rows, cols


def heights(seed: int) -> tuple[Affine, np.ndarray]:
    """(transform, float32 heights in metres) of the demo DEM."""
    transform, rows, cols = dem_grid()
    lon = transform.c + (np.arange(cols) + 0.5) * transform.a
    lat = transform.f + (np.arange(rows) + 0.5) * transform.e
    x = ((lon - LON0) * M_PER_DEG_LON).astype(np.float32)[None, :]
    y = ((lat - LAT0) * M_PER_DEG_LAT).astype(np.float32)[:, None]
    plain = 7.0 - x / 1700.0 + 1.8 * (fbm(x, y, 6000.0, lattices(seed + 307, 3)) - 0.5)
    from_river = np.abs(x - _river_centre(y))
    levee = 1.6 * np.exp(-(((from_river - 70.0) / 40.0) ** 2))
    channel = np.where(from_river < 45.0, -3.5, 0.0)
    lake = np.where(_ellipse(x, y, 5200.0, 2600.0, 1900.0, 1200.0) < 0.85, -1.5, 0.0)
    reclaimed = -4.0 * np.clip(1.2 - _ellipse(x, y, 9500.0, -6500.0, 4500.0, 3000.0), 0.0, 1.0)
    height = plain + levee + channel + lake + reclaimed
    return transform, height.astype(np.float32)
