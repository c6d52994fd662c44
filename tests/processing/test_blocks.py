"""A tile processed in row blocks gives the same files as the tile in one block: same pixels (FLOAT32,
UINT8 and UINT16, with nodata), georeferencing and COG layout (blocks, overviews, compression), over
the real Sentinel-2 L1C sample (/work/shared/data/s2-l1c-real, read in place, warped off-grid), for
SIMPLE mosaicking in each order and for multi-temporal ORBIT/TILE scripts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box

from eobatch.grids import tile_by_name
from eobatch.processing.blocks import row_blocks
from eobatch.processing.grid import TargetGrid
from eobatch.processing.pipeline import run_tile
from eobatch.processing.runtime import clear_runtime_cache, runtime_for
from eobatch.settings import Settings
from tests.processing.conftest import make_task

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "s2-l1c-real"
AREA = box(14.5, 45.8, 14.6, 45.9)  # more than the data's bbox (README): its edges are in the tile
ROWS = 16  # rows per block of the block-wise runs: several block edges cross the data (its ~77 rows)

SIMPLE = """//VERSION=3
function setup() {
  return {input: [{bands: ["B02", "B03", "B04", "B05", "B08", "dataMask"]}],
          output: [{id: "ndvi", bands: 1, sampleType: "FLOAT32", nodataValue: -9999},
                   {id: "rgb", bands: 4, sampleType: "AUTO"},
                   {id: "dn", bands: 2, sampleType: "UINT16", nodataValue: 0}]};
}
function evaluatePixel(s) {
  if (s.dataMask == 0) { return {ndvi: [-9999], rgb: [0, 0, 0, 0], dn: [0, 0]}; }
  return {ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)], rgb: [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02, s.dataMask],
          dn: [s.B05 * 10000, s.B08 * 10000]};
}
"""

MULTI = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "dataMask"]}], mosaicking: "%s",
          output: [{id: "best", bands: 2, sampleType: "FLOAT32"},
                   {id: "count", bands: 1, sampleType: "UINT8", nodataValue: 255}]};
}
function evaluatePixel(samples, scenes) {
  var best = -1, when = 0, n = 0;
  for (var i = 0; i < samples.length; i++) {
    var s = samples[i];
    if (s.dataMask == 0) continue;
    n++;
    var v = (s.B08 - s.B04) / (s.B08 + s.B04);
    if (v > best) { best = v; when = i; }
  }
  return {best: [best, when], count: [n == 0 ? 255 : n]};
}
"""

RESPONSES = {
    "simple": ["ndvi", "rgb", "dn"],
    "multi": ["best", "count"],
}


@pytest.fixture
def real_settings(tmp_path) -> Settings:
    config = tmp_path / "collections.yaml"
    source = {"kind": "static", "href": str((REAL / "collection.json").resolve())}
    entry = {"preset": "sentinel-2-l1c", "source": source}
    config.write_text(yaml.safe_dump({"collections": {"sentinel-2-l1c-real": entry}}))
    clear_runtime_cache()
    return Settings(data_dir=tmp_path / "data", collections_file=config)


def _outputs(settings: Settings, script: str, ids: list[str], data: dict, rows: int | None, folder: str) -> list[Path]:
    task = make_task(
        settings,
        tile_by_name(1, "33TVL_6_2"),
        resolution=10.0,
        area=AREA,
        evalscript=script,
        data={"type": "sentinel-2-l1c-real", **data},
        responses=[{"identifier": i, "format": {"type": "image/tiff"}} for i in ids],
        output={
            "defaultTilePath": f"s3://real/{folder}/<tileName>/<outputId>.<format>",
            "cogOutput": True,
            "cogParameters": {"blockxsize": 256, "blockysize": 256},  # 1000 px: one overview level
        },
    )
    runtime = runtime_for(settings)
    result = run_tile(task, engine=runtime.engine, registry=runtime.registry, block_rows=rows)
    assert not result.no_data and result.scene_count >= 2
    return [settings.buckets_dir / url.removeprefix("s3://") for url in result.outputs]


def _same_files(whole: Path, blocks: Path) -> None:
    assert cog_validate(str(blocks), quiet=True)[0]
    with rasterio.open(whole) as a, rasterio.open(blocks) as b:
        assert a.profile == b.profile
        assert (a.overviews(1), a.block_shapes, a.compression) == (b.overviews(1), b.block_shapes, b.compression)
        assert a.overviews(1) == [2]
        x, y = a.read(), b.read()
        assert np.array_equal(x, y, equal_nan=True), f"{whole.name}: {int(np.sum(x != y))} pixels differ"
        for level in range(len(a.overviews(1))):
            with rasterio.open(whole, overview_level=level) as oa, rasterio.open(blocks, overview_level=level) as ob:
                assert np.array_equal(oa.read(), ob.read(), equal_nan=True)
        valid = np.flatnonzero((x != (a.nodata if a.nodata is not None else -1)).any(axis=(0, 2)))
        assert valid.max() - valid.min() > 3 * ROWS  # the data crosses several block edges


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("simple", {"dataFilter": {"timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T00:00:00Z"}}}),
        (
            "simple",
            {
                "dataFilter": {
                    "timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T00:00:00Z"},
                    "mosaickingOrder": "leastCC",
                },
                "processing": {"upsampling": "BICUBIC", "downsampling": "BILINEAR"},
            },
        ),
        ("ORBIT", {"dataFilter": {"timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T00:00:00Z"}}}),
        ("TILE", {"dataFilter": {"timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T00:00:00Z"}}}),
    ],
    ids=["mostRecent", "leastCC-bicubic", "orbit", "tile"],
)
def test_block_wise_outputs_equal_the_single_block_outputs(real_settings, kind, data):
    script = SIMPLE if kind == "simple" else MULTI % kind
    ids = RESPONSES["simple" if kind == "simple" else "multi"]
    whole = _outputs(real_settings, script, ids, data, None, "whole")
    blocks = _outputs(real_settings, script, ids, data, ROWS, "blocks")
    assert [p.name for p in whole] == [f"{i}.tif" for i in ids]
    for a, b in zip(whole, blocks, strict=True):
        _same_files(a, b)


def test_row_blocks_cover_the_tile_once_with_the_tile_transform():
    grid = TargetGrid(32633, tile_grid_transform(), 1000, 1000)
    blocks = row_blocks(grid, 384)
    assert [(b.row0, b.grid.height) for b in blocks] == [(0, 384), (384, 384), (768, 232)]
    for block in blocks:
        assert block.grid.transform @ (0, 0) == grid.transform @ (0, block.row0)
        assert (block.grid.width, block.grid.epsg) == (1000, 32633)
    assert row_blocks(grid, 1000) == row_blocks(grid, 5000) and row_blocks(grid, 1000)[0].grid is grid


def tile_grid_transform():
    from affine import Affine

    return Affine(10.0, 0.0, 460000.0, 0.0, -10.0, 5090000.0)


def test_a_tile_folder_sweeps_the_folders_of_dead_workers_only(tmp_path, monkeypatch):
    import socket
    import subprocess
    import sys

    from eobatch.processing.assemble import FOLDER_PREFIX, tile_folder

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    host = socket.gethostname().replace("-", "_")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{FOLDER_PREFIX}{host}-{int(dead.stdout)}-abc"
    alive = tmp_path / f"{FOLDER_PREFIX}{host}-{os.getppid()}-def"
    other_host = tmp_path / f"{FOLDER_PREFIX}elsewhere-{int(dead.stdout)}-ghi"
    for folder in (stale, alive, other_host):
        folder.mkdir()
        (folder / "staging.tif").write_bytes(b"x")
    with tile_folder() as mine:
        assert Path(mine).parent == tmp_path and Path(mine).name.startswith(f"{FOLDER_PREFIX}{host}-{os.getpid()}-")
        assert not stale.exists() and alive.exists() and other_host.exists()
    assert not Path(mine).exists()
