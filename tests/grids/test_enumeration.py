"""Tile enumeration over zone edges, the equator, the antimeridian and the poles, and its limits."""

from __future__ import annotations

import pytest
import shapely

from eobatch.errors import BadRequest, NotFound
from eobatch.grids import (
    area_from_bounds,
    area_part_in_tile_crs,
    footprint_wgs84,
    pixel_grid,
    tile_by_id,
    tile_by_name,
    tiles_for_area,
)


def tiles(grid_id: int, bbox: list[float], **kwargs):
    return tiles_for_area(grid_id, area_from_bounds({"bbox": bbox}), **kwargs)


def test_area_across_a_zone_edge_gets_tiles_in_both_zones_each_for_its_own_part() -> None:
    area = area_from_bounds({"bbox": [5.8, 45.0, 6.2, 45.2]})
    result = tiles_for_area(1, area)
    assert {t.epsg for t in result} == {32631, 32632}
    for t in result:
        part = area_part_in_tile_crs(area, t)
        assert shapely.intersection(part, shapely.box(*t.bounds)).area > 0
        assert t.name.startswith("31" if t.epsg == 32631 else "32")


def test_area_across_the_equator_gets_north_and_south_tiles() -> None:
    result = tiles(1, [10.0, -0.1, 10.1, 0.1])
    assert {t.epsg for t in result} == {32632, 32732}
    assert {t.name[2] for t in result} == {"M", "N"}
    assert all(t.bounds[1] >= 0 for t in result if t.epsg == 32632)


def test_area_across_the_antimeridian_gets_zone_60_and_zone_1_tiles() -> None:
    result = tiles(1, [179.9, 10.0, -179.9, 10.1])
    assert {t.epsg for t in result} == {32601, 32660}


def test_zone_60_tile_past_180_has_its_footprint_cut_at_the_antimeridian() -> None:
    east_edge = [t for t in tiles(2, [179.5, 0.5, 179.99, 1.0]) if t.epsg == 32660]
    footprints = [footprint_wgs84(t) for t in east_edge]
    crossing = [f for f in footprints if f.geom_type == "MultiPolygon"]
    assert crossing, "the 100 km tile at the zone-60 edge reaches past 180"
    for f in crossing:
        assert f.bounds[0] == pytest.approx(-180.0) and f.bounds[2] == pytest.approx(180.0)
        assert f.area < 1.0  # two small pieces, not a band around the globe


def test_utm_grids_stop_at_84_north_and_80_south() -> None:
    north = tiles(1, [14.0, 83.5, 15.0, 88.0])
    assert all(footprint_wgs84(t).bounds[1] < 84.0 for t in north)
    with pytest.raises(BadRequest, match="80S to 84N"):
        tiles(1, [14.0, 84.5, 15.0, 88.0])
    with pytest.raises(BadRequest, match="80S to 84N"):
        tiles(0, [14.0, -88.0, 15.0, -80.5])


def test_laea_grid_has_no_tile_over_brazil() -> None:
    with pytest.raises(BadRequest) as info:
        tiles(6, [-50.0, -10.0, -49.0, -9.0])
    assert info.value.errors[0].parameter == "processRequest.input.bounds"
    assert "European extent of EPSG:3035" in info.value.message


def test_tile_limit() -> None:
    bbox = [14.0, 45.0, 15.0, 46.0]
    count = len(tiles(1, bbox))
    assert len(tiles(1, bbox, max_tiles=count)) == count
    with pytest.raises(BadRequest, match=f"more than {count - 1} tiles"):
        tiles(1, bbox, max_tiles=count - 1)
    with pytest.raises(BadRequest, match="more than 1000 tiles"):
        tiles(1, [-180.0, -80.0, 180.0, 84.0], max_tiles=1000)  # refused before enumerating


@pytest.mark.parametrize(
    ("grid_id", "name", "bounds", "epsg", "tile_id"),
    [
        (3, "N45E014", (14.0, 45.0, 15.0, 46.0), 4326, 135194),
        (3, "S01W001", (-1.0, -1.0, 0.0, 0.0), 4326, 89179),
        (6, "100kmE43N32", (4300000.0, 3200000.0, 4400000.0, 3300000.0), 3035, 430032),
        (7, "20kmE432N320", (4320000.0, 3200000.0, 4340000.0, 3220000.0), 3035, 2160160),
        (1, "33TVL_0_0", (400000.0, 5090000.0, 410000.0, 5100000.0), 32633, 330405000),
    ],
)
def test_names_ids_and_bounds_of_sample_tiles(grid_id: int, name: str, bounds: tuple, epsg: int, tile_id: int) -> None:
    tile = tile_by_name(grid_id, name)
    assert (tile.bounds, tile.epsg, tile.id) == (bounds, epsg, tile_id)
    assert tile_by_id(grid_id, tile_id) == tile


def test_20km_and_100km_tiles_sit_on_multiples_of_the_tile_size() -> None:
    for grid_id, size in ((0, 20040), (2, 100080)):
        for t in tiles(grid_id, [14.0, 45.0, 15.5, 46.5]):
            assert all(v % size == 0 for v in t.bounds)


def test_wgs84_pixel_grid_at_both_resolutions() -> None:
    tile = tile_by_name(3, "N45E014")
    fine = pixel_grid(tile, 0.0001, buffer_x=2, buffer_y=1)
    assert (fine.width, fine.height, fine.epsg) == (10004, 10002, 4326)
    assert fine.transform.c == pytest.approx(13.9998) and fine.transform.f == pytest.approx(46.0001)
    assert pixel_grid(tile, 0.0002).width == 5000


def test_bad_buffer_and_unknown_tiles() -> None:
    tile = tile_by_name(1, "28PBB_2_6")
    with pytest.raises(BadRequest) as info:
        pixel_grid(tile, 10.0, buffer_x=-1)
    assert info.value.errors[0].parameter == "tilingGrid.bufferX"
    with pytest.raises(NotFound):
        tile_by_id(1, 999)
    with pytest.raises(NotFound):
        tile_by_name(1, "28PBB_12_6")
    with pytest.raises(NotFound):
        tile_by_name(1, "28PSB_2_6")  # S is not a column letter of zone 28
    with pytest.raises(NotFound):
        tile_by_id(6, 999999)  # far outside Europe


def test_enumeration_order_is_stable() -> None:
    first = tiles(0, [5.0, 44.0, 7.0, 46.0])
    assert first == tiles(0, [5.0, 44.0, 7.0, 46.0])
    assert [(t.epsg, t.id) for t in first] == sorted((t.epsg, t.id) for t in first)
