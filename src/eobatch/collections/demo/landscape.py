"""The synthetic landscape: land-cover units in the shared local frame, their spectra and phenology.

A *unit* is a field parcel or one of the fixed covers (water, forest, urban, bare, grass margin). Each
unit has a base spectrum and, per date, a green fraction `f` and a senescent fraction `s`; a pixel's
surface reflectance is `base + f*(veg - base) + s*(dry - base)`, times a smooth brightness texture.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from eobatch.collections.demo.area import ZoneGrid
from eobatch.collections.demo.noise import fbm, lattices, upsample

SPECTRAL_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")

# Surface reflectance, in SPECTRAL_BANDS order (B10 unused at the surface).
#                      B01   B02   B03   B04   B05   B06   B07   B08   B8A   B09   B10    B11   B12
WATER = np.array([0.060, 0.055, 0.048, 0.030, 0.022, 0.014, 0.012, 0.010, 0.009, 0.006, 0.0, 0.005, 0.004])
FOREST = np.array([0.025, 0.028, 0.052, 0.028, 0.085, 0.210, 0.270, 0.295, 0.305, 0.300, 0.0, 0.160, 0.075])
SOIL = np.array([0.090, 0.105, 0.145, 0.190, 0.215, 0.235, 0.250, 0.265, 0.275, 0.280, 0.0, 0.340, 0.285])
URBAN = np.array([0.110, 0.120, 0.130, 0.145, 0.155, 0.165, 0.175, 0.185, 0.190, 0.190, 0.0, 0.215, 0.195])
VEG = np.array([0.030, 0.035, 0.085, 0.040, 0.125, 0.330, 0.410, 0.440, 0.450, 0.430, 0.0, 0.230, 0.110])
DRY = np.array([0.075, 0.085, 0.125, 0.165, 0.205, 0.240, 0.265, 0.285, 0.295, 0.290, 0.0, 0.370, 0.300])
CLOUD = np.array([0.560, 0.540, 0.520, 0.510, 0.510, 0.505, 0.500, 0.500, 0.495, 0.360, 0.0, 0.380, 0.250])
BASES = np.stack([WATER, FOREST, SOIL, URBAN])  # base index 0..3

# Fixed units (indices 0..4); parcels follow.
U_WATER, U_FOREST, U_URBAN, U_BARE, U_MARGIN = range(5)
FIXED_BASE = np.array([0, 1, 3, 2, 2])
CROPS = ("winter-cereal", "maize", "meadow", "soybean", "fallow")
_CROP_SHARES = np.cumsum([0.30, 0.25, 0.17, 0.16, 0.12])
PARCEL_ROW_M = 280.0
PARCEL_ANGLE = math.radians(12.0)


def _hash(a: np.ndarray, b: np.ndarray, salt: float) -> np.ndarray:
    v = np.sin(a * 12.9898 + b * 78.233 + salt) * 43758.5453
    return v - np.floor(v)


def _river_centre(y: np.ndarray) -> np.ndarray:
    return -2500.0 + 1800.0 * np.sin(y / 3100.0) + 500.0 * np.sin(y / 970.0 + 1.0)


def _ellipse(x, y, cx, cy, rx, ry) -> np.ndarray:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2


def _near_segment(x, y, p, q, width) -> np.ndarray:
    (px, py), (qx, qy) = p, q
    dx, dy = qx - px, qy - py
    t = np.clip(((x - px) * dx + (y - py) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return (x - px - t * dx) ** 2 + (y - py - t * dy) ** 2 < width * width


@dataclass
class ZoneLandscape:
    """Per-zone static layers at 10 m: unit index per pixel, brightness gain, and the unit table."""

    units: np.ndarray  # int32 (rows, cols) index into the unit table
    gain: np.ndarray  # float32 (rows, cols)
    crop: np.ndarray  # int8 per unit: -1 fixed cover, else index into CROPS
    shift_days: np.ndarray  # float32 per unit: phenology shift
    base: np.ndarray  # int per unit: index into BASES

    def at(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """units and gain at 10*k m (nearest sample of the 10 m layers)."""
        o = k // 2
        return self.units[o::k, o::k], self.gain[o::k, o::k]


def build_landscape(grid: ZoneGrid, seed: int) -> ZoneLandscape:
    x, y = grid.local_coordinates(10.0)
    x60, y60 = grid.local_coordinates(60.0)
    lats = lattices(seed, 6)
    forest_noise = upsample(fbm(x60, y60, 3000.0, lats[:3]), 6)
    texture = upsample(fbm(x60, y60, 900.0, lats[3:5]), 6)
    town_noise = upsample(fbm(x60, y60, 700.0, lats[5:6]), 6)

    # parcels: rotated rows of varying width and offset
    u = x * math.cos(PARCEL_ANGLE) + y * math.sin(PARCEL_ANGLE)
    v = -x * math.sin(PARCEL_ANGLE) + y * math.cos(PARCEL_ANGLE)
    row = np.floor(v / PARCEL_ROW_M)
    width = 300.0 + 260.0 * _hash(row, row * 0.0, 1.0)
    offset = 900.0 * _hash(row, row * 0.0, 2.0)
    su = (u + offset) / width
    col = np.floor(su)
    margin = ((su - col) * width < 12.0) | ((v / PARCEL_ROW_M - row) * PARCEL_ROW_M < 12.0)
    key = (row.astype(np.int64) + 10_000) * 100_000 + (col.astype(np.int64) + 50_000)
    keys, inverse = np.unique(key, return_inverse=True)
    units = (inverse.reshape(key.shape) + 5).astype(np.int32)

    rc = _river_centre(y)
    riparian = np.abs(x - rc) < 170.0
    forest = (forest_noise > 0.60) | riparian
    water = (np.abs(x - rc) < 45.0) | (_ellipse(x, y, 5200.0, 2600.0, 1900.0, 1200.0) < 0.85 + 0.5 * (town_noise - 0.5))
    urban = (
        (_ellipse(x, y, -7000.0, -3500.0, 1600.0, 1300.0) < 0.75 + 0.6 * (town_noise - 0.5))
        | (_ellipse(x, y, 8500.0, -5500.0, 650.0, 600.0) < 1.0)
        | _near_segment(x, y, (-7000.0, -3500.0), (8500.0, -5500.0), 12.0)
    )
    bare = _ellipse(x, y, -1800.0, 5200.0, 350.0, 220.0) < 1.0

    units[margin] = U_MARGIN
    units[forest] = U_FOREST
    units[bare] = U_BARE
    units[urban] = U_URBAN
    units[water] = U_WATER

    rows_k = (keys // 100_000 - 10_000).astype(np.float64)
    cols_k = (keys % 100_000 - 50_000).astype(np.float64)
    crop_draw = _hash(rows_k, cols_k, 3.0)
    crop = np.searchsorted(_CROP_SHARES, crop_draw, side="right").clip(0, len(CROPS) - 1)
    shift = (_hash(rows_k, cols_k, 4.0) - 0.5) * 16.0
    bright = 1.0 + (_hash(rows_k, cols_k, 5.0) - 0.5) * 0.22

    unit_gain = np.concatenate([np.ones(5), bright]).astype(np.float32)
    gain = (unit_gain[units] * (1.0 + 0.14 * (texture - 0.5))).astype(np.float32)
    return ZoneLandscape(
        units=units,
        gain=gain,
        crop=np.concatenate([np.full(5, -1), crop]).astype(np.int8),
        shift_days=np.concatenate([np.zeros(5), shift]).astype(np.float32),
        base=np.concatenate([FIXED_BASE, np.full(len(keys), 2)]),
    )


def _logistic(t: np.ndarray, mid: float, width: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(t - mid) / width))


def phenology(land: ZoneLandscape, date: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Green fraction f and senescent fraction s per unit on `date`."""
    doy = date.timetuple().tm_yday
    t = doy - land.shift_days.astype(np.float64)
    f = np.zeros(len(land.crop))
    s = np.zeros(len(land.crop))
    crop = land.crop
    # fixed covers
    f[U_URBAN] = 0.12
    f[U_BARE] = 0.02
    f[U_MARGIN] = 0.65
    s[U_FOREST] = 0.35 * np.clip((122 - doy) / 28.0, 0.0, 1.0)  # deciduous leaf-out in April
    # crops
    cereal = crop == 0
    f[cereal] = (0.45 + 0.45 * _logistic(t[cereal], 110, 8)) * (1 - _logistic(t[cereal], 162, 6))
    s[cereal] = 0.75 * _logistic(t[cereal], 164, 6)
    maize = crop == 1
    f[maize] = 0.9 * _logistic(t[maize], 158, 7)
    meadow = crop == 2
    mown = np.exp(-(((t[meadow] - 138) / 6.0) ** 2))
    f[meadow] = (0.55 + 0.3 * _logistic(t[meadow], 115, 8)) * (1 - 0.6 * mown)
    s[meadow] = 0.4 * mown
    soy = crop == 3
    f[soy] = 0.75 * _logistic(t[soy], 168, 6)
    f[crop == 4] = 0.06
    return f, s


def unit_reflectance(land: ZoneLandscape, date: dt.date) -> np.ndarray:
    """(units, 13) surface reflectance of each unit on `date`, before texture."""
    f, s = phenology(land, date)
    base = BASES[land.base]
    return base + f[:, None] * (VEG - base) + s[:, None] * (DRY - base)
