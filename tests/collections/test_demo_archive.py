"""The synthetic demo archive: layout, COGs, STAC, search across UTM zones, and plausible pixels."""

import datetime as dt
import json

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box
from shapely.ops import unary_union

from eobatch.collections import DEMO_AREA_WGS84, DEMO_TIME_RANGE, ensure_demo_archive, group_by_day
from eobatch.collections.demo.archive import SEED
from eobatch.collections.demo.area import zone_grids
from eobatch.collections.demo.clouds import CloudDeck
from eobatch.collections.demo.landscape import U_FOREST, U_WATER, build_landscape
from eobatch.collections.demo.render import render

STRADDLE = box(11.95, 45.10, 12.05, 45.15)  # around the zone boundary at 12°E


@pytest.fixture(scope="module")
def l2a(demo_registry):
    return demo_registry.get("sentinel-2-l2a")


@pytest.fixture(scope="module")
def l1c(demo_registry):
    return demo_registry.get("sentinel-2-l1c")


def read(scene, band):
    with rasterio.open(scene.assets[band]) as src:
        return src.read(1)


def test_layout_and_no_leftovers(demo_settings):
    root = ensure_demo_archive(demo_settings)
    catalog = json.loads((root / "catalog.json").read_text())
    assert [link["href"] for link in catalog["links"] if link["rel"] == "child"] == [
        "./sentinel-2-l2a/collection.json",
        "./sentinel-2-l1c/collection.json",
    ]
    assert sorted(p.name for p in root.iterdir()) == ["catalog.json", "sentinel-2-l1c", "sentinel-2-l2a"]
    collection = json.loads((root / "sentinel-2-l2a" / "collection.json").read_text())
    assert "SYNTHETIC" in collection["description"]
    assert len([link for link in collection["links"] if link["rel"] == "item"]) == 24


def test_second_call_changes_nothing(demo_settings):
    root = ensure_demo_archive(demo_settings)
    cog = next((root / "sentinel-2-l2a").glob("*/B04.tif"))
    before = (cog.stat().st_mtime_ns, (root / "catalog.json").stat().st_mtime_ns)
    assert ensure_demo_archive(demo_settings) == root
    assert (cog.stat().st_mtime_ns, (root / "catalog.json").stat().st_mtime_ns) == before


def test_search_covers_both_zones_and_the_whole_period(l2a):
    scenes = l2a.search(DEMO_AREA_WGS84, *DEMO_TIME_RANGE)
    assert len(scenes) == 24
    assert {s.epsg for s in scenes} == {32632, 32633}
    days = group_by_day(scenes)
    assert len(days) == 12
    assert days[0][0] == dt.date(2024, 6, 28) and days[-1][0] == dt.date(2024, 4, 3)
    for _, pair in days:
        assert sorted(s.epsg for s in pair) == [32632, 32633]
        assert unary_union([s.footprint_wgs84 for s in pair]).contains(DEMO_AREA_WGS84)
    west = l2a.search(box(11.86, 45.10, 11.90, 45.12), *DEMO_TIME_RANGE)
    assert {s.epsg for s in west} == {32632}
    assert len(l2a.search(STRADDLE, "2024-05-06T00:00:00Z", "2024-05-06T23:59:59Z")) == 2


def test_cloud_cover_spread_and_filter(l2a):
    scenes = l2a.search(DEMO_AREA_WGS84, *DEMO_TIME_RANGE)
    covers = [s.cloud_cover for s in scenes]
    assert min(covers) < 1.0 and max(covers) > 70.0
    clear = l2a.search(DEMO_AREA_WGS84, *DEMO_TIME_RANGE, max_cloud_coverage=10)
    assert clear and all(s.cloud_cover <= 10 for s in clear)
    assert len(clear) < len(scenes)


def test_cogs_bands_and_resolutions(l2a, l1c):
    scene = l2a.search(STRADDLE, *DEMO_TIME_RANGE)[0]
    assert set(scene.assets) == set(l2a.bands) - {"dataMask"}
    for band, dtype in (("B02", "uint16"), ("B05", "uint16"), ("B01", "uint16"), ("SCL", "uint8")):
        with rasterio.open(scene.assets[band]) as src:
            assert src.res == (l2a.bands[band].resolution,) * 2
            assert (src.dtypes[0], src.crs.to_epsg(), src.nodata) == (dtype, scene.epsg, 0)
            assert src.profile["compress"] == "deflate"
        valid, errors, _ = cog_validate(scene.assets[band])
        assert valid, errors
    assert "B10" in l1c.search(STRADDLE, *DEMO_TIME_RANGE)[0].assets and "B10" not in scene.assets
    with rasterio.open(scene.assets["B02"]) as src:
        assert src.overviews(1) == [2, 4]


def test_clm_scl_and_cloud_cover_agree(l2a):
    for scene in l2a.search(STRADDLE, "2024-05-06T00:00:00Z", "2024-05-13T23:59:59Z"):
        clm, scl = read(scene, "CLM"), read(scene, "SCL")
        assert scene.cloud_cover == pytest.approx(clm.mean() * 100, abs=0.01)
        np.testing.assert_array_equal(clm == 1, np.isin(scl, (8, 9)))
        assert set(np.unique(scl)) <= {3, 4, 5, 6, 8, 9, 10}


def test_l1c_is_brighter_in_blue_than_l2a(l2a, l1c):
    window = ("2024-06-05T00:00:00Z", "2024-06-05T23:59:59Z")
    surface = read(l2a.search(STRADDLE, *window)[0], "B02").astype(float)
    toa = read(l1c.search(STRADDLE, *window)[0], "B02").astype(float)
    assert 300 < (toa - surface).mean() < 1500  # path radiance in the blue


def test_deterministic_regeneration(l2a):
    """Re-rendering one scene from the seed gives the archived pixels bit for bit."""
    grid = zone_grids()[1]
    when = dt.date(2024, 4, 18)
    deck = CloudDeck(SEED)
    from eobatch.collections.demo.area import CLOUD_TARGETS

    alpha, shadow = deck.opacity(grid, when, deck.threshold(when, CLOUD_TARGETS[2]))
    again = render(build_landscape(grid, SEED), when, alpha, shadow, ("sentinel-2-l2a",))
    scene = next(s for s in l2a.search(STRADDLE, "2024-04-18T00:00:00Z", "2024-04-18T23:59:59Z") if s.epsg == grid.epsg)
    np.testing.assert_array_equal(read(scene, "B04"), again.l2a["B04"])
    np.testing.assert_array_equal(read(scene, "SCL"), again.l2a["SCL"])


def _ndvi(scene):
    red, nir = read(scene, "B04").astype(float), read(scene, "B08").astype(float)
    return (nir - red) / (nir + red)


def test_pixels_are_plausible(l2a, tmp_path):
    """Forest green, water dark with negative NDVI, crops greening up from April to June; writes a
    true-colour + NDVI preview PNG (look at it when changing the generator)."""
    grid = zone_grids()[0]
    units, _ = build_landscape(grid, SEED).at(1)
    scenes = {s.datetime.date(): s for s in l2a.search(box(11.86, 45.10, 11.90, 45.12), *DEMO_TIME_RANGE)}
    april, june = scenes[dt.date(2024, 4, 3)], scenes[dt.date(2024, 6, 5)]
    assert april.cloud_cover == 0 and june.cloud_cover == 0
    ndvi_april, ndvi_june = _ndvi(april), _ndvi(june)
    forest, water, crops = units == U_FOREST, units == U_WATER, units >= 5
    assert ndvi_june[forest].mean() > 0.75
    assert ndvi_june[water].mean() < 0 and read(june, "B08")[water].mean() < 300
    assert ndvi_june[crops].mean() > ndvi_april[crops].mean() + 0.1
    rgb = np.stack([read(june, b) for b in ("B04", "B03", "B02")]).astype(float) / 10000
    assert 0.02 < rgb.mean() < 0.2
    preview = np.concatenate(
        [
            np.clip(rgb * 3.5 * 255, 0, 255),
            np.stack([np.clip(1 - ndvi_june, 0, 1), np.clip(ndvi_june, 0, 1), np.zeros_like(ndvi_june)]) * 255,
        ],
        axis=2,
    ).astype(np.uint8)
    with rasterio.open(
        tmp_path / "preview.png",
        "w",
        driver="PNG",
        width=preview.shape[2],
        height=preview.shape[1],
        count=3,
        dtype="uint8",
        crs=f"EPSG:{grid.epsg}",
        transform=grid.transform(10.0),
    ) as png:
        png.write(preview)
    assert (tmp_path / "preview.png").stat().st_size > 10_000


def test_demo_bands_and_harmonize(l2a, l1c):
    l2a.check_bands(["B02", "B8A", "SCL", "CLM", "dataMask"])
    l1c.check_bands(["B10", "CLM", "dataMask"])
    with pytest.raises(Exception, match="B10"):
        l2a.check_bands(["B10"])
    assert l2a.harmonize_offset(l2a.search(STRADDLE, *DEMO_TIME_RANGE)[0]) == 0.0
