"""The area of interest on a tile: its part in the tile's CRS, the search footprint and the pixel mask."""

from __future__ import annotations

import numpy as np
import shapely
from rasterio.features import geometry_mask
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry

from eobatch.processing.grid import TargetGrid


def area_in_tile_crs(area_wgs84: BaseGeometry, tile, *, on_grid: bool) -> BaseGeometry:
    """The area's part in the tile's CRS (grids.area_part_in_tile_crs: the tile zone's part only).

    A tile that is no grid cell (`on_grid` False: `BatchPlan.grid` is None, a GeoPackage feature or a
    Process API window) has no grid zone: the whole area is projected to the tile's CRS.
    """
    from eobatch.grids import area_part_in_tile_crs
    from eobatch.grids.geo import polygonal, project_lonlat

    if not on_grid:
        return project_lonlat(polygonal(area_wgs84), tile.epsg)
    return area_part_in_tile_crs(area_wgs84, tile)


def grid_footprint_wgs84(grid: TargetGrid) -> BaseGeometry:
    """The pixel grid's outline (buffer included) in EPSG:4326 lon/lat, densified along the edges."""
    outline = box(*grid.bounds).segmentize(max(grid.width, grid.height) * grid.resolution / 16)
    return shape(transform_geom(grid.crs, "EPSG:4326", mapping(outline)))


def search_area(area_wgs84: BaseGeometry, grid: TargetGrid) -> BaseGeometry:
    """Where scenes must be looked for: the area's part inside the tile grid, in lon/lat."""
    footprint = grid_footprint_wgs84(grid)
    part = shapely.intersection(area_wgs84, footprint)
    return part if not part.is_empty else footprint.intersection(area_wgs84.buffer(0))


def aoi_mask(area_tile_crs: BaseGeometry, grid: TargetGrid) -> np.ndarray:
    """True for pixels whose centre lies inside the area (in the tile's CRS)."""
    if area_tile_crs.is_empty:
        return np.zeros(grid.shape, dtype=bool)
    if area_tile_crs.contains(box(*grid.bounds)):
        return np.ones(grid.shape, dtype=bool)
    return geometry_mask([mapping(area_tile_crs)], out_shape=grid.shape, transform=grid.transform, invert=True)
