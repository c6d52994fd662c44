"""Where and when the synthetic demo archive has data, and the per-zone pixel grids of its scenes."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import Transformer
from rasterio.warp import transform_bounds
from shapely.geometry import Polygon, box

# lon/lat box fully covered by data in both UTM zones (zone boundary at 12°E).
DEMO_BBOX = (11.85, 45.07, 12.15, 45.21)
DEMO_AREA_WGS84 = box(*DEMO_BBOX)
DEMO_TIME_RANGE = (
    dt.datetime(2024, 4, 1, tzinfo=dt.UTC),
    dt.datetime(2024, 6, 30, 23, 59, 59, tzinfo=dt.UTC),
)
ZONE_OVERLAP_DEG = 0.012  # each zone's scenes reach this far past 12°E (about 1 km)
GRID_STEP = 60.0  # scene bounds snap to 60 m so 10/20/60 m grids align exactly
ACQUISITION_TIME = dt.time(10, 10, 21)

# Day of month per acquisition (about every 8 days, two alternating satellites).
ACQUISITION_DATES = tuple(
    dt.date(2024, m, d)
    for m, d in (
        (4, 3),
        (4, 11),
        (4, 18),
        (4, 26),
        (5, 6),
        (5, 13),
        (5, 21),
        (5, 28),
        (6, 5),
        (6, 13),
        (6, 20),
        (6, 28),
    )
)
# Target cloud cover (percent of the whole demo area) for each date.
CLOUD_TARGETS = (0.0, 35.0, 80.0, 10.0, 55.0, 5.0, 95.0, 20.0, 0.0, 65.0, 15.0, 40.0)

# Local metric frame (metres east/north of the area centre), shared by both zones so the landscape
# and the clouds agree where the zones overlap.
LON0 = (DEMO_BBOX[0] + DEMO_BBOX[2]) / 2
LAT0 = (DEMO_BBOX[1] + DEMO_BBOX[3]) / 2
M_PER_DEG_LAT = 111_132.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))


def acquisitions() -> list[dt.datetime]:
    return [dt.datetime.combine(d, ACQUISITION_TIME, tzinfo=dt.UTC) for d in ACQUISITION_DATES]


@dataclass(frozen=True)
class ZoneGrid:
    """The 10 m pixel grid of one zone's scenes."""

    zone: int
    epsg: int
    left: float
    bottom: float
    right: float
    top: float

    def shape(self, resolution: float) -> tuple[int, int]:
        return (round((self.top - self.bottom) / resolution), round((self.right - self.left) / resolution))

    def transform(self, resolution: float) -> Affine:
        return Affine(resolution, 0.0, self.left, 0.0, -resolution, self.top)

    def centres(self, resolution: float) -> tuple[np.ndarray, np.ndarray]:
        """Easting of column centres, northing of row centres."""
        rows, cols = self.shape(resolution)
        east = self.left + (np.arange(cols) + 0.5) * resolution
        north = self.top - (np.arange(rows) + 0.5) * resolution
        return east, north

    def footprint_wgs84(self) -> Polygon:
        n = 16
        t = np.linspace(0.0, 1.0, n, endpoint=False)
        lft, b, r, tp = self.left, self.bottom, self.right, self.top
        xs = np.concatenate([lft + (r - lft) * t, np.full(n, r), r - (r - lft) * t, np.full(n, lft)])
        ys = np.concatenate([np.full(n, b), b + (tp - b) * t, np.full(n, tp), tp - (tp - b) * t])
        lon, lat = Transformer.from_crs(self.epsg, 4326, always_xy=True).transform(xs, ys)
        return Polygon(zip(np.round(lon, 7), np.round(lat, 7), strict=True))

    def local_frame_fit(self) -> tuple[np.ndarray, np.ndarray]:
        """Quadratic coefficients mapping (E, N) of this zone to the shared local frame (x, y)."""
        e = np.linspace(self.left, self.right, 9)
        n = np.linspace(self.bottom, self.top, 9)
        ee, nn = (a.ravel() for a in np.meshgrid(e, n))
        lon, lat = Transformer.from_crs(self.epsg, 4326, always_xy=True).transform(ee, nn)
        x = (lon - LON0) * M_PER_DEG_LON
        y = (lat - LAT0) * M_PER_DEG_LAT
        de, dn = (ee - self.left) / 1000.0, (nn - self.bottom) / 1000.0
        design = np.stack([np.ones_like(de), de, dn, de * de, de * dn, dn * dn], axis=1)
        cx = np.linalg.lstsq(design, x, rcond=None)[0]
        cy = np.linalg.lstsq(design, y, rcond=None)[0]
        return cx, cy

    def local_coordinates(self, resolution: float) -> tuple[np.ndarray, np.ndarray]:
        """float32 (rows, cols) arrays of local-frame x and y (metres) at pixel centres."""
        east, north = self.centres(resolution)
        de = ((east - self.left) / 1000.0)[None, :]
        dn = ((north - self.bottom) / 1000.0)[:, None]
        out = []
        for c in self.local_frame_fit():
            v = (c[0] + c[1] * de + c[3] * de * de) + (c[2] * dn + c[5] * dn * dn) + c[4] * dn * de
            out.append(v.astype(np.float32))
        return out[0], out[1]


def zone_grids() -> list[ZoneGrid]:
    """The zone 32 and zone 33 grids, each covering its half of DEMO_BBOX plus the overlap."""
    west, south, east, north = DEMO_BBOX
    parts = {32: (west, 12.0 + ZONE_OVERLAP_DEG), 33: (12.0 - ZONE_OVERLAP_DEG, east)}
    grids = []
    for zone, (lo, hi) in parts.items():
        epsg = 32600 + zone
        lft, b, r, t = transform_bounds(4326, epsg, lo, south, hi, north, densify_pts=51)
        step = GRID_STEP
        grids.append(
            ZoneGrid(
                zone,
                epsg,
                math.floor(lft / step) * step,
                math.floor(b / step) * step,
                math.ceil(r / step) * step,
                math.ceil(t / step) * step,
            )
        )
    return grids
