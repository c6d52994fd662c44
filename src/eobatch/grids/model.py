"""The value objects of the grids package: a grid descriptor, a grid tile and a tile's pixel grid."""

from __future__ import annotations

from dataclasses import dataclass

import affine


@dataclass(frozen=True)
class TilingGrid:
    """A grid descriptor as served by `/tilinggrids`; sizes and resolutions are in `unit`."""

    id: int
    name: str
    tile_width: float
    tile_height: float
    resolutions: tuple[float, ...]
    unit: str  # "METRE" | "DEGREE"


NO_GRID_ID = -1  # `GridTile.grid_id` of a tile that is no grid cell (a GeoPackage feature, a Process API window)


@dataclass(frozen=True)
class GridTile:
    """One tile of a grid, without buffer. `bounds` is (minx, miny, maxx, maxy) in EPSG:`epsg`."""

    grid_id: int
    id: int
    name: str
    epsg: int
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class PixelGrid:
    """The output raster of a tile at one resolution, buffer included."""

    epsg: int
    transform: affine.Affine
    width: int
    height: int
