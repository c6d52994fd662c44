"""The SYNTHETIC Landsat 8-9 OLI-TIRS Collection 2 demo, Level 1 and Level 2, over the S2 demo area.

Landsat 8 and 9 alternate every 8 days (09:52 UTC). As real Landsat scenes, each acquisition is one
scene in one UTM zone (33) covering the whole area, 30 m pixels (15 m panchromatic). Surface
reflectance comes from the same landscape and clouds as the S2 demo (Landsat bands mapped to their
S2 counterparts); top-of-atmosphere adds the same simple atmosphere. Surface temperature follows land
cover and the season (water cool, town and bare soil warm, vegetation cooler as it greens); clouds
are cold. Values are encoded with the Collection 2 rescaling (presets.py), QA_PIXEL with the
Collection 2 bit layout. Level 1 reflectance is stored with the sun-elevation correction already
applied (eobatch applies no per-scene correction; see docs/collections.md).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from rasterio.warp import transform_bounds

from eobatch.collections.demo.area import DEMO_BBOX, ZoneGrid
from eobatch.collections.demo.clouds import CLM_OPACITY, at_resolution
from eobatch.collections.demo.landscape import (
    CLOUD,
    U_BARE,
    U_URBAN,
    U_WATER,
    ZoneLandscape,
    phenology,
    unit_reflectance,
)
from eobatch.collections.demo.render import PATH, TRANS
from eobatch.collections.demo.s2_extras import sun_angles
from eobatch.collections.presets import L1_RADIANCE, L1_REFLECTANCE, L1_THERMAL_K, L2_REFLECTANCE, L2_TEMPERATURE

LANDSAT_DATES = tuple(dt.date(2024, 4, 4) + dt.timedelta(days=8 * k) for k in range(11))
LANDSAT_TIME = dt.time(9, 52, 7)
LANDSAT_ZONE = 33
# Landsat band -> index of the S2 band it borrows (SPECTRAL_BANDS order), for B01..B07.
S2_INDEX = {"B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 8, "B06": 11, "B07": 12}
CLOUD_TEMPERATURE_K = 248.0


def acquisitions() -> list[dt.datetime]:
    return [dt.datetime.combine(d, LANDSAT_TIME, tzinfo=dt.UTC) for d in LANDSAT_DATES]


def scene_grid() -> ZoneGrid:
    """One zone-33 grid over the whole demo box (snapped to 60 m, so the 30/15 m grids nest in it)."""
    epsg = 32600 + LANDSAT_ZONE
    left, bottom, right, top = transform_bounds(4326, epsg, *DEMO_BBOX, densify_pts=51)
    step = 60.0
    snap = [math.floor(left / step) * step, math.floor(bottom / step) * step]
    snap += [math.ceil(right / step) * step, math.ceil(top / step) * step]
    return ZoneGrid(LANDSAT_ZONE, epsg, *snap)


def _surface_temperature(land: ZoneLandscape, date: dt.date) -> np.ndarray:
    """Kelvin per unit."""
    f, _ = phenology(land, date)
    season = 10.0 * min(max((date - dt.date(2024, 4, 1)).days / 90.0, 0.0), 1.0)
    temp = 291.0 + season + 6.0 * (1.0 - f) - 4.0 * f
    temp[U_WATER] = 287.0 + 0.6 * season
    temp[U_URBAN] = 297.0 + season
    temp[U_BARE] = 298.0 + season
    return temp


def _planck_dn(temperature: np.ndarray, band: str) -> np.ndarray:
    k1, k2 = L1_THERMAL_K[band]
    radiance = k1 / np.expm1(k2 / temperature)
    return (radiance - L1_RADIANCE[1]) / L1_RADIANCE[0]


def _uint16(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 1, 65535).astype(np.uint16)


def qa_pixel(alpha: np.ndarray, shadow: np.ndarray, water: np.ndarray) -> np.ndarray:
    """Collection 2 QA_PIXEL: cloud (bit 3) with confidence (bits 8-9), dilated cloud (1), shadow (4,
    confidence 10-11), clear (6), water (7); snow and cirrus confidence low (bits 12, 14)."""
    cloud = alpha >= CLM_OPACITY
    shade = (shadow > 0.3) & ~cloud
    confidence = np.where(alpha >= 0.65, 3, np.where(cloud, 2, 1)).astype(np.uint16)
    qa = (confidence << 8) | np.uint16(1 << 12) | np.uint16(1 << 14)
    qa |= np.where(shade, np.uint16(3 << 10 | 1 << 4), np.uint16(1 << 10))
    qa |= np.where(cloud, np.uint16(1 << 3), np.uint16(0))
    qa |= np.where((alpha >= 0.1) & ~cloud, np.uint16(1 << 1), np.uint16(0))
    qa |= np.where(~cloud & ~shade, np.uint16(1 << 6), np.uint16(0))
    qa |= np.where(water & ~cloud, np.uint16(1 << 7), np.uint16(0))
    return qa.astype(np.uint16)


def _angles(grid: ZoneGrid, when: dt.datetime, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """SZA, SAA, VZA, VAA in hundredths of a degree (int16): sun at the scene centre row/column
    lines, view from a nadir track 20 km east of the area."""
    from pyproj import Transformer

    rows, cols = shape
    east, north = grid.centres(30.0)
    ee, nn = np.meshgrid(east[:: max(cols // 8, 1)], north[:: max(rows // 8, 1)])
    lon, lat = Transformer.from_crs(grid.epsg, 4326, always_xy=True).transform(ee, nn)
    zenith, azimuth = sun_angles(lon, lat, when)
    x = (east - east.mean()) / 1000.0 - 20.0  # km from the nadir track
    vza = np.degrees(np.arctan(np.abs(x) / 705.0))
    vaa = np.where(x < 0, 100.0, 280.0)
    out = {
        "SZA": np.full(shape, zenith.mean()),
        "SAA": np.full(shape, azimuth.mean()),
        "VZA": np.broadcast_to(vza[None, :], shape),
        "VAA": np.broadcast_to(vaa[None, :], shape),
    }
    return {k: np.rint(v * 100.0).astype(np.int16) for k, v in out.items()}


def render(
    land: ZoneLandscape, grid: ZoneGrid, when: dt.datetime, alpha60: np.ndarray, shadow60: np.ndarray, levels
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """(Level-1 arrays, Level-2 arrays, cloud cover %) of one acquisition."""
    date = when.date()
    units, gain = land.at(3)
    alpha, shadow = at_resolution(alpha60, 2), at_resolution(shadow60, 2)
    ground = gain * (1.0 - 0.6 * shadow) * (1.0 - alpha)
    refl = unit_reflectance(land, date).astype(np.float32)
    surface = {}
    for band, i in S2_INDEX.items():
        surface[band] = refl[:, i][units] * ground + alpha * np.float32(CLOUD[i])
    temperature = _surface_temperature(land, date).astype(np.float32)[units]
    temperature = temperature * (1.0 - alpha) + np.float32(CLOUD_TEMPERATURE_K) * alpha
    water = units == U_WATER
    qa = qa_pixel(alpha, shadow, water)
    radsat = np.zeros(units.shape, dtype=np.uint16)
    cloud_cover = round(float((alpha >= CLM_OPACITY).mean()) * 100.0, 2)
    l1: dict[str, np.ndarray] = {}
    l2: dict[str, np.ndarray] = {}
    if "landsat-ot-l1" in levels:
        scale, offset = L1_REFLECTANCE
        for band, i in S2_INDEX.items():
            toa = surface[band] * np.float32(TRANS[i]) + np.float32(PATH[i])
            l1[band] = _uint16((toa - offset) / scale)
        rows, cols = grid.shape(15.0)
        r, c = (np.arange(rows) * 1.5 + 0.75).astype(int), (np.arange(cols) * 1.5 + 0.75).astype(int)
        units15, gain15 = land.units[r][:, c], land.gain[r][:, c]
        alpha15 = np.repeat(np.repeat(alpha, 2, axis=0), 2, axis=1)
        pan = (refl[:, 2] + refl[:, 3])[units15] * 0.5 * gain15 * 0.95 + 0.035
        l1["B08"] = _uint16((pan * (1.0 - alpha15) + 0.5 * alpha15 - offset) / scale)
        l1["B09"] = _uint16((0.0012 + 0.03 * alpha - offset) / scale)
        l1["B10"] = _uint16(_planck_dn(temperature - 2.0, "B10"))
        l1["B11"] = _uint16(_planck_dn(temperature - 3.0, "B11"))
        l1["BQA"], l1["QA_RADSAT"] = qa, radsat
        l1.update(_angles(grid, when, units.shape))
    if "landsat-ot-l2" in levels:
        scale, offset = L2_REFLECTANCE
        for band in S2_INDEX:
            l2[band] = _uint16((surface[band] - offset) / scale)
        l2["B10"] = _uint16((temperature - L2_TEMPERATURE[1]) / L2_TEMPERATURE[0])
        l2["BQA"], l2["QA_RADSAT"] = qa, radsat
        l2["SR_QA_AEROSOL"] = np.full(units.shape, 66, dtype=np.uint8)  # valid retrieval, low aerosol
        emissivity = np.where(water, 0.99, 0.97)
        for name, value in (
            ("ST_QA", 150.0 + 400.0 * alpha),
            ("ST_TRAD", 9500.0 - 2500.0 * alpha),
            ("ST_URAD", np.full(units.shape, 1500.0)),
            ("ST_DRAD", np.full(units.shape, 2500.0)),
            ("ST_ATRAN", np.full(units.shape, 8500.0)),
            ("ST_EMIS", emissivity * 10000.0),
            ("ST_EMSD", np.full(units.shape, 100.0)),
            ("ST_CDIST", np.where(alpha >= CLM_OPACITY, 0.0, 300.0)),
        ):
            l2[name] = np.rint(value).astype(np.int16)
    return l1, l2, cloud_cover
