"""The regional benchmark archive's layout (its generation takes minutes, so only the grids are tested)."""

from __future__ import annotations

import pytest
from shapely.geometry import box
from shapely.ops import unary_union

from eobatch.collections.demo.regional import REGIONAL_BBOX, generate_regional, regional_grids


def test_regional_grids_cover_two_zones_off_the_output_lattice():
    grids = regional_grids()
    assert [g.epsg for g in grids] == [32632, 32633]
    for grid in grids:
        for edge in (grid.left, grid.right, grid.top, grid.bottom):
            assert edge % 10 not in (0.0, 5.0)  # no 10/20/60 m output grid lines up with the pixels
        rows, cols = grid.shape(10.0)
        assert cols * 10 > 30_000 and rows * 10 > 40_000
    assert unary_union([g.footprint_wgs84() for g in grids]).contains(box(*REGIONAL_BBOX))


def test_regional_archive_is_sentinel2_only(tmp_path):
    with pytest.raises(ValueError, match="Sentinel-2"):
        generate_regional(tmp_path, ("sentinel-1-grd",))
