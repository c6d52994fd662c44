"""The real tiles of batch-api.md 5.3 (eo-grow's grid from a grid-1 job at 10 m with a 3 x 7 px buffer)."""

from __future__ import annotations

import pytest

from eobatch.grids import area_from_bounds, origin, pixel_grid, tile_by_id, tile_by_name, tiles_for_area

KNOWN = [
    # name, envelope (minx, maxx, miny, maxy) with the 3 x 7 pixel buffer
    ("28PBB_2_6", (219970, 230030, 1629930, 1640070)),
    ("28PBB_2_7", (219970, 230030, 1619930, 1630070)),
    ("28PBB_3_6", (229970, 240030, 1629930, 1640070)),
]


def envelope(tile) -> tuple[float, float, float, float]:
    grid = pixel_grid(tile, 10.0, buffer_x=3, buffer_y=7)
    t = grid.transform
    return (t.c, t.c + grid.width * t.a, t.f + grid.height * t.e, t.f)


@pytest.mark.parametrize(("name", "expected"), KNOWN)
def test_known_tile_by_name(name: str, expected: tuple) -> None:
    tile = tile_by_name(1, name)
    assert tile.epsg == 32628
    assert envelope(tile) == expected
    assert pixel_grid(tile, 10.0, 3, 7).width == 1006
    assert pixel_grid(tile, 10.0, 3, 7).height == 1014


def test_known_tiles_come_out_of_enumeration_over_dakar() -> None:
    area = area_from_bounds({"bbox": [-17.6, 14.6, -17.4, 14.8]})
    tiles = {t.name: t for t in tiles_for_area(1, area)}
    for name, expected in KNOWN:
        assert envelope(tiles[name]) == expected
    assert tiles["28PBB_2_6"].bounds == (220000.0, 1630000.0, 230000.0, 1640000.0)
    assert origin(tiles["28PBB_2_6"]) == (220000.0, 1640000.0)


def test_ids_grow_one_per_row_and_ten_per_column() -> None:
    ids = {name: tile_by_name(1, name).id for name, _ in KNOWN}
    assert ids["28PBB_2_7"] - ids["28PBB_2_6"] == 1
    assert ids["28PBB_3_6"] - ids["28PBB_2_6"] == 10
    assert ids["28PBB_2_6"] == 280201626
    assert tile_by_id(1, 280201626).name == "28PBB_2_6"
