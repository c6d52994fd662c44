"""Search over the real Sentinel-2 L1C sample data, configured through examples/collections-real.yaml."""

import datetime as dt
import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import Point, Polygon, box

from eobatch.collections import CollectionRegistry, order_scenes
from eobatch.collections.sources import StaticCatalogSource
from eobatch.errors import BadRequest

from .conftest import REAL, REAL_MASKED

AREA = box(14.552, 45.867, 14.563, 45.874)
SUMMER = ("2015-07-01T00:00:00Z", "2015-09-30T23:59:59Z")


def test_example_registers_the_real_collections(real_registry):
    assert real_registry.types() == ["byoc-s2-l1c-real-sclmasked", "sentinel-2-l1c", "sentinel-2-l2a"]
    l1c = real_registry.get("sentinel-2-l1c")
    assert isinstance(l1c.source, StaticCatalogSource)
    assert Path(l1c.source.href) == (REAL / "collection.json").resolve()
    assert l1c.bands["B10"].resolution == 60.0 and l1c.bands["B10"].scale == 0.0001
    assert l1c.bands["dataMask"].is_derived


def test_search_returns_all_five_scenes_newest_first(real_registry):
    scenes = real_registry.get("sentinel-2-l1c").search(AREA, *SUMMER)
    assert [s.id for s in scenes] == [
        "S2L1C_20150909T100017",
        "S2L1C_20150830T100547",
        "S2L1C_20150820T100728",
        "S2L1C_20150731T100009",
        "S2L1C_20150711T100008",
    ]
    first = scenes[-1]
    assert first.epsg == 32633 and first.cloud_cover == 0.0
    assert first.datetime == dt.datetime(2015, 7, 11, 10, 0, 8, tzinfo=dt.UTC)
    assert first.assets["B04"] == str((REAL / "S2L1C_20150711T100008" / "B04.tif").resolve())
    assert set(first.assets) == {f"B{i:02d}" for i in range(1, 13)} | {"B8A"}


def test_assets_are_readable_reflectance(real_registry):
    collection = real_registry.get("sentinel-2-l1c")
    scene = collection.search(AREA, *SUMMER)[-1]
    band = collection.bands["B08"]
    with rasterio.open(scene.assets["B08"]) as src:
        dn = src.read(1)
        assert src.crs.to_epsg() == scene.epsg
    reflectance = dn * band.scale + band.offset
    assert 0.10 < reflectance.mean() < 0.5


def test_time_range_is_inclusive_at_both_ends(real_registry):
    collection = real_registry.get("sentinel-2-l1c")
    exact = collection.search(AREA, "2015-07-31T10:00:09Z", "2015-08-20T10:07:28Z")
    assert [s.id for s in exact] == ["S2L1C_20150820T100728", "S2L1C_20150731T100009"]
    assert collection.search(AREA, "2015-07-31T10:00:10Z", "2015-08-20T10:07:27Z") == []


def test_max_cloud_coverage_keeps_scenes_at_or_below(real_registry):
    collection = real_registry.get("sentinel-2-l1c")
    assert len(collection.search(AREA, *SUMMER, max_cloud_coverage=0)) == 3
    assert len(collection.search(AREA, *SUMMER, max_cloud_coverage=99.9)) == 3
    assert len(collection.search(AREA, *SUMMER, max_cloud_coverage=100)) == 5


def test_footprint_must_share_area(real_registry):
    collection = real_registry.get("sentinel-2-l1c")
    assert collection.search(box(14.60, 45.80, 14.70, 45.85), *SUMMER) == []
    assert len(collection.search(Point(14.558, 45.870).buffer(0.0005), *SUMMER)) == 5
    # a triangle sharing only the footprint's west edge: no pixels in common
    edge = [(14.55141293, 45.86588942), (14.55133982, 45.87497738)]
    assert collection.search(Polygon([*edge, (14.54, 45.87)]), *SUMMER) == []
    assert len(collection.search(Polygon([*edge, (14.552, 45.87)]), *SUMMER)) == 5


def test_least_cc_ordering_on_real_scenes(real_registry):
    scenes = order_scenes(real_registry.get("sentinel-2-l1c").search(AREA, *SUMMER), "leastCC")
    assert [s.cloud_cover for s in scenes] == [0.0, 0.0, 0.0, 100.0, 100.0]
    assert scenes[0].id == "S2L1C_20150909T100017"


def test_masked_collection_has_nodata_holes(real_registry):
    collection = real_registry.get("byoc-s2-l1c-real-sclmasked")
    scenes = collection.search(AREA, "2016-12-01T00:00:00Z", "2017-03-01T00:00:00Z")
    assert len(scenes) == 5
    assert scenes[0].assets["B02"].startswith(str(REAL_MASKED.resolve()))
    with rasterio.open(scenes[0].assets["B02"]) as src:
        assert (src.read(1) == collection.bands["B02"].nodata).any()


def test_band_check_and_harmonize(real_registry):
    collection = real_registry.get("sentinel-2-l1c")
    collection.check_bands(["B02", "B10", "dataMask"])
    with pytest.raises(BadRequest, match=r"'SCL' is not available in collection sentinel-2-l1c.*B01, B02"):
        collection.check_bands(["B02", "SCL"])
    with pytest.raises(BadRequest, match="did you mean B8A"):
        collection.check_bands(["b8a"])
    scene = collection.search(AREA, *SUMMER)[0]
    assert collection.harmonize_offset(scene) == 0.0


def test_reversed_range_and_bad_cloud_cover_are_refused(real_registry):
    collection = real_registry.get("sentinel-2-l1c")
    with pytest.raises(BadRequest, match="reversed"):
        collection.search(AREA, SUMMER[1], SUMMER[0])
    with pytest.raises(BadRequest, match="0 to 100"):
        collection.search(AREA, *SUMMER, max_cloud_coverage=120)


def test_index_search_is_fast_after_load(real_registry):
    collection = real_registry.get("sentinel-2-l1c")
    collection.search(AREA, *SUMMER)
    index = collection.source.index(collection.asset_bands, collection.harmonize)
    start, end = dt.datetime(2015, 7, 1, tzinfo=dt.UTC), dt.datetime(2015, 10, 1, tzinfo=dt.UTC)
    assert len(index) == 5
    assert index.search(AREA, start, end) == collection.search(AREA, *SUMMER)


@pytest.fixture(scope="module")
def http_root():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(REAL.parent))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_static_catalog_over_http(http_root, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[collections.sentinel-2-l1c]\npreset = "sentinel-2-l1c"\n'
        f'source = {{ kind = "static", href = "{http_root}/s2-l1c-real/collection.json" }}\n'
    )
    collection = CollectionRegistry.from_file(config).get("sentinel-2-l1c")
    scenes = collection.search(AREA, *SUMMER, max_cloud_coverage=50)
    assert [s.id for s in scenes] == ["S2L1C_20150909T100017", "S2L1C_20150830T100547", "S2L1C_20150711T100008"]
    href = scenes[0].assets["B04"]
    assert href == f"{http_root}/s2-l1c-real/S2L1C_20150909T100017/B04.tif"
    with rasterio.open(scenes[0].assets["B04"].replace(http_root, str(REAL.parent))) as local:
        assert np.asarray(local.read(1)).shape == (101, 100)
