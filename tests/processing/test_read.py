"""Reading a band onto a tile grid: alignment, 20/60 m bands, resampling, overviews, CRS changes."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import reproject

from eobatch.errors import BadRequest
from eobatch.processing import NoOverlap, TargetGrid, read_onto_grid, resampling_for
from eobatch.processing.sources import open_source
from eobatch.storage.access import StoreAccess
from tests.processing.rasters import gradient, write_cog

X0, Y0 = 500_000.0, 5_100_000.0


def _grid(x_off_px=10, y_off_px=20, size=64, res=10.0, epsg=32633) -> TargetGrid:
    return TargetGrid(epsg, Affine(res, 0, X0 + x_off_px * 10, 0, -res, Y0 - y_off_px * 10), size, size)


def test_aligned_10m_read_is_the_source_window(tmp_path):
    data = gradient(120, 120)
    data[30, 15] = 0  # a nodata hole
    path = write_cog(tmp_path / "b04.tif", data, Affine(10, 0, X0, 0, -10, Y0))
    with rasterio.open(path) as src:
        out = read_onto_grid(src, _grid(), Resampling.nearest, 0)
    expected = data[20:84, 10:74].astype(np.float32)
    expected[expected == 0] = np.nan
    np.testing.assert_array_equal(out, expected)
    assert np.isnan(out[10, 5])


def test_grid_reaching_past_the_scene_is_nan_there(tmp_path):
    data = gradient(100, 100)
    path = write_cog(tmp_path / "b.tif", data, Affine(10, 0, X0, 0, -10, Y0))
    with rasterio.open(path) as src:
        out = read_onto_grid(src, _grid(x_off_px=80, y_off_px=0, size=40), Resampling.nearest, 0)
    np.testing.assert_array_equal(out[:, :20], data[:40, 80:100])
    assert np.isnan(out[:, 20:]).all()


def test_no_overlap_is_named(tmp_path):
    path = write_cog(tmp_path / "b.tif", gradient(50, 50), Affine(10, 0, X0, 0, -10, Y0))
    with rasterio.open(path) as src, pytest.raises(NoOverlap):
        read_onto_grid(src, _grid(x_off_px=500), Resampling.nearest, 0)


@pytest.mark.parametrize("factor", [2, 6])
def test_20m_and_60m_bands_land_on_the_10m_grid(tmp_path, factor):
    coarse = gradient(120 // factor + 1, 120 // factor + 1, seed=factor)
    path = write_cog(tmp_path / f"b{factor}.tif", coarse, Affine(10 * factor, 0, X0, 0, -10 * factor, Y0))
    grid = _grid(x_off_px=12, y_off_px=6, size=96)
    with rasterio.open(path) as src:
        out = read_onto_grid(src, grid, Resampling.nearest, 0)
    fine = np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1).astype(np.float32)
    np.testing.assert_array_equal(out, fine[6 : 6 + 96, 12 : 12 + 96])


@pytest.mark.parametrize("method", [Resampling.bilinear, Resampling.cubic])
def test_upsampling_matches_gdal_warp_of_the_whole_image(tmp_path, method):
    coarse = gradient(60, 60, seed=3)
    transform = Affine(20, 0, X0, 0, -20, Y0)
    path = write_cog(tmp_path / "b.tif", coarse, transform)
    grid = _grid(x_off_px=30, y_off_px=30, size=50)
    with rasterio.open(path) as src:
        out = read_onto_grid(src, grid, method, 0)
    expected = np.full(grid.shape, np.nan, np.float32)
    reproject(
        coarse,
        expected,
        src_transform=transform,
        src_crs="EPSG:32633",
        src_nodata=0,
        dst_transform=grid.transform,
        dst_crs="EPSG:32633",
        dst_nodata=np.nan,
        resampling=method,
    )
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-3)
    assert not np.isnan(out).any()


def test_downsampling_reads_the_matching_overview(tmp_path):
    data = gradient(256, 256, seed=5)
    path = write_cog(tmp_path / "b.tif", data, Affine(10, 0, X0, 0, -10, Y0), overviews=(2, 4))
    grid = TargetGrid(32633, Affine(40, 0, X0, 0, -40, Y0), 64, 64)
    with open_source(str(path), grid, StoreAccess()) as src:
        assert src.width == 64  # the 4x overview, not the full image
        out = read_onto_grid(src, grid, Resampling.nearest, 0)
    with rasterio.open(path, overview_level=1) as ovr:
        np.testing.assert_array_equal(out, ovr.read(1).astype(np.float32))


def test_reprojection_from_a_neighbouring_utm_zone(tmp_path):
    # a source in zone 34 read onto a zone 33 grid near the zone edge
    data = gradient(200, 200, seed=7)
    transform = Affine(10, 0, 267_000, 0, -10, 5_099_500)
    path = write_cog(tmp_path / "z34.tif", data, transform, epsg=32634)
    grid = TargetGrid(32633, Affine(10, 0, 732_000, 0, -10, 5_099_000), 40, 40)
    with rasterio.open(path) as src:
        out = read_onto_grid(src, grid, Resampling.nearest, 0)
    expected = np.full(grid.shape, np.nan, np.float32)
    reproject(
        data,
        expected,
        src_transform=transform,
        src_crs="EPSG:32634",
        src_nodata=0,
        dst_transform=grid.transform,
        dst_crs="EPSG:32633",
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    assert np.isfinite(out).mean() > 0.5
    np.testing.assert_array_equal(out, expected)


def test_resampling_choice_follows_the_request():
    processing = {"upsampling": "BICUBIC", "downsampling": "BILINEAR"}
    assert resampling_for(processing, 20.0, 10.0) is Resampling.cubic
    assert resampling_for(processing, 10.0, 60.0) is Resampling.bilinear
    assert resampling_for(processing, 10.0, 10.0) is Resampling.bilinear
    assert resampling_for({}, 60.0, 10.0) is Resampling.nearest
    with pytest.raises(BadRequest, match="allowed: NEAREST, BILINEAR, BICUBIC"):
        resampling_for({"upsampling": "LANCZOS"}, 20.0, 10.0)
