"""The WGS84 1 degree grid (id 3): one tile per whole-degree cell of lon/lat, the whole globe.

Tiles are named after their south-west corner like SRTM and Copernicus DEM tiles: `N45E014` spans
latitude 45..46 and longitude 14..15, `S01W001` spans -1..0 and -1..0. Ids are
`(lat_south + 90) * 1000 + (lon_west + 180)`, so N45E014 is 135194.
"""

from __future__ import annotations

import re

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from eobatch.grids.geo import WGS84, WORLD, polygonal

_NAME = re.compile(r"^([NS])(\d{2})([EW])(\d{3})$")


class Wgs84Scheme:
    """Tiles, names and ids of the 1 degree lon/lat grid."""

    size = 1.0

    def region(self, epsg: int) -> BaseGeometry:
        return WORLD

    def parts(self, area: BaseGeometry) -> list[tuple[int, BaseGeometry]]:
        part = polygonal(shapely.intersection(area, WORLD))
        return [(WGS84, part)] if not part.is_empty and part.area > 0.0 else []

    def keep(self, epsg: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return (i >= -180) & (i < 180) & (j > -90) & (j <= 90)

    def exists(self, epsg: int, i: int, j: int) -> bool:
        return epsg == WGS84 and bool(self.keep(epsg, np.array([i]), np.array([j]))[0])

    def labels(self, epsg: int, i: np.ndarray, j: np.ndarray) -> tuple[list[int], list[str]]:
        lat, lon = (j - 1).tolist(), i.tolist()
        ids = [(a + 90) * 1000 + (o + 180) for a, o in zip(lat, lon, strict=True)]
        names = [
            f"{'N' if a >= 0 else 'S'}{abs(a):02d}{'E' if o >= 0 else 'W'}{abs(o):03d}"
            for a, o in zip(lat, lon, strict=True)
        ]
        return ids, names

    def decode_id(self, tile_id: int) -> tuple[int, int, int]:
        lat, lon = tile_id // 1000 - 90, tile_id % 1000 - 180
        if not (-90 <= lat < 90 and -180 <= lon < 180):
            raise ValueError("not a WGS84 tile id")
        return WGS84, lon, lat + 1

    def parse_name(self, name: str) -> tuple[int, int, int]:
        match = _NAME.match(name)
        if not match:
            raise ValueError("not a WGS84 tile name")
        lat = int(match[2]) * (1 if match[1] == "N" else -1)
        lon = int(match[4]) * (1 if match[3] == "E" else -1)
        return WGS84, lon, lat + 1
