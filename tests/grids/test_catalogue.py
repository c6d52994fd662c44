"""The grid catalogue, its wire form and the resolution check."""

from __future__ import annotations

import pytest

from eobatch.errors import BadRequest, NotFound
from eobatch.grids import as_wire, check_resolution, get_grid, grid_for_request, list_grids


def test_catalogue_lists_the_six_grids_in_id_order() -> None:
    assert [g.id for g in list_grids()] == [0, 1, 2, 3, 6, 7]


@pytest.mark.parametrize(
    ("grid_id", "size", "resolutions", "unit"),
    [
        (0, 20040.0, [10.0, 20.0, 30.0, 60.0], "METRE"),
        (1, 10000.0, [10.0, 20.0], "METRE"),
        (2, 100080.0, [30.0, 60.0, 120.0, 240.0, 360.0], "METRE"),
        (3, 1.0, [0.0001, 0.0002], "DEGREE"),
        (6, 100000.0, [40.0, 50.0, 100.0], "METRE"),
        (7, 20000.0, [10.0, 20.0], "METRE"),
    ],
)
def test_wire_form_matches_the_documented_grid(grid_id: int, size: float, resolutions: list, unit: str) -> None:
    wire = as_wire(get_grid(grid_id))
    assert wire["id"] == grid_id
    assert wire["properties"] == {"tileWidth": size, "tileHeight": size, "resolutions": resolutions, "unit": unit}
    assert isinstance(wire["name"], str) and wire["name"]


@pytest.mark.parametrize("grid_id", [0, 1, 2, 3, 6, 7])
def test_every_resolution_gives_a_whole_number_of_pixels(grid_id: int) -> None:
    grid = get_grid(grid_id)
    for res in grid.resolutions:
        pixels = grid.tile_width / res
        assert abs(pixels - round(pixels)) < 1e-9


def test_unknown_grid_is_not_found_for_get_and_bad_request_in_a_request() -> None:
    with pytest.raises(NotFound, match="known grids: 0, 1, 2, 3, 6, 7"):
        get_grid(4)
    with pytest.raises(BadRequest) as info:
        grid_for_request(5)
    assert info.value.errors[0].parameter == "tilingGrid.id"


def test_resolution_not_listed_is_rejected_naming_the_allowed_ones() -> None:
    with pytest.raises(BadRequest) as info:
        check_resolution(get_grid(1), 60.0)
    assert "allowed resolutions in METRE: 10, 20" in info.value.message
    assert info.value.errors[0].parameter == "tilingGrid.resolution"


def test_resolution_is_matched_to_the_grid_value() -> None:
    assert check_resolution(get_grid(3), 0.0002) == 0.0002
    assert check_resolution(get_grid(0), 30) == 30.0
    with pytest.raises(BadRequest):
        check_resolution(get_grid(0), True)
