"""The LAEA grids (ids 6: 100 km, 7: 20 km) in EPSG:3035, named like the EEA reference grid.

Cells are aligned on multiples of the cell size from the CRS origin. The grid covers the area of use
of EPSG:3035 (lon -35.58..44.83, lat 24.6..84.73: Europe with Turkey, Iceland, Svalbard, the Azores
and the Canaries) where easting and northing are not negative. A cell is named
`<size>E<easting>N<northing>` from its lower-left corner, with easting and northing divided by
10^(number of trailing zeros of the cell size in metres): `100kmE43N32` is the 100 km cell at
x 4 300 000, y 3 200 000 and `20kmE432N320` the 20 km cell at x 4 320 000, y 3 200 000. Ids are
`(easting / size) * 10000 + (northing / size)`: 430032 and 2160160.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from eobatch.grids.geo import polygonal, project_lonlat
from eobatch.grids.lattice import reaches_into

EPSG = 3035
EXTENT_LONLAT = (-35.58, 24.6, 44.83, 84.73)  # pyproj area of use of EPSG:3035


class LaeaScheme:
    """Tiles, names and ids of an EEA-style LAEA grid of `size` metres."""

    def __init__(self, size: int):
        self.size = size
        zeros = len(str(size)) - len(str(size).rstrip("0"))
        self.divisor = 10**zeros
        self.label = f"{size // 1000}km"
        self._name = re.compile(rf"^{self.label}E(\d+)N(\d+)$")

    def region(self, epsg: int) -> BaseGeometry:
        return shapely.box(*EXTENT_LONLAT)

    def parts(self, area: BaseGeometry) -> list[tuple[int, BaseGeometry]]:
        part = polygonal(shapely.intersection(area, self.region(EPSG)))
        return [(EPSG, part)] if not part.is_empty and part.area > 0.0 else []

    def keep(self, epsg: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return (i >= 0) & (j >= 1) & (i < 10000) & (j <= 10000)

    def exists(self, epsg: int, i: int, j: int) -> bool:
        inside = bool(self.keep(epsg, np.array([i]), np.array([j]))[0])
        return epsg == EPSG and inside and reaches_into(_projected_extent(), i, j, self.size)

    def labels(self, epsg: int, i: np.ndarray, j: np.ndarray) -> tuple[list[int], list[str]]:
        ids = (i * 10000 + (j - 1)).tolist()
        east = (i * self.size // self.divisor).tolist()
        north = ((j - 1) * self.size // self.divisor).tolist()
        names = [f"{self.label}E{e}N{n}" for e, n in zip(east, north, strict=True)]
        return ids, names

    def decode_id(self, tile_id: int) -> tuple[int, int, int]:
        return EPSG, tile_id // 10000, tile_id % 10000 + 1

    def parse_name(self, name: str) -> tuple[int, int, int]:
        match = self._name.match(name)
        if not match:
            raise ValueError("not a LAEA tile name")
        east, north = int(match[1]) * self.divisor, int(match[2]) * self.divisor
        if east % self.size or north % self.size:
            raise ValueError("corner not on the grid")
        return EPSG, east // self.size, north // self.size + 1


@lru_cache(maxsize=1)
def _projected_extent() -> BaseGeometry:
    geom = project_lonlat(shapely.box(*EXTENT_LONLAT), EPSG)
    shapely.prepare(geom)
    return geom
