"""Encoding outputs: GeoTIFF georeferencing, COG parameters, PNG alpha, JPEG, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate

from eobatch.processing import CogParameters, TargetGrid, encode_json, encode_raster
from eobatch.processing.encode import encode_files
from eobatch.processing.sidecars import world_file_url

GRID = TargetGrid(32633, Affine(10, 0, 500_000, 0, -10, 5_100_000), 300, 200)


def _open(tmp_path, data: bytes, name="out.tif"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _with_sidecars(tmp_path, files: list[tuple[str, bytes]]):
    """Write an image with its sidecars (world file, .aux.xml), so that it opens georeferenced; the path
    of the image."""
    for url, data in files:
        (tmp_path / url.rsplit("/", 1)[1]).write_bytes(data)
    return tmp_path / files[0][0].rsplit("/", 1)[1]


def _ramp(bands=3, dtype="uint8"):
    y, x = np.mgrid[0:200, 0:300]
    return np.stack([(x + y + 40 * b) % 250 for b in range(bands)]).astype(dtype)


def test_geotiff_carries_crs_transform_nodata(tmp_path):
    data = _ramp(2, "uint16")
    path = _open(tmp_path, encode_raster(data, "image/tiff", GRID, nodata=7))
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32633
        assert src.transform == GRID.transform
        assert (src.width, src.height, src.count, src.dtypes[0]) == (300, 200, 2, "uint16")
        assert src.nodata == 7
        np.testing.assert_array_equal(src.read(), data)


def test_cog_honours_every_parameter(tmp_path):
    data = np.zeros((1, 200, 300), np.float32)
    data[0, ::2, ::2] = 8.0  # average and nearest overviews differ on this checkerboard
    cog = CogParameters(
        overview_levels=(2, 4, 8),
        overview_min_size=40,
        resampling="average",
        blockxsize=128,
        blockysize=64,
        use_predictor=True,
    )
    path = _open(tmp_path, encode_raster(data, "image/tiff", GRID, nodata=None, cog=cog))
    valid, errors, _ = cog_validate(str(path))
    assert valid and not errors
    with rasterio.open(path) as src:
        assert src.block_shapes[0] == (64, 128)
        assert src.overviews(1) == [2, 4]  # at 8 the larger side is 38 px, below overviewMinSize 40
        assert src.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "3"
        assert src.transform == GRID.transform
        np.testing.assert_array_equal(src.read(1), data[0])
    with rasterio.open(path, overview_level=0) as ovr:
        assert ovr.read(1).mean() == pytest.approx(2.0, abs=0.05)  # average of 8,0,0,0


def test_cog_defaults_and_nearest_overviews(tmp_path):
    data = _ramp(1, "uint16")
    cog = CogParameters(resampling="nearest", overview_min_size=50, use_predictor=False)
    path = _open(tmp_path, encode_raster(data, "image/tiff", GRID, cog=cog))
    assert cog_validate(str(path))[0]
    with rasterio.open(path) as src:
        assert src.block_shapes[0] == (1024, 1024)
        assert src.overviews(1) == [2, 4]  # powers of two while the larger side stays >= 50 px
    with rasterio.open(path) as src:
        assert "PREDICTOR" not in src.tags(ns="IMAGE_STRUCTURE")


def test_overview_levels_from_min_size():
    cog = CogParameters(blockxsize=256, blockysize=256)
    assert cog.levels_for(1000, 1000) == [2]
    assert cog.levels_for(4000, 2000) == [2, 4, 8]
    assert CogParameters().levels_for(1000, 1000) == []


def test_png_fourth_band_is_alpha(tmp_path):
    data = _ramp(4)
    data[3] = 255
    data[3, :10] = 0
    path = _with_sidecars(tmp_path, encode_files("s3://b/out.png", data, "image/png", GRID))
    with rasterio.open(path) as src:
        assert src.driver == "PNG"
        assert src.colorinterp[3].name == "alpha"
        np.testing.assert_array_equal(src.read(), data)


def test_jpeg_drops_alpha(tmp_path):
    data = _ramp(4)
    path = _with_sidecars(tmp_path, encode_files("s3://b/out.jpg", data, "image/jpeg", GRID))
    with rasterio.open(path) as src:
        assert (src.driver, src.count) == ("JPEG", 3)
        assert np.abs(src.read().astype(int) - data[:3]).mean() < 3  # lossy, but close


def test_json_userdata():
    assert json.loads(encode_json({"a": np.float32(1.5), "n": np.arange(3)})) == {"a": 1.5, "n": [0, 1, 2]}
    assert json.loads(encode_json(None)) is None


@pytest.mark.parametrize(("fmt", "name", "world"), [("image/png", "x.png", "x.pgw"), ("image/jpeg", "x.jpg", "x.jgw")])
def test_png_and_jpeg_sidecars_place_the_image(tmp_path, fmt, name, world):
    grid = TargetGrid(4326, Affine(0.0001, 0, 14.0, 0, -0.0001, 46.02), 300, 200)
    files = encode_files(f"s3://b/t/{name}", _ramp(3), fmt, grid)
    assert [url for url, _ in files] == [f"s3://b/t/{name}", f"s3://b/t/{world}", f"s3://b/t/{name}.aux.xml"]
    for url, data in files:
        (tmp_path / url.rsplit("/", 1)[1]).write_bytes(data)
    with rasterio.open(tmp_path / name) as src:
        assert src.crs.to_epsg() == 4326
        assert tuple(src.bounds) == pytest.approx(grid.bounds, abs=1e-9)


def test_png_16_bit_keeps_values_and_nodata(tmp_path):
    data = (_ramp(1, "uint16") * 200).astype("uint16")
    path = _with_sidecars(tmp_path, encode_files("s3://b/one.png", data, "image/png", GRID, nodata=0))
    with rasterio.open(path) as src:
        assert (src.dtypes[0], src.nodata) == ("uint16", 0)
        np.testing.assert_array_equal(src.read(), data)


def test_jpeg_quality_is_honoured():
    noisy = np.random.default_rng(1).integers(0, 255, (3, 200, 300), dtype=np.uint8)
    assert len(encode_raster(noisy, "image/jpeg", GRID, quality=95)) > len(
        encode_raster(noisy, "image/jpeg", GRID, quality=30)
    )


def test_world_file_names_follow_gdal():
    assert world_file_url("s3://b/a.b/t.png") == "s3://b/a.b/t.pgw"
    assert world_file_url("s3://b/t/out.jpeg") == "s3://b/t/out.jgw"
    assert world_file_url("s3://b/t/out") == "s3://b/t/out.wld"
