"""The demo collections' pixels as an evalscript receives them (read through the pipeline's SceneReader):
Sentinel-1 backscatter coefficients and speckle filtering, Landsat units and QA, the DEM, and the
Sentinel-2 angle and auxiliary bands. Uses the session archive of every demo level (conftest.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine
from shapely.geometry import box

from eobatch.collections import DEMO_TIME_RANGE, CollectionRegistry
from eobatch.collections.demo.area import zone_grids
from eobatch.errors import BadRequest
from eobatch.processing.grid import TargetGrid
from eobatch.processing.mosaic import first_valid
from eobatch.processing.scene_reader import SceneReader, band_plans

ZONE33 = zone_grids()[1]
# 6 km x 6 km at 60 m in zone 33, inside the demo area.
GRID = TargetGrid(ZONE33.epsg, Affine(60.0, 0.0, ZONE33.left + 1200.0, 0.0, -60.0, ZONE33.top - 1200.0), 100, 100)
AREA = box(12.05, 45.12, 12.10, 45.16)


@pytest.fixture(scope="module")
def registry(all_demo_levels) -> CollectionRegistry:
    return CollectionRegistry.default(all_demo_levels)


def read(registry, settings, type_, bands, units=None, processing=None, when=DEMO_TIME_RANGE, grid=GRID):
    collection = registry.get(type_)
    scene = collection.search(AREA, *when)[0]
    units = units or ["DEFAULT"] * len(bands)
    plans = band_plans(collection, bands, units, True)
    reader = SceneReader(collection, plans, grid, settings, processing or {}, True, 1)
    got = reader(scene, np.ones((grid.height, grid.width), bool))
    assert got is not None
    return got


def test_s1_backscatter_coefficients_follow_the_incidence_angle(registry, all_demo_levels):
    bands = ["VV", "VH", "localIncidenceAngle"]
    beta = read(registry, all_demo_levels, "sentinel-1-grd", bands, processing={"backCoeff": "BETA0"}).bands
    sigma = read(registry, all_demo_levels, "sentinel-1-grd", bands, processing={"backCoeff": "SIGMA0_ELLIPSOID"}).bands
    gamma = read(registry, all_demo_levels, "sentinel-1-grd", bands).bands  # GAMMA0_ELLIPSOID by default
    theta = np.radians(beta["localIncidenceAngle"].astype(np.float64))
    assert 35.0 < np.degrees(theta).min() < np.degrees(theta).max() < 40.0
    for pol in ("VV", "VH"):
        np.testing.assert_allclose(sigma[pol], beta[pol] * np.sin(theta), rtol=1e-5)
        np.testing.assert_allclose(gamma[pol], beta[pol] * np.tan(theta), rtol=1e-5)
    vv_db = 10 * np.log10(np.median(gamma["VV"]))
    assert -16 < vv_db < -4  # farmland in C-band
    assert np.median(gamma["VH"]) < np.median(gamma["VV"])


def test_s1_lee_filter_reduces_speckle_and_terrain_needs_orthorectification(registry, all_demo_levels):
    plain = read(registry, all_demo_levels, "sentinel-1-grd", ["VV"]).bands["VV"]
    lee = {"speckleFilter": {"type": "LEE", "windowSizeX": 5, "windowSizeY": 5}}
    filtered = read(registry, all_demo_levels, "sentinel-1-grd", ["VV"], processing=lee).bands["VV"]
    assert np.std(np.diff(filtered, axis=1)) < 0.7 * np.std(np.diff(plain, axis=1))
    assert abs(np.mean(filtered) / np.mean(plain) - 1) < 0.05
    terrain = {"backCoeff": "GAMMA0_TERRAIN", "orthorectify": True}
    np.testing.assert_array_equal(
        read(registry, all_demo_levels, "sentinel-1-grd", ["VV"], processing=terrain).bands["VV"], plain
    )
    with pytest.raises(BadRequest, match="orthorectify"):
        read(registry, all_demo_levels, "sentinel-1-grd", ["VV"], processing={"backCoeff": "GAMMA0_TERRAIN"})


def test_landsat_units_qa_and_nan_outside_data(registry, all_demo_levels):
    may = ("2024-05-06T00:00:00Z", "2024-05-06T23:59:59Z")  # 40 % cloud target
    l1 = read(registry, all_demo_levels, "landsat-ot-l1", ["B04", "B05", "B10", "B11", "BQA", "SZA"], when=may).bands
    l2 = read(registry, all_demo_levels, "landsat-ot-l2", ["B04", "B05", "B10"], when=may).bands
    assert 250 < np.median(l1["B10"]) < 320 and 250 < np.median(l1["B11"]) < 320
    assert 270 < np.median(l2["B10"]) < 320
    clear = (l1["BQA"].astype(np.int64) >> 6) & 1 == 1
    cloud = (l1["BQA"].astype(np.int64) >> 3) & 1 == 1
    assert clear.any() and cloud.any()
    assert np.median(l1["B10"][cloud]) < np.median(l1["B10"][clear]) - 10  # clouds are cold
    ndvi = (l2["B05"] - l2["B04"]) / (l2["B05"] + l2["B04"])
    assert 0.2 < np.median(ndvi[clear]) < 0.9
    assert np.all(l1["B04"][clear] > l2["B04"][clear] - 0.02)  # TOA red above surface red (path radiance)
    assert 20 < np.median(l1["SZA"]) < 45  # May, late morning, 45°N
    # a grid reaching past the scene: Landsat's no-data pixels hold NaN, other collections' 0
    outside = TargetGrid(ZONE33.epsg, Affine(60.0, 0.0, ZONE33.right - 3000.0, 0.0, -60.0, ZONE33.top), 100, 20)
    for type_, fill in (("landsat-ot-l2", math.nan), ("sentinel-2-l2a", 0.0)):
        collection = registry.get(type_)
        scenes = collection.search(box(12.0, 45.0, 12.3, 45.3), *may)
        reader = SceneReader(
            collection, band_plans(collection, ["B04"], ["DEFAULT"], True), outside, all_demo_levels, {}
        )
        sample = first_valid(scenes, reader, np.ones((20, 100), bool), ["B04"], fill=collection.traits.nodata_fill)
        empty = sample["dataMask"] == 0
        assert empty.any() and (~empty).any()
        assert np.isnan(sample["B04"][empty]).all() if math.isnan(fill) else (sample["B04"][empty] == 0).all()


def test_dem_heights_and_static_search(registry, all_demo_levels):
    dem = registry.get("dem")
    assert len(dem.search(AREA, "1990-01-01T00:00:00Z", "1990-01-02T00:00:00Z")) == 1  # static: any time
    heights = read(registry, all_demo_levels, "dem", ["DEM"]).bands["DEM"]
    assert -6 < heights.min() < heights.max() < 20
    assert heights.max() - heights.min() > 3


def test_s2_angles_are_smooth_and_auxiliary_bands_plausible(registry, all_demo_levels):
    angles = ["sunZenithAngles", "sunAzimuthAngles", "viewZenithMean", "viewAzimuthMean"]
    june = ("2024-06-05T00:00:00Z", "2024-06-05T23:59:59Z")
    got = read(registry, all_demo_levels, "sentinel-2-l2a", [*angles, "AOT", "WVP", "CLD", "CLP", "SNW"], when=june)
    b = got.bands
    assert b["sunZenithAngles"].min() > 15 and b["sunZenithAngles"].max() < 80
    assert b["sunAzimuthAngles"].min() > 30 and b["sunAzimuthAngles"].max() < 200
    assert b["viewZenithMean"].min() >= 0 and b["viewZenithMean"].max() < 12
    assert b["viewAzimuthMean"].min() > 90 and b["viewAzimuthMean"].max() < 300
    for name in ("sunZenithAngles", "viewZenithMean"):  # bilinear from the 5 km grid: no steps
        assert np.abs(np.diff(b[name], axis=1)).max() < 0.05 and np.ptp(b[name]) > 0.01
    assert b["AOT"].min() >= 0.05 and b["AOT"].max() <= 0.35  # OPTICAL_DEPTH = DN / 1000
    assert b["WVP"].min() >= 1000 and b["WVP"].max() <= 4000  # DN = cm * 1000
    assert b["SNW"].max() == 0 and b["CLD"].max() <= 100 and b["CLP"].max() <= 255
    dn = read(registry, all_demo_levels, "sentinel-2-l2a", ["AOT"], units=["DN"], when=june).bands["AOT"]
    np.testing.assert_allclose(dn / 1000, b["AOT"], rtol=1e-6)
    with pytest.raises(BadRequest, match="Unit 'DN' is not available for band sunZenithAngles"):
        read(registry, all_demo_levels, "sentinel-2-l2a", ["sunZenithAngles"], units=["DN"], when=june)


def test_s2_cloud_probability_agrees_with_the_cloud_mask(registry, all_demo_levels):
    cloudy = ("2024-05-21T00:00:00Z", "2024-05-21T23:59:59Z")  # 95 % cloud target
    b = read(registry, all_demo_levels, "sentinel-2-l2a", ["CLP", "CLM"], when=cloudy).bands
    assert b["CLM"].mean() > 0.5
    np.testing.assert_array_equal(b["CLM"] == 1, b["CLP"] >= 102)
