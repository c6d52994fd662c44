"""Sentinel-2 demo bands beyond the reflectances: sun/view angle grids (5 km), the Sen2Cor auxiliary
maps (AOT, WVP, SNW, CLD) and the s2cloudless cloud probability CLP, all consistent with the clouds.

* Sun angles come from the standard solar-position approximation (declination, equation of time,
  hour angle) at each grid point and the acquisition time, so they vary smoothly across a scene.
* View angles come from a descending ground track (heading 192°, 786 km altitude) whose nadir line
  lies east of the area on even acquisitions and west of it on odd ones (two relative orbits).
* AOT (0.05-0.35 at 550 nm) and WVP (about 1-3.5 cm) are smooth fields that drift from date to date.
* CLD = 100 * min(opacity / 0.65, 1) (so CLD 100 where SCL says high-probability cloud);
  CLP = 255 * min(0.4 * opacity / 0.35, 1), so CLP >= 102 (0.4, s2cloudless's threshold) exactly
  where CLM is 1; SNW is 0 (no snow in the Po plain in spring).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from affine import Affine
from pyproj import Transformer

from eobatch.collections.demo.area import ZoneGrid
from eobatch.collections.demo.clouds import CLM_OPACITY, at_resolution
from eobatch.collections.demo.noise import fbm, lattices, upsample

ANGLE_GRID_M = 5000.0
ORBIT_ALTITUDE_KM = 786.0
EARTH_RADIUS_KM = 6371.0
TRACK_HEADING_DEG = 192.0
NADIR_LON = (12.95, 10.55)  # even / odd acquisition index
NADIR_LAT = 45.14


def sun_angles(lon: np.ndarray, lat: np.ndarray, when: dt.datetime) -> tuple[np.ndarray, np.ndarray]:
    """(zenith, azimuth clockwise from north) in degrees for points in degrees at a UTC time."""
    when = when.astimezone(dt.UTC)
    hours = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * math.pi / 365 * (when.timetuple().tm_yday - 1 + (hours - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    solar_minutes = hours * 60 + eqtime + 4 * lon
    hour_angle = np.radians(solar_minutes / 4 - 180)
    phi = np.radians(lat)
    cos_zenith = np.sin(phi) * math.sin(decl) + np.cos(phi) * math.cos(decl) * np.cos(hour_angle)
    zenith = np.degrees(np.arccos(np.clip(cos_zenith, -1, 1)))
    azimuth = np.degrees(
        np.arctan2(np.sin(hour_angle), np.cos(hour_angle) * np.sin(phi) - math.tan(decl) * np.cos(phi))
    )
    return zenith, (azimuth + 180.0) % 360.0


def view_angles(lon: np.ndarray, lat: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(zenith, azimuth) in degrees of the satellite seen from each point, for acquisition `index`."""
    heading = math.radians(TRACK_HEADING_DEG - 180.0)  # the track leans this far east of north
    track_lon = NADIR_LON[index % 2] + (lat - NADIR_LAT) * math.tan(heading) / np.cos(np.radians(lat))
    across_km = (lon - track_lon) * 111.32 * np.cos(np.radians(lat)) * math.cos(heading)
    distance = np.abs(across_km)
    zenith = np.degrees(np.arctan(distance / ORBIT_ALTITUDE_KM) + distance / EARTH_RADIUS_KM)
    towards_track = np.where(across_km < 0, TRACK_HEADING_DEG - 90.0, TRACK_HEADING_DEG + 90.0)
    return zenith, towards_track % 360.0


def angle_grid(grid: ZoneGrid) -> tuple[Affine, np.ndarray, np.ndarray]:
    """The 5 km grid covering a zone grid: its transform and the lon/lat of its pixel centres."""
    step = ANGLE_GRID_M
    left, top = math.floor(grid.left / step) * step, math.ceil(grid.top / step) * step
    cols = math.ceil((grid.right - left) / step)
    rows = math.ceil((top - grid.bottom) / step)
    east = left + (np.arange(cols) + 0.5) * step
    north = top - (np.arange(rows) + 0.5) * step
    ee, nn = np.meshgrid(east, north)
    lon, lat = Transformer.from_crs(grid.epsg, 4326, always_xy=True).transform(ee, nn)
    return Affine(step, 0.0, left, 0.0, -step, top), lon, lat


def angle_bands(grid: ZoneGrid, when: dt.datetime, index: int) -> tuple[Affine, dict[str, np.ndarray]]:
    """The four angle grids (float32 degrees) of one zone and acquisition, with their transform."""
    transform, lon, lat = angle_grid(grid)
    sun_zenith, sun_azimuth = sun_angles(lon, lat, when)
    view_zenith, view_azimuth = view_angles(lon, lat, index)
    bands = {
        "sunZenithAngles": sun_zenith,
        "sunAzimuthAngles": sun_azimuth,
        "viewZenithMean": view_zenith,
        "viewAzimuthMean": view_azimuth,
    }
    return transform, {name: values.astype(np.float32) for name, values in bands.items()}


class Atmosphere:
    """Smooth aerosol and water-vapour fields in the shared local frame, drifting between dates."""

    def __init__(self, seed: int):
        self._aot = lattices(seed + 211, 3)
        self._wvp = lattices(seed + 223, 3)

    def fields(self, grid: ZoneGrid, date: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """(AOT at 550 nm, water vapour in cm) at 60 m."""
        x, y = grid.local_coordinates(60.0)
        days = (date - dt.date(2024, 4, 1)).days
        shift = np.float32(1700.0 * days)
        aot = 0.05 + 0.30 * fbm(x + shift, y, 14000.0, self._aot) * (0.6 + 0.4 * math.sin(days / 9.0) ** 2)
        season = 1.2 + 1.6 * min(max(days / 90.0, 0.0), 1.0)
        wvp = season + 0.8 * (fbm(x, y - shift, 18000.0, self._wvp) - 0.5)
        return aot.astype(np.float32), wvp.astype(np.float32)


def auxiliary_bands(
    atmosphere: Atmosphere, grid: ZoneGrid, date: dt.date, alpha60: np.ndarray
) -> dict[str, np.ndarray]:
    """AOT, WVP (uint16 DN = value * 1000), SNW, CLD (uint8 percent), CLP (uint8 0..255), all at 20 m."""
    aot, wvp = atmosphere.fields(grid, date)
    alpha = at_resolution(alpha60, 3)
    clp_scale = np.float32(0.4 / CLM_OPACITY)
    return {
        "AOT": np.rint(upsample(aot, 3) * 1000.0).astype(np.uint16),
        "WVP": np.rint(upsample(wvp, 3) * 1000.0).astype(np.uint16),
        "SNW": np.zeros(alpha.shape, dtype=np.uint8),
        "CLD": np.rint(100.0 * np.clip(alpha / np.float32(0.65), 0.0, 1.0)).astype(np.uint8),
        "CLP": np.rint(255.0 * np.clip(alpha * clp_scale, 0.0, 1.0)).astype(np.uint8),
    }
