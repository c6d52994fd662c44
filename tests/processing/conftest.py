"""Pipeline fixtures: a synthetic archive on one UTM 10 km tile, task builders, SeaweedFS."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box

from eobatch.grids import pixel_grid, tiles_for_area
from eobatch.processing import TileTask
from eobatch.processing.runtime import clear_runtime_cache
from eobatch.settings import Settings
from tests.processing.archive import COLLECTION, make_scene, write_archive
from tests.support.plans import tile_plan
from tests.support.seaweed import start_seaweed

# grid 1 (UTM 10 km) tile 33TVL_6_1: x 460000-470000, y 5080000-5090000 in EPSG:32633
AREA = box(14.40, 45.80, 14.70, 46.00)  # covers the whole tile

NDVI_RGB = """//VERSION=3
function setup() {
  return {input: [{bands: ["B02", "B03", "B04", "B08", "dataMask"]}],
          output: [{id: "default", bands: 4, sampleType: "AUTO"},
                   {id: "ndvi", bands: 1, sampleType: "FLOAT32"}]};
}
function evaluatePixel(s) {
  return {default: [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02, s.dataMask],
          ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)]};
}
"""

RESPONSES = [
    {"identifier": "default", "format": {"type": "image/tiff"}},
    {"identifier": "ndvi", "format": {"type": "image/tiff"}},
]


@pytest.fixture(scope="session")
def tile():
    return next(t for t in tiles_for_area(1, AREA) if t.name == "33TVL_6_1")


@pytest.fixture(scope="session")
def synthetic_scenes():
    # newest covers the west 60 % of the tile; two older ones (same UTC day) cover all of it
    return [
        make_scene("S_new", "2020-06-10T10:00:00Z", 50.0, 32633, 460_000, 5_090_000, 600, 1000, seed=1),
        make_scene("S_mid", "2020-06-05T10:30:00Z", 10.0, 32633, 459_000, 5_091_000, 1200, 1200, seed=2),
        make_scene("S_old", "2020-06-05T10:00:00Z", 0.0, 32633, 459_000, 5_091_000, 1200, 1200, seed=3),
    ]


@pytest.fixture(scope="session")
def synthetic_config(tmp_path_factory, synthetic_scenes):
    return write_archive(tmp_path_factory.mktemp("archive"), synthetic_scenes)


@pytest.fixture
def settings(tmp_path, synthetic_config) -> Settings:
    clear_runtime_cache()
    return Settings(data_dir=tmp_path / "data", collections_file=synthetic_config)


@pytest.fixture(scope="session")
def seaweed():
    weed = start_seaweed()
    yield weed
    weed.stop()


def make_task(
    settings,
    tile,
    *,
    resolution=20.0,
    buffer=0,
    area=AREA,
    evalscript=NDVI_RGB,
    responses=None,
    output=None,
    data=None,
    request_id="req-1",
) -> TileTask:
    data_entry = {
        "type": COLLECTION,
        "dataFilter": {"timeRange": {"from": "2020-06-01T00:00:00Z", "to": "2020-06-30T23:59:59Z"}},
    }
    data_entry.update(data or {})
    plan, keys = tile_plan(
        evalscript=evalscript,
        responses=responses or RESPONSES,
        output=output or {"defaultTilePath": "s3://out/<requestId>/<tileName>/<outputId>.<format>"},
        data=[data_entry],
        grid_id=tile.grid_id,
        resolution=resolution,
        buffer=buffer,
    )
    return TileTask(
        request_id=request_id,
        account_id="acc",
        tile=tile,
        pixel_grid=pixel_grid(tile, resolution, buffer, buffer),
        area_wgs84_wkb=shapely.to_wkb(area),
        plan=plan,
        credentials=keys,
        settings=settings,
    )
