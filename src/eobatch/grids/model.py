"""The value objects of the grids package: a grid descriptor, a grid tile (one, or many as columns) and a
tile's pixel grid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import affine
import numpy as np


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


@dataclass(frozen=True, eq=False)
class TileColumns:
    """Many tiles of one grid as columns, without an object per tile (an analysis may have ~100 000):
    row k is the `GridTile` `tile(k)`."""

    grid_id: int
    ids: list[int]
    names: list[str]
    epsgs: np.ndarray  # int64
    bounds: np.ndarray  # float64, shape (n, 4): minx, miny, maxx, maxy in EPSG:epsgs[k]

    @classmethod
    def of(cls, tiles: Sequence[GridTile]) -> TileColumns:
        """The columns of `tiles` (all of one grid)."""
        return cls(
            tiles[0].grid_id if tiles else NO_GRID_ID,
            [t.id for t in tiles],
            [t.name for t in tiles],
            np.array([t.epsg for t in tiles], dtype=np.int64),
            np.array([t.bounds for t in tiles], dtype=np.float64).reshape(len(tiles), 4),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: np.ndarray) -> TileColumns:
        """The rows at `index`, in its order."""
        rows = index.tolist()
        return TileColumns(
            self.grid_id,
            [self.ids[k] for k in rows],
            [self.names[k] for k in rows],
            self.epsgs[index],
            self.bounds[index],
        )

    def tile(self, k: int) -> GridTile:
        minx, miny, maxx, maxy = self.bounds[k].tolist()
        return GridTile(self.grid_id, self.ids[k], self.names[k], int(self.epsgs[k]), (minx, miny, maxx, maxy))

    def tiles(self) -> list[GridTile]:
        """Every row as a `GridTile`."""
        epsgs, bounds = self.epsgs.tolist(), map(tuple, self.bounds.tolist())
        return [
            GridTile(self.grid_id, i, n, e, b) for i, n, e, b in zip(self.ids, self.names, epsgs, bounds, strict=True)
        ]


@dataclass(frozen=True)
class PixelGrid:
    """The output raster of a tile at one resolution, buffer included."""

    epsg: int
    transform: affine.Affine
    width: int
    height: int
