"""One synthetic acquisition of one zone: L2A and L1C band arrays (uint16 DN, uint8 SCL/CLM)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from eobatch.collections.demo.clouds import CLM_OPACITY, at_resolution
from eobatch.collections.demo.landscape import (
    CLOUD,
    SPECTRAL_BANDS,
    U_FOREST,
    U_WATER,
    ZoneLandscape,
    phenology,
    unit_reflectance,
)

RESOLUTION = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B10": 60,
    "B11": 20,
    "B12": 20,
    "SCL": 20,
    "CLM": 20,
}
L2A_BANDS = (*(b for b in SPECTRAL_BANDS if b != "B10"), "SCL", "CLM")
L1C_BANDS = (*SPECTRAL_BANDS, "CLM")

# top of atmosphere ~ PATH + TRANS * surface (a crude, smooth stand-in for the atmosphere)
#                 B01    B02    B03   B04    B05    B06   B07    B08    B8A    B09   B10  B11    B12
PATH = np.array([0.105, 0.075, 0.045, 0.030, 0.025, 0.020, 0.018, 0.015, 0.014, 0.008, 0, 0.006, 0.003])
TRANS = np.array([0.88, 0.90, 0.92, 0.94, 0.95, 0.95, 0.96, 0.96, 0.96, 0.50, 0, 0.97, 0.97])
SHADOW_DARKENING = 0.6


@dataclass
class Acquisition:
    l2a: dict[str, np.ndarray]
    l1c: dict[str, np.ndarray]
    cloud_cover: float


def _to_dn(scaled: np.ndarray) -> np.ndarray:
    """uint16 DN from reflectance*10000+0.5 (rounded half up), kept in 1..65535 (0 is nodata)."""
    np.clip(scaled, 1.0, 65535.0, out=scaled)
    return scaled.astype(np.uint16)


def _scl(units: np.ndarray, f: np.ndarray, alpha: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    unit_class = np.where(f > 0.3, 4, 5).astype(np.uint8)
    unit_class[U_FOREST] = 4
    unit_class[U_WATER] = 6
    scl = unit_class[units]
    scl[shadow > 0.3] = 3
    scl[alpha >= 0.1] = 10
    scl[alpha >= CLM_OPACITY] = 8
    scl[alpha >= 0.65] = 9
    return scl


def render(
    land: ZoneLandscape,
    date: dt.date,
    alpha60: np.ndarray,
    shadow60: np.ndarray,
    levels: tuple[str, ...] = ("sentinel-2-l2a", "sentinel-2-l1c"),
) -> Acquisition:
    """The bands of the requested levels for one zone and date.

    surface = ground * gain * (1 - 0.6 shadow) * (1 - alpha) + alpha * cloud; L1C = path + T * surface.
    """
    want_l2a, want_l1c = "sentinel-2-l2a" in levels, "sentinel-2-l1c" in levels
    unit_refl = (unit_reflectance(land, date) * 10000.0).astype(np.float32)
    layers = {}
    for res in (10, 20, 60):
        units, gain = land.at(res // 10)
        k = 60 // res
        alpha, shadow = at_resolution(alpha60, k), at_resolution(shadow60, k)
        ground_factor = gain * (1.0 - SHADOW_DARKENING * shadow) * (1.0 - alpha)
        layers[res] = (units, gain, alpha, shadow, ground_factor)
    l2a: dict[str, np.ndarray] = {}
    l1c: dict[str, np.ndarray] = {}
    for i, band in enumerate(SPECTRAL_BANDS):
        units, gain, alpha, _, ground_factor = layers[RESOLUTION[band]]
        if band == "B10":
            if want_l1c:
                l1c[band] = _to_dn(12.5 + 15.0 * gain + 2200.0 * alpha)
            continue
        scaled = np.take(np.ascontiguousarray(unit_refl[:, i]), units)
        scaled *= ground_factor
        scaled += alpha * np.float32(CLOUD[i] * 10000.0)
        if want_l1c:
            l1c[band] = _to_dn(scaled * np.float32(TRANS[i]) + np.float32(PATH[i] * 10000.0 + 0.5))
        if want_l2a:
            scaled += np.float32(0.5)
            l2a[band] = _to_dn(scaled)
    units, _, alpha, shadow, _ = layers[20]
    clm = (alpha >= CLM_OPACITY).astype(np.uint8)
    if want_l2a:
        f, _ = phenology(land, date)
        l2a["SCL"] = _scl(units, f, alpha, shadow)
        l2a["CLM"] = clm
    if want_l1c:
        l1c["CLM"] = clm
    return Acquisition(l2a, l1c, round(float(clm.mean()) * 100.0, 2))
