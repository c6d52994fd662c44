"""Tiling grids: which tiles a request has, their pixel grids, names, ids and CRSs (pure functions).

Grids (GET /api/v1/batch/tilinggrids): 0 UTM 20km (20040 m; 10, 20, 30, 60 m), 1 UTM 10km
(10000 m; 10, 20 m), 2 UTM 100km (100080 m; 30, 60, 120, 240, 360 m), 3 WGS84 1 degree
(0.0001, 0.0002 degree, EPSG:4326), 6 LAEA 100km (40, 50, 100 m) and 7 LAEA 20km (10, 20 m) in
EPSG:3035. Every tile is a whole number of pixels at every allowed resolution, and every tile edge is
a multiple of the tile size, hence of every resolution, in the tile's CRS: neighbouring outputs align
to the pixel. docs/grids.md has the same rules with examples.

UTM grids (0, 1, 2), tile size s:
* Zones are the standard 6 degree zones 1..60 (zone z spans longitude -180+6(z-1) .. -180+6z; the
  Norway and Svalbard exceptions of MGRS are not applied, as in the Sentinel-2 tiling). Each zone has
  two parts: 0..84N in EPSG:326zz and 80S..0 in EPSG:327zz. Latitude limits: 80S to 84N exactly, the
  UTM/MGRS domain; an area beyond them is not covered, and an area entirely beyond them has no tile.
* In each part the tiles are the cells of one lattice of s x s metres whose edges are multiples of s in
  that CRS (x from 0, y from 0 north or from 0 at 10 000 km south of the equator south). A cell is a
  tile of the grid when it reaches into the part (more than 1e-6 s inside). Tiles of a part never
  overlap and are never duplicated; tiles of different parts may overlap, each covering only its own
  part of an area. An area across zone edges or the equator gets tiles in every part it touches.
  A tile may extend beyond its zone edge (a 20040 m tile south of the equator may reach 20 km north).
* A tile belongs to the MGRS 100 km square of its zone that holds its upper-left corner (square column
  from floor(x / 100 km), square row from the upper-left y, a corner on a square's top edge belonging to
  that square). Column c and row r count lattice cells from the square's first lattice column at or east
  of its west edge and its top lattice row at or below its north edge, so with s = 10 km each square has
  10 x 10 tiles anchored exactly at its north-west corner: 28PBB_2_6 spans x 220000-230000,
  y 1630000-1640000 in EPSG:32628. With s = 20040 a square holds 4 or 5 columns and rows, with
  s = 100080 at most one (a square may hold none).
* Name: `<zone:02d><band><column letter><row letter>_<c>_<r>`; the band is that of the tile centre's
  latitude, clamped into the tile's hemisphere and into C..X (80S..84N).
* Id: zone * 10^7 + south * 10^6 + e * 10^5 + n * 100 + c * 10 + r, where e (1..8) and n (0..100) are
  the square's 100 km easting and northing indices: 28PBB_2_6 is 280201626 (one more per row, ten more
  per column, like Sentinel Hub's ids; the absolute values of Sentinel Hub's ids cannot be derived).
* Across the antimeridian: an area is cut at 180 degrees (see aoi.py) and each side gets the tiles of its
  own zone (60 or 1); tiles of zones 1 and 60 that extend past 180 have footprints cut at 180.

WGS84 grid (3): whole-degree cells of the whole globe named by their south-west corner (`N45E014`),
id (lat + 90) * 1000 + (lon + 180). LAEA grids (6, 7): EEA reference grid cells over the European extent
of EPSG:3035 with non-negative coordinates, named `100kmE43N32` / `20kmE432N320` (lower-left corner),
id easting_index * 10000 + northing_index.
"""

from eobatch.grids.aoi import area_from_bounds, parse_crs
from eobatch.grids.catalogue import as_wire, check_resolution, get_grid, grid_for_request, list_grids
from eobatch.grids.export import export_tiles
from eobatch.grids.model import NO_GRID_ID, GridTile, PixelGrid, TileColumns, TilingGrid
from eobatch.grids.tiles import (
    FootprintRings,
    area_part_in_tile_crs,
    footprint_envelopes,
    footprint_rings,
    footprint_texts,
    footprint_wgs84,
    footprints_wgs84,
    origin,
    pixel_grid,
    pixel_grids,
    pixel_size_array,
    pixel_sizes,
    tile_by_id,
    tile_by_name,
    tile_columns_for_area,
    tiles_for_area,
)

__all__ = [
    "NO_GRID_ID",
    "FootprintRings",
    "GridTile",
    "PixelGrid",
    "TileColumns",
    "TilingGrid",
    "area_from_bounds",
    "area_part_in_tile_crs",
    "as_wire",
    "check_resolution",
    "export_tiles",
    "footprint_envelopes",
    "footprint_rings",
    "footprint_texts",
    "footprint_wgs84",
    "footprints_wgs84",
    "get_grid",
    "grid_for_request",
    "list_grids",
    "origin",
    "parse_crs",
    "pixel_grid",
    "pixel_grids",
    "pixel_size_array",
    "pixel_sizes",
    "tile_by_id",
    "tile_by_name",
    "tile_columns_for_area",
    "tiles_for_area",
]
