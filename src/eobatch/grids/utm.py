"""UTM grids (ids 0, 1, 2): Sentinel-2 style tiles in every UTM zone, named after their MGRS square.

See the package docstring for the rules. In short, for tile size `s` (10000, 20040 or 100080 m):
each zone and hemisphere has one lattice of `s`-metre cells aligned on multiples of `s` in its own
CRS (EPSG 326zz north of the equator, 327zz south); a cell is a tile when it reaches into the zone's
strip (6 degrees of longitude, 80S-0 or 0-84N). A tile belongs to the MGRS 100 km square holding its
upper-left corner and is named `<zone><band><square>_<column>_<row>`, counted from the square's first
lattice column (east) and top lattice row (south).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from eobatch.grids import mgrs
from eobatch.grids.geo import WGS84, polygonal, project_lonlat, transformer
from eobatch.grids.lattice import reaches_into

SOUTH_LIMIT = -80.0
NORTH_LIMIT = 84.0
SQ = mgrs.SQUARE
_NAME = re.compile(r"^(\d{2})([C-HJ-NP-X])([A-HJ-NP-Z])([A-HJ-NP-V])_(\d)_(\d)$")


def epsg_of(zone: int, south: bool) -> int:
    return (32700 if south else 32600) + zone


def zone_of(epsg: int) -> tuple[int, bool]:
    return epsg % 100, epsg // 100 == 327


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class UtmScheme:
    """Tiles, names and ids of one UTM grid with square tiles of `size` metres."""

    def __init__(self, size: int):
        self.size = size

    # which CRS parts an area falls into ------------------------------------------------------
    def region(self, epsg: int) -> BaseGeometry:
        """The strip of the zone and hemisphere of `epsg`, in lon/lat."""
        zone, south = zone_of(epsg)
        west = -180.0 + 6.0 * (zone - 1)
        return shapely.box(west, SOUTH_LIMIT if south else 0.0, west + 6.0, 0.0 if south else NORTH_LIMIT)

    def parts(self, area: BaseGeometry) -> list[tuple[int, BaseGeometry]]:
        """(epsg, the area's part in that zone and hemisphere) for every part with a positive area."""
        minx, miny, maxx, maxy = area.bounds
        first = min(int((minx + 180.0) // 6.0) + 1, 60)
        last = min(int((maxx + 180.0) // 6.0) + 1, 60)
        result = []
        for zone in range(first, last + 1):
            for south in (True, False):
                if (south and miny >= 0.0) or (not south and maxy <= 0.0):
                    continue
                epsg = epsg_of(zone, south)
                part = polygonal(shapely.intersection(area, self.region(epsg)))
                if not part.is_empty and part.area > 0.0:
                    result.append((epsg, part))
        return result

    def keep(self, epsg: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return np.ones(len(i), dtype=bool)

    def exists(self, epsg: int, i: int, j: int) -> bool:
        return reaches_into(_projected_region(self, epsg), i, j, self.size)

    # names and ids -----------------------------------------------------------------------------
    def labels(self, epsg: int, i: np.ndarray, j: np.ndarray) -> tuple[list[int], list[str]]:
        """Ids and names of the tiles (i, j) of `epsg` (vectorised)."""
        zone, south = zone_of(epsg)
        s = self.size
        e = (i * s) // SQ
        n = _ceil_div_arr(j * s, SQ) - 1
        col = i - _ceil_div_arr(e * SQ, s)
        row = ((n + 1) * SQ) // s - j
        _, lat = transformer(epsg, WGS84).transform((i + 0.5) * s, (j - 0.5) * s)
        lat = np.clip(np.asarray(lat), -80.0, -1e-9) if south else np.clip(np.asarray(lat), 0.0, 83.999)
        bands = np.minimum(((lat + 80.0) // 8.0).astype(np.int64), 19)
        ids = zone * 10**7 + int(south) * 10**6 + e * 10**5 + n * 100 + col * 10 + row
        names = [
            f"{zone:02d}{mgrs.BANDS[b]}{mgrs.square_letters(zone, ee, nn)}_{c}_{r}"
            for b, ee, nn, c, r in zip(bands.tolist(), e.tolist(), n.tolist(), col.tolist(), row.tolist(), strict=True)
        ]
        return ids.tolist(), names

    def decode_id(self, tile_id: int) -> tuple[int, int, int]:
        """(epsg, i, j) of a tile id; ValueError if the id is not of this grid's form."""
        row, col = tile_id % 10, tile_id // 10 % 10
        n, e = tile_id // 100 % 1000, tile_id // 10**5 % 10
        south, zone = tile_id // 10**6 % 10, tile_id // 10**7
        if not (1 <= zone <= 60 and south in (0, 1) and 1 <= e <= 8 and n <= 100):
            raise ValueError("not a UTM tile id")
        i, j = self._lattice(e, n, col, row)
        return epsg_of(zone, bool(south)), i, j

    def parse_name(self, name: str) -> tuple[int, int, int]:
        """(epsg, i, j) of a tile name; ValueError if the name is not of this grid's form."""
        match = _NAME.match(name)
        if not match:
            raise ValueError("not a UTM tile name")
        zone, band, col_letter, row_letter = int(match[1]), match[2], match[3], match[4]
        if not 1 <= zone <= 60:
            raise ValueError("zone out of range")
        south = band < "N"
        epsg = epsg_of(zone, south)
        e = mgrs.easting_index(zone, col_letter)
        n = _square_row(epsg, band, mgrs.northing_residue(zone, row_letter))
        i, j = self._lattice(e, n, int(match[5]), int(match[6]))
        return epsg, i, j

    def _lattice(self, e: int, n: int, col: int, row: int) -> tuple[int, int]:
        return _ceil_div(e * SQ, self.size) + col, ((n + 1) * SQ) // self.size - row


def _ceil_div_arr(a: np.ndarray, b: int) -> np.ndarray:
    return -(-a // b)


def _square_row(epsg: int, band: str, residue: int) -> int:
    """The 100 km northing index with this residue (mod 20) that lies in `band` at the central meridian."""
    zone, _ = zone_of(epsg)
    lat_s, lat_n = mgrs.band_latitudes(band)
    cm = -183.0 + 6.0 * zone
    _, (y_s, y_n) = transformer(WGS84, epsg).transform([cm, cm], [lat_s, lat_n])
    mid = (y_s + y_n) / 2.0 / SQ
    candidates = [residue + 20 * k for k in range(6) if residue + 20 * k <= 100]
    return min(candidates, key=lambda n: abs(n + 0.5 - mid))


@lru_cache(maxsize=256)
def _projected_region_cached(size: int, epsg: int) -> BaseGeometry:
    geom = project_lonlat(UtmScheme(size).region(epsg), epsg)
    shapely.prepare(geom)
    return geom


def _projected_region(scheme: UtmScheme, epsg: int) -> BaseGeometry:
    return _projected_region_cached(scheme.size, epsg)
