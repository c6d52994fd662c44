"""Property tests over random areas on the whole globe, for every grid.

For each area: the tiles cover every CRS part of the area, tiles of one CRS never overlap and are
never duplicated, every tile reaches into the area, every tile is a whole number of pixels at every
resolution with pixel edges on multiples of the resolution, and ids and names round-trip.
"""

from __future__ import annotations

import math
from collections import defaultdict

import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eobatch.grids import (
    GridTile,
    area_from_bounds,
    area_part_in_tile_crs,
    get_grid,
    pixel_grid,
    tile_by_id,
    tile_by_name,
    tiles_for_area,
)
from eobatch.grids.laea import EXTENT_LONLAT
from eobatch.grids.lattice import EDGE_TOLERANCE

# grid id -> (largest area side in degrees, latitude range of area centres, longitude range)
GRID_CASES = {
    0: (1.0, (-79.0, 83.0), (-180.0, 180.0)),
    1: (0.6, (-79.0, 83.0), (-180.0, 180.0)),
    2: (3.0, (-79.0, 83.0), (-180.0, 180.0)),
    3: (4.0, (-89.0, 89.0), (-180.0, 180.0)),
    6: (4.0, (35.0, 70.0), (-10.0, 35.0)),
    7: (1.0, (35.0, 70.0), (-10.0, 35.0)),
}


@st.composite
def areas(draw: st.DrawFn) -> tuple[int, dict]:
    """A grid id and a GeoJSON polygon: a box or a random convex shape, possibly across 180 or a zone edge."""
    grid_id = draw(st.sampled_from(sorted(GRID_CASES)))
    side, lats, lons = GRID_CASES[grid_id]
    cx = draw(st.floats(*lons))
    cy = draw(st.floats(*lats))
    w = draw(st.floats(0.002, side))
    h = draw(st.floats(0.002, side))
    lat0, lat1 = max(cy - h / 2, -90.0), min(cy + h / 2, 90.0)
    if draw(st.booleans()):
        ring = [(cx - w / 2, lat0), (cx + w / 2, lat0), (cx + w / 2, lat1), (cx - w / 2, lat1)]
    else:
        fractions = draw(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3, max_size=12))
        pts = [(cx - w / 2 + fx * w, lat0 + fy * (lat1 - lat0)) for fx, fy in fractions]
        hull = shapely.convex_hull(shapely.MultiPoint(pts))
        if hull.geom_type != "Polygon" or hull.area < 1e-6:
            ring = [(cx - w / 2, lat0), (cx + w / 2, lat0), (cx, lat1)]
        else:
            ring = list(hull.exterior.coords)[:-1]
    coords = [[x, y] for x, y in ring] + [list(ring[0])]
    return grid_id, {"geometry": {"type": "Polygon", "coordinates": [coords]}}


def coverage_box(grid_id: int) -> shapely.Polygon:
    if grid_id in (0, 1, 2):
        return shapely.box(-180, -80, 180, 84)
    if grid_id in (6, 7):
        return shapely.box(*EXTENT_LONLAT)
    return shapely.box(-180, -90, 180, 90)


def by_crs(tiles: list[GridTile]) -> dict[int, list[GridTile]]:
    groups: dict[int, list[GridTile]] = defaultdict(list)
    for t in tiles:
        groups[t.epsg].append(t)
    return groups


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(areas())
def test_tiles_cover_the_area_without_overlap_and_round_trip(case: tuple[int, dict]) -> None:
    grid_id, bounds = case
    grid = get_grid(grid_id)
    area = area_from_bounds(bounds)
    if shapely.intersection(area, coverage_box(grid_id)).area < 1e-9:
        return  # nothing of the grid here (e.g. only the polar caps for UTM); covered by test_enumeration
    tiles = tiles_for_area(grid_id, area)
    size = grid.tile_width

    assert len({t.id for t in tiles}) == len(tiles)
    assert len({t.name for t in tiles}) == len(tiles)
    assert len({(t.epsg, t.bounds) for t in tiles}) == len(tiles)

    for epsg, group in by_crs(tiles).items():
        boxes = shapely.box(*zip(*(t.bounds for t in group), strict=True))
        part = area_part_in_tile_crs(area, group[0])
        # coverage: only a sliver within EDGE_TOLERANCE of tile edges may be left out
        uncovered = shapely.difference(part, shapely.union_all(boxes)).area
        assert uncovered <= 2 * EDGE_TOLERANCE * size * (part.length + 4 * size) + 1e-9 * size**2
        # every tile reaches into its part of the area
        assert (shapely.area(shapely.intersection(boxes, part)) > 0).all()
        # tiles of one CRS never overlap (touching edges is fine)
        tree = shapely.STRtree(boxes)
        left, right = tree.query(boxes, predicate="intersects")
        pairs = left < right
        assert (shapely.area(shapely.intersection(boxes[left[pairs]], boxes[right[pairs]])) == 0).all(), epsg

    # the parts present add up to the whole area inside the grid's coverage
    covered_parts = sum(area_part_in_tile_crs(area, group[0]).area > 0 for group in by_crs(tiles).values())
    assert covered_parts == len(by_crs(tiles))

    for t in tiles[:: max(1, len(tiles) // 40)]:
        assert tile_by_id(grid_id, t.id) == t
        assert tile_by_name(grid_id, t.name) == t
        for res in grid.resolutions:
            pg = pixel_grid(t, res, buffer_x=3, buffer_y=7)
            assert pg.width == round(size / res) + 6 and pg.height == round(size / res) + 14
            assert math.isclose(pg.width * res, size + 6 * res, rel_tol=1e-12)
            for edge in t.bounds:
                assert abs(edge / res - round(edge / res)) < 1e-6


@settings(max_examples=25, deadline=None)
@given(areas())
def test_every_crs_part_of_the_area_gets_tiles(case: tuple[int, dict]) -> None:
    grid_id, bounds = case
    area = area_from_bounds(bounds)
    inside = shapely.intersection(area, coverage_box(grid_id))
    if inside.area < 1e-9:
        return
    tiles = tiles_for_area(grid_id, area)
    footprint_union = shapely.union_all([shapely.box(*t.bounds) for t in tiles]) if grid_id == 3 else None
    if footprint_union is not None:
        assert shapely.difference(inside, footprint_union).area < 1e-9
    else:
        # lon/lat parts of the zones that got tiles add up to the area inside the coverage
        from eobatch.grids.tiles import _SCHEMES

        scheme = _SCHEMES[grid_id]
        regions = shapely.union_all([scheme.region(e) for e in {t.epsg for t in tiles}])
        assert shapely.difference(inside, regions).area < 1e-9
