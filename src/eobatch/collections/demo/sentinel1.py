"""The SYNTHETIC Sentinel-1 GRD demo: IW, dual polarisation VV+VH, one descending orbit every 12 days
(Sentinel-1A alone, as in 2024), 20 m pixels on the same zone grids and landscape as the S2 demo.

Each pixel's backscatter follows its land cover (typical C-band gamma0 in dB: water -20 (VV) / -27
(VH) roughened by a per-date wind, forest -7.5 / -13, town 0 / -7, crops from bare soil -12 / -21 to
-8 / -14 as they green up), converted to beta0 with the incidence angle (30.5-45.5° across the
swath, so 37-39° over the area), and multiplied by speckle (gamma-distributed, 4.4 looks). A few
bright boats sit on the lake. Values are linear beta0 in float32 (nodata 0), rounded to 10
mantissa bits so the COGs stay small; the incidence angle is stored beside them.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from eobatch.collections.demo.area import ZoneGrid
from eobatch.collections.demo.landscape import U_BARE, U_FOREST, U_MARGIN, U_URBAN, U_WATER, ZoneLandscape, phenology

S1_RESOLUTION = 20.0
S1_DATES = tuple(dt.date(2024, 4, 2) + dt.timedelta(days=12 * k) for k in range(8))
S1_TIME = dt.time(5, 16, 42)
LOOKS = 4.4
NEAR_RANGE_EAST_KM = 95.0  # the area lies this far from the swath's near edge (the track is east)
SWATH_KM = 250.0
INCIDENCE_RANGE = (30.5, 45.5)


def acquisitions() -> list[dt.datetime]:
    return [dt.datetime.combine(d, S1_TIME, tzinfo=dt.UTC) for d in S1_DATES]


def incidence_angle(grid: ZoneGrid, resolution: float = S1_RESOLUTION) -> np.ndarray:
    """Ellipsoid incidence angle (degrees, float32): it grows westwards, away from the descending track."""
    x, _ = grid.local_coordinates(resolution)
    range_km = NEAR_RANGE_EAST_KM - x / 1000.0
    low, high = INCIDENCE_RANGE
    return (low + (high - low) * range_km / SWATH_KM).astype(np.float32)


def _unit_db(land: ZoneLandscape, date: dt.date, wind: float) -> tuple[np.ndarray, np.ndarray]:
    """gamma0 in dB per unit: (VV, VH)."""
    f, s = phenology(land, date)
    vv = -12.0 + 4.0 * f + 1.0 * s
    vh = -21.0 + 7.0 * f + 1.5 * s
    fixed = {U_WATER: (-20.0 + wind, -27.0 + 0.5 * wind), U_FOREST: (-7.5, -13.0), U_URBAN: (0.0, -7.0)}
    fixed |= {U_BARE: (-11.0, -19.0), U_MARGIN: (-9.0, -16.0)}
    for unit, (a, b) in fixed.items():
        vv[unit], vh[unit] = a, b
    return vv, vh


def _round_mantissa(values: np.ndarray, bits: int = 10) -> np.ndarray:
    raw = values.astype(np.float32).view(np.uint32)
    drop = np.uint32(23 - bits)
    rounded = ((raw + (np.uint32(1) << (drop - np.uint32(1)))) >> drop) << drop
    return rounded.view(np.float32)


def _boats(units: np.ndarray, index: int, seed: int) -> np.ndarray:
    """A few 2 x 2 pixel bright targets on water, placed anew on each date."""
    rng = np.random.default_rng(seed + 7919 * index)
    rows, cols = np.nonzero(units[1:-1:7, 1:-1:7] == U_WATER)
    mask = np.zeros(units.shape, dtype=bool)
    if rows.size:
        for pick in rng.choice(rows.size, size=min(4, rows.size), replace=False):
            r, c = rows[pick] * 7 + 1, cols[pick] * 7 + 1
            mask[r : r + 2, c : c + 2] = True
    return mask


def render(land: ZoneLandscape, grid: ZoneGrid, when: dt.datetime, index: int, seed: int) -> dict[str, np.ndarray]:
    """VV, VH (linear beta0, float32) and localIncidenceAngle (degrees) of one zone and date."""
    units, gain = land.at(2)
    theta = incidence_angle(grid)
    tan_theta = np.tan(np.radians(theta))
    wind = 6.0 * math.sin(index * 1.7) ** 2
    vv_db, vh_db = _unit_db(land, when.date(), wind)
    rng = np.random.default_rng([seed, grid.zone, index])
    boats = _boats(units, index, seed + grid.zone)
    texture = (0.85 + 0.3 * (gain - gain.mean())).astype(np.float32)
    out = {"localIncidenceAngle": theta}
    for name, table in (("VV", vv_db), ("VH", vh_db)):
        gamma0 = np.power(np.float32(10.0), (table.astype(np.float32) / 10.0))[units] * texture
        gamma0[boats] = 2.5 if name == "VV" else 0.6
        speckle = rng.gamma(LOOKS, 1.0 / LOOKS, size=units.shape).astype(np.float32)
        beta0 = gamma0 * speckle / tan_theta
        out[name] = np.maximum(_round_mantissa(beta0), np.float32(1e-6))
    return out
