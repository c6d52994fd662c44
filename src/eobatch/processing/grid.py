"""`TargetGrid`: the tile's output raster (CRS, transform, size) in the form rasterio wants."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from affine import Affine
from rasterio.crs import CRS


@dataclass(frozen=True)
class TargetGrid:
    """A north-up pixel grid; built from `grids.PixelGrid` with `TargetGrid.of(pixel_grid)`."""

    epsg: int
    transform: Affine
    width: int
    height: int

    @classmethod
    def of(cls, pixel_grid) -> TargetGrid:
        return cls(int(pixel_grid.epsg), pixel_grid.transform, int(pixel_grid.width), int(pixel_grid.height))

    @cached_property
    def crs(self) -> CRS:
        return CRS.from_epsg(self.epsg)

    @property
    def resolution(self) -> float:
        """The larger pixel size, in CRS units."""
        return max(abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        t = self.transform
        xs = (t.c, t.c + t.a * self.width)
        ys = (t.f, t.f + t.e * self.height)
        return min(xs), min(ys), max(xs), max(ys)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width
