"""Tile enumeration and per-tile geometry: the functions other packages call on grid tiles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import affine
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from eobatch.errors import BadRequest, NotFound, Violation
from eobatch.grids.catalogue import check_resolution, get_grid, grid_for_request
from eobatch.grids.geo import (
    WGS84,
    geojson_texts,
    polygonal,
    project_lonlat,
    ring_texts,
    split_antimeridian,
    transformer,
)
from eobatch.grids.laea import LaeaScheme
from eobatch.grids.lattice import cell_bounds, cells_bounds_array, cells_in
from eobatch.grids.model import GridTile, PixelGrid, TileColumns, TilingGrid
from eobatch.grids.utm import NORTH_LIMIT, SOUTH_LIMIT, UtmScheme
from eobatch.grids.wgs84 import Wgs84Scheme

AREA_PARAMETER = "processRequest.input.bounds"


class FootprintRings(NamedTuple):
    """Tiles' footprint rings in lon/lat (`footprint_rings`)."""

    xs: np.ndarray  # (n, 5) longitudes: SW, SE, NE, NW, SW
    ys: np.ndarray  # (n, 5) latitudes
    crossing: np.ndarray  # (n,) the ring jumps across the antimeridian: its footprint is cut at 180


_SCHEMES = {
    0: UtmScheme(20040),
    1: UtmScheme(10000),
    2: UtmScheme(100080),
    3: Wgs84Scheme(),
    6: LaeaScheme(100000),
    7: LaeaScheme(20000),
}
_COVERAGE = {
    "utm": f"UTM grids cover latitudes {-SOUTH_LIMIT:g}S to {NORTH_LIMIT:g}N",
    "laea": "LAEA grids cover the European extent of EPSG:3035 (lon -35.58..44.83, lat 24.6..84.73)",
    "wgs84": "the WGS84 grid covers the whole globe",
}


def tiles_for_area(
    grid_id: int, area_wgs84: BaseGeometry, max_tiles: int | None = None, parameter: str = AREA_PARAMETER
) -> list[GridTile]:
    """The tiles of the grid that the lon/lat area reaches into, ordered by (epsg, id).

    `BadRequest` when the area has no tile of the grid or more than `max_tiles` tiles.
    """
    return tile_columns_for_area(grid_id, area_wgs84, max_tiles, parameter).tiles()


def tile_columns_for_area(
    grid_id: int, area_wgs84: BaseGeometry, max_tiles: int | None = None, parameter: str = AREA_PARAMETER
) -> TileColumns:
    """`tiles_for_area` as columns (no object per tile), the same rows in the same order."""
    grid = grid_for_request(grid_id)
    scheme = _SCHEMES[grid.id]
    ids: list[int] = []
    names: list[str] = []
    epsgs: list[np.ndarray] = []
    bounds: list[np.ndarray] = []
    for epsg, part in sorted(scheme.parts(area_wgs84), key=lambda p: p[0]):
        projected = project_lonlat(part, epsg)
        if max_tiles is not None and projected.area / scheme.size**2 > max_tiles - len(ids):
            _too_many(grid, max_tiles, parameter)
        i, j = cells_in(projected, scheme.size)
        keep = scheme.keep(epsg, i, j)
        i, j = i[keep], j[keep]
        if max_tiles is not None and len(ids) + len(i) > max_tiles:
            _too_many(grid, max_tiles, parameter)
        part_ids, part_names = scheme.labels(epsg, i, j)
        ids.extend(part_ids)
        names.extend(part_names)
        epsgs.append(np.full(len(i), epsg, dtype=np.int64))
        bounds.append(cells_bounds_array(i, j, scheme.size))
    if not ids:
        message = f"The area of interest has no tile of grid {grid.id} ({grid.name}): {_coverage(grid)}."
        raise BadRequest(message, [Violation(parameter, message)])
    all_epsgs = np.concatenate(epsgs)
    order = np.lexsort((np.array(ids, dtype=np.int64), all_epsgs))  # stable, by (epsg, id)
    index = order.tolist()
    return TileColumns(
        grid.id,
        [ids[k] for k in index],
        [names[k] for k in index],
        all_epsgs[order],
        np.concatenate(bounds)[order],
    )


def tile_by_id(grid_id: int, tile_id: int) -> GridTile:
    """The tile with this id; `NotFound` when the grid has no such tile."""
    grid = get_grid(grid_id)
    scheme = _SCHEMES[grid.id]
    try:
        epsg, i, j = scheme.decode_id(int(tile_id))
    except (ValueError, TypeError):
        raise NotFound(f"Grid {grid.id} ({grid.name}) has no tile with id {tile_id!r}.") from None
    tile = _tile_at(grid, epsg, i, j)
    if tile is None or tile.id != tile_id:
        raise NotFound(f"Grid {grid.id} ({grid.name}) has no tile with id {tile_id!r}.")
    return tile


def tile_by_name(grid_id: int, name: str) -> GridTile:
    """The tile with this name; `NotFound` when the grid has no such tile."""
    grid = get_grid(grid_id)
    scheme = _SCHEMES[grid.id]
    try:
        epsg, i, j = scheme.parse_name(name)
    except (ValueError, TypeError):
        raise NotFound(f"Grid {grid.id} ({grid.name}) has no tile named {name!r}.") from None
    tile = _tile_at(grid, epsg, i, j)
    if tile is None or tile.name != name:
        raise NotFound(f"Grid {grid.id} ({grid.name}) has no tile named {name!r}.")
    return tile


def pixel_grid(
    tile: GridTile, resolution: float, buffer_x: int = 0, buffer_y: int = 0, parameter: str = "tilingGrid"
) -> PixelGrid:
    """The output raster of `tile` at `resolution` with `buffer_x`/`buffer_y` pixels added on each side."""
    grid = get_grid(tile.grid_id)
    res = check_resolution(grid, resolution, f"{parameter}.resolution")
    for key, value in (("bufferX", buffer_x), ("bufferY", buffer_y)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32767:
            message = f"{key} must be a whole number of pixels in 0..32767, got {value!r}."
            raise BadRequest(message, [Violation(f"{parameter}.{key}", message)])
    minx, miny, maxx, maxy = tile.bounds
    width, height = round((maxx - minx) / res), round((maxy - miny) / res)
    transform = affine.Affine(res, 0.0, minx - buffer_x * res, 0.0, -res, maxy + buffer_y * res)
    return PixelGrid(tile.epsg, transform, width + 2 * buffer_x, height + 2 * buffer_y)


def pixel_sizes(
    tiles: Sequence[GridTile] | TileColumns,
    resolution: float,
    buffer_x: int = 0,
    buffer_y: int = 0,
    parameter: str = "tilingGrid",
) -> list[tuple[int, int]]:
    """(width, height) of `pixel_grid` of every tile, computed at once (the checks run once per grid)."""
    return list(map(tuple, pixel_size_array(tiles, resolution, buffer_x, buffer_y, parameter).tolist()))


def pixel_size_array(
    tiles: Sequence[GridTile] | TileColumns,
    resolution: float,
    buffer_x: int = 0,
    buffer_y: int = 0,
    parameter: str = "tilingGrid",
) -> np.ndarray:
    """`pixel_sizes` as an (n, 2) int64 array (no tuple per tile)."""
    widths, heights, _, _, _ = _pixel_layout(tiles, resolution, buffer_x, buffer_y, parameter)
    return np.column_stack([widths, heights]).astype(np.int64).reshape(len(widths), 2)


def pixel_grids(
    tiles: Sequence[GridTile], resolution: float, buffer_x: int = 0, buffer_y: int = 0, parameter: str = "tilingGrid"
) -> list[PixelGrid]:
    """`pixel_grid` of every tile (the checks run once per grid)."""
    layout = zip(*(c.tolist() for c in _pixel_layout(tiles, resolution, buffer_x, buffer_y, parameter)), strict=True)
    return [
        PixelGrid(t.epsg, affine.Affine(res, 0.0, x, 0.0, -res, y), w, h)
        for t, (w, h, x, y, res) in zip(tiles, layout, strict=True)
    ]


def _pixel_layout(
    tiles: Sequence[GridTile] | TileColumns, resolution: float, buffer_x: int, buffer_y: int, parameter: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(widths, heights, lefts, tops, resolutions) of the tiles' pixel grids as `pixel_grid` computes them,
    for all tiles at once; `pixel_grid` itself runs once per grid, for its checks."""
    if not len(tiles):
        return tuple(np.empty(0) for _ in range(5))  # type: ignore[return-value]
    if isinstance(tiles, TileColumns):
        b = tiles.bounds
        first = tiles.tile(0)
        res = np.full(len(tiles), pixel_grid(first, resolution, buffer_x, buffer_y, parameter).transform.a)
    else:
        firsts: dict[int, GridTile] = {}
        for t in tiles:
            firsts.setdefault(t.grid_id, t)
        checked = {g: pixel_grid(t, resolution, buffer_x, buffer_y, parameter).transform.a for g, t in firsts.items()}
        res = np.array([checked[t.grid_id] for t in tiles], dtype=np.float64)
        b = np.array([t.bounds for t in tiles], dtype=np.float64)
    widths = np.round((b[:, 2] - b[:, 0]) / res).astype(np.int64) + 2 * buffer_x
    heights = np.round((b[:, 3] - b[:, 1]) / res).astype(np.int64) + 2 * buffer_y
    return widths, heights, b[:, 0] - buffer_x * res, b[:, 3] + buffer_y * res, res


def origin(tile: GridTile) -> tuple[float, float]:
    """The tile's upper-left corner (minx, maxy) in its CRS, as sentinelhub-py's BatchSplitter reads it."""
    return tile.bounds[0], tile.bounds[3]


def footprint_wgs84(tile: GridTile) -> BaseGeometry:
    """The tile (no buffer) in lon/lat: a Polygon, or a MultiPolygon cut at 180 for tiles across it."""
    return footprints_wgs84([tile])[0]


def footprints_wgs84(tiles: Sequence[GridTile] | TileColumns) -> list[BaseGeometry]:
    """`footprint_wgs84` of many tiles, transformed in one call per CRS."""
    xs, ys, crossing = footprint_rings(tiles)
    polygons = shapely.polygons(np.stack([xs, ys], axis=-1))
    for n in np.flatnonzero(crossing).tolist():
        polygons[n] = split_antimeridian(polygons[n])
    return polygons.tolist()


def footprint_texts(rings: FootprintRings) -> list[str]:
    """`geo.geojson_texts(footprints_wgs84(tiles))` of the tiles of `rings` (`footprint_rings(tiles)`), the same
    texts, formatted from the corners: only the footprints cut at the antimeridian (or with non-finite
    corners) are made as geometries."""
    xs, ys, crossing = rings
    texts = ring_texts(np.stack([xs, ys], axis=-1).reshape(len(xs), 10), crossing)
    for k, text in enumerate(texts):
        if text is None:
            polygon = shapely.polygons(np.stack([xs[k], ys[k]], axis=-1))
            texts[k] = geojson_texts([split_antimeridian(polygon) if crossing[k] else polygon])[0]
    return texts  # type: ignore[return-value]


def footprint_envelopes(rings: FootprintRings) -> np.ndarray:
    """(minx, miny, maxx, maxy) in lon/lat that holds the footprint of each tile of `rings`, shape (n, 4);
    footprints cut at the antimeridian get the whole range of longitudes."""
    xs, ys, crossing = rings
    envelopes = np.column_stack([xs.min(axis=1), ys.min(axis=1), xs.max(axis=1), ys.max(axis=1)])
    envelopes[crossing, 0], envelopes[crossing, 2] = -180.0, 180.0
    return envelopes.reshape(len(xs), 4)


def footprint_rings(tiles: Sequence[GridTile] | TileColumns) -> FootprintRings:
    """Each tile's corners in lon/lat as a closed counter-clockwise ring (SW, SE, NE, NW, SW, as RFC 7946
    asks): longitudes and latitudes of shape (n, 5), transformed in one call per CRS, and whether the ring
    jumps across the antimeridian (its footprint is then cut at 180)."""
    if isinstance(tiles, TileColumns):
        epsgs, bounds = tiles.epsgs, tiles.bounds
    else:
        epsgs = np.array([t.epsg for t in tiles], dtype=np.int64)
        bounds = np.array([t.bounds for t in tiles], dtype=np.float64).reshape(len(tiles), 4)
    xs = bounds[:, [0, 2, 2, 0, 0]]
    ys = bounds[:, [1, 1, 3, 3, 1]]
    for epsg in np.unique(epsgs).tolist():
        if epsg != WGS84:
            index = np.flatnonzero(epsgs == epsg)
            lon, lat = transformer(epsg, WGS84).transform(xs[index].ravel(), ys[index].ravel())
            xs[index], ys[index] = np.reshape(lon, (len(index), 5)), np.reshape(lat, (len(index), 5))
    return FootprintRings(xs, ys, (xs.max(axis=1) - xs.min(axis=1)) > 180.0)


def area_part_in_tile_crs(area_wgs84: BaseGeometry, tile: GridTile) -> BaseGeometry:
    """The part of the area in the tile's CRS part of the grid (its UTM zone and hemisphere), in that CRS."""
    scheme = _SCHEMES[tile.grid_id]
    part = polygonal(shapely.intersection(area_wgs84, scheme.region(tile.epsg)))
    return project_lonlat(part, tile.epsg)


def tile_epsgs(tiles: Iterable[GridTile]) -> list[int]:
    """The distinct CRSs of `tiles`, sorted."""
    return sorted({t.epsg for t in tiles})


def _tile_at(grid: TilingGrid, epsg: int, i: int, j: int) -> GridTile | None:
    scheme = _SCHEMES[grid.id]
    if not scheme.exists(epsg, i, j):
        return None
    ids, names = scheme.labels(epsg, np.array([i], dtype=np.int64), np.array([j], dtype=np.int64))
    return GridTile(grid.id, ids[0], names[0], epsg, cell_bounds(i, j, scheme.size))


def _too_many(grid: TilingGrid, max_tiles: int, parameter: str) -> None:
    message = (
        f"The area of interest needs more than {max_tiles} tiles of grid {grid.id} ({grid.name}), the "
        "configured limit; use a smaller area or a grid with larger tiles."
    )
    raise BadRequest(message, [Violation(parameter, message)])


def _coverage(grid: TilingGrid) -> str:
    scheme = _SCHEMES[grid.id]
    if isinstance(scheme, UtmScheme):
        return _COVERAGE["utm"]
    if isinstance(scheme, LaeaScheme):
        return _COVERAGE["laea"]
    return _COVERAGE["wgs84"]
