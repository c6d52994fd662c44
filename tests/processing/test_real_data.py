"""process_tile over the real Sentinel-2 L1C sample (/work/shared/data/s2-l1c-real), read in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.enums import Resampling
from rasterio.warp import reproject
from shapely.geometry import box

from eobatch.grids import tile_by_name
from eobatch.processing import TargetGrid, process_tile
from eobatch.processing.runtime import clear_runtime_cache
from eobatch.settings import Settings
from tests.processing.conftest import make_task

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "s2-l1c-real"
AREA = box(14.55134, 45.86589, 14.56429, 45.87503)  # the data's bbox (README)

SCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B05", "B08", "dataMask"]}],
          output: [{id: "ndvi", bands: 3, sampleType: "FLOAT32"}]};
}
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04), s.B05, s.dataMask]; }
"""


@pytest.fixture
def real_settings(tmp_path) -> Settings:
    config = tmp_path / "collections.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "collections": {
                    "sentinel-2-l1c-real": {
                        "preset": "sentinel-2-l1c",
                        "source": {"kind": "static", "href": str((REAL / "collection.json").resolve())},
                    }
                }
            }
        )
    )
    clear_runtime_cache()
    return Settings(data_dir=tmp_path / "data", collections_file=config)


def _run(settings, tile_name, order, to="2015-08-25T00:00:00Z", buffer=0, processing=None):
    tile = tile_by_name(1, tile_name)
    data = {
        "type": "sentinel-2-l1c-real",
        "dataFilter": {"timeRange": {"from": "2015-07-01T00:00:00Z", "to": to}, "mosaickingOrder": order},
        "processing": processing or {},
    }
    task = make_task(
        settings,
        tile,
        resolution=10.0,
        buffer=buffer,
        area=AREA,
        evalscript=SCRIPT,
        data=data,
        responses=[{"identifier": "ndvi", "format": {"type": "image/tiff"}}],
        output={"defaultTilePath": f"s3://real/{order}/<tileName>/<outputId>.<format>"},
    )
    result = process_tile(task)
    path = settings.buckets_dir / result.outputs[0].removeprefix("s3://")
    with rasterio.open(path) as src:
        assert src.transform == task.pixel_grid.transform and src.crs.to_epsg() == 32633
        return result, src.read(), TargetGrid.of(task.pixel_grid)


def _warp(scene_id: str, band: str, grid: TargetGrid, resampling: Resampling) -> np.ndarray:
    out = np.full(grid.shape, np.nan, np.float32)
    with rasterio.open(REAL / scene_id / f"{band}.tif") as src:
        reproject(
            rasterio.band(src, 1),
            out,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            src_nodata=0,
            dst_nodata=np.nan,
            resampling=resampling,
        )
    return out * np.float32(0.0001)


@pytest.mark.parametrize(
    ("order", "scene"), [("mostRecent", "S2L1C_20150820T100728"), ("leastCC", "S2L1C_20150711T100008")]
)
def test_ndvi_equals_numpy_on_real_pixels(real_settings, order, scene):
    # the source pixels (9.995 m) are finer than the 10 m grid: every band is downsampled, bilinearly
    processing = {"upsampling": "BICUBIC", "downsampling": "BILINEAR"}
    result, out, grid = _run(real_settings, "33TVL_6_1", order, processing=processing)
    assert result.scene_count == 3 and out.dtype == np.float32  # 07-11, 07-31, 08-20
    b04, b05, b08 = (_warp(scene, band, grid, Resampling.bilinear) for band in ("B04", "B05", "B08"))
    mask = out[2] == 1
    assert 2000 < mask.sum() <= 2600  # the ~25 rows x 100 columns of data north of y = 5 080 000
    assert not np.isnan(b04[mask]).any()
    expected = ((b08.astype(np.float64) - b04) / (b08.astype(np.float64) + b04)).astype(np.float32)
    np.testing.assert_allclose(out[0][mask], expected[mask], rtol=1e-6)
    np.testing.assert_allclose(out[1][mask], b05[mask], rtol=1e-6)
    assert (out[1][~mask] == 0).all()


def test_neighbouring_real_tiles_agree_in_the_buffer(real_settings):
    _, north, gn = _run(real_settings, "33TVL_6_1", "leastCC", buffer=30)
    _, south, gs = _run(real_settings, "33TVL_6_2", "leastCC", buffer=30)
    assert gn.transform.f + gn.transform.e * gn.height == pytest.approx(5_080_000 - 300)
    assert gs.transform.f == pytest.approx(5_080_000 + 300)
    overlap_n, overlap_s = north[:, -60:], south[:, :60]
    assert overlap_n[2].sum() > 1000  # real data on both sides of the tile edge
    np.testing.assert_array_equal(overlap_n, overlap_s)
