"""harmonizeValues decided by item properties: a baseline >= 04.00 scene loses 1000 DN unless its
provider already removed the offset (`earthsearch:boa_offset_applied: true`), as on Earth Search."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import yaml

from eobatch.processing import TargetGrid, process_tile
from eobatch.processing.runtime import clear_runtime_cache
from eobatch.settings import Settings
from tests.processing.archive import COLLECTION, make_scene, write_archive
from tests.processing.conftest import make_task
from tests.processing.expected import warp_band

B04_REFLECTANCE = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04"]}], output: {id: "default", bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) { return [s.B04]; }
"""

PROPERTIES = {
    "raw": {"s2:processing_baseline": "05.09"},  # DN carry the +1000
    "removed": {"s2:processing_baseline": "05.09", "earthsearch:boa_offset_applied": True},
    "flag-false": {"s2:processing_baseline": "05.09", "earthsearch:boa_offset_applied": False},
    "old": {"s2:processing_baseline": "03.01"},
}
OFFSET_IN_DN = {"raw": 1000, "removed": 0, "flag-false": 1000, "old": 0}


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """One single-scene archive per kind of item, all with the same surface reflectance."""
    base = make_scene("S", "2020-06-10T10:00:00Z", 0.0, 32633, 459_000, 5_091_000, 1200, 1200, seed=4)
    configs = {}
    for kind, properties in PROPERTIES.items():
        scene = make_scene("S", base.datetime, 0.0, 32633, 459_000, 5_091_000, 1200, 1200, seed=4)
        scene.bands = {"B04": base.bands["B04"] + np.uint16(OFFSET_IN_DN[kind])}
        root = tmp_path_factory.mktemp(kind)
        config = write_archive(root, [scene])
        items = json.loads((root / "items.json").read_text())
        items["features"][0]["properties"].update(properties)
        (root / "items.json").write_text(json.dumps(items))
        parsed = yaml.safe_load(config.read_text())
        parsed["collections"][COLLECTION]["harmonize"] = "sentinel-2"
        config.write_text(yaml.safe_dump(parsed))
        configs[kind] = config
    return base, configs


@pytest.mark.parametrize("kind", list(PROPERTIES))
@pytest.mark.parametrize("harmonize", [True, False])
def test_reflectance_follows_the_item_properties(archives, kind, harmonize, tile, tmp_path):
    base, configs = archives
    clear_runtime_cache()
    settings = Settings(data_dir=tmp_path / "data", collections_file=configs[kind])
    task = make_task(
        settings,
        tile,
        evalscript=B04_REFLECTANCE,
        responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
        data={"processing": {"harmonizeValues": harmonize}},
        output={"defaultTilePath": "s3://out/h/<tileName>.<format>"},
    )
    result = process_tile(task)
    with rasterio.open(settings.buckets_dir / result.outputs[0].removeprefix("s3://")) as src:
        got = src.read(1)
    grid = TargetGrid.of(task.pixel_grid)
    surface = warp_band(base, "B04", grid) * np.float32(0.0001)
    valid = np.isfinite(surface)
    assert valid.sum() > 1000
    kept_offset = 0 if harmonize else OFFSET_IN_DN[kind]
    np.testing.assert_allclose(got[valid], surface[valid] + np.float32(kept_offset * 0.0001), rtol=1e-5, atol=1e-6)
