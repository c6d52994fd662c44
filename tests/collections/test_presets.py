"""Presets as Sentinel Hub documents them (units, sample types), collection-specific request options,
Sentinel-1 conversions and the Lee filter, the thermal conversion, and request checks for the new types."""

from __future__ import annotations

import math
import typing

import numpy as np
import pytest

from eobatch.collections import PRESETS, CollectionRegistry, preset_bands, validate_data_filter
from eobatch.collections.config import DEMO_LEVELS, PresetName
from eobatch.collections.options import check_options, parse_sar_processing
from eobatch.collections.presets import L1_RADIANCE, L1_THERMAL_K
from eobatch.errors import BadRequest
from eobatch.processing.sar import conversion_factor, lee_filter
from eobatch.processing.scene_reader import BandPlan, _to_values
from eobatch.settings import Settings


def test_every_preset_is_configurable_and_has_a_demo():
    assert set(typing.get_args(PresetName)) == set(PRESETS) == set(DEMO_LEVELS)


@pytest.mark.parametrize(
    ("preset", "band", "units", "source_format"),
    [
        ("sentinel-2-l1c", "B10", ("REFLECTANCE", "DN"), "UINT15"),
        ("sentinel-2-l1c", "sunZenithAngles", ("DEGREES",), "FLOAT32"),
        ("sentinel-2-l1c", "CLP", ("DN",), "UINT8"),
        ("sentinel-2-l2a", "AOT", ("OPTICAL_DEPTH", "DN"), "UINT16"),
        ("sentinel-2-l2a", "SNW", ("PERCENT",), "UINT8"),
        ("sentinel-2-l2a", "CLD", ("PERCENT",), "UINT8"),
        ("sentinel-2-l2a", "viewAzimuthMean", ("DEGREES",), "FLOAT32"),
        ("sentinel-1-grd", "HV", ("LINEAR_POWER",), "FLOAT32"),
        ("landsat-ot-l1", "B11", ("BRIGHTNESS_TEMPERATURE",), "UINT16"),
        ("landsat-ot-l1", "BQA", ("DN",), "UINT16"),
        ("landsat-ot-l1", "SZA", ("DEGREES",), "INT16"),
        ("landsat-ot-l2", "B10", ("KELVIN",), "UINT16"),
        ("landsat-ot-l2", "ST_CDIST", ("KILOMETERS",), "INT16"),
        ("dem", "DEM", ("METERS", "DN"), "FLOAT32"),
    ],
)
def test_units_and_source_formats(preset, band, units, source_format):
    spec = preset_bands(preset)[band]
    assert (spec.units, spec.source_format) == (units, source_format)
    assert spec.accepts_unit(units[0].lower()) and spec.accepts_unit("DEFAULT")


def test_band_sets():
    l1c, l2a = preset_bands("sentinel-2-l1c"), preset_bands("sentinel-2-l2a")
    angles = {"sunZenithAngles", "sunAzimuthAngles", "viewZenithMean", "viewAzimuthMean"}
    assert angles | {"CLP", "CLM"} <= set(l1c) and not {"AOT", "SCL"} & set(l1c)
    assert angles | {"AOT", "WVP", "SCL", "SNW", "CLD", "CLP", "CLM"} <= set(l2a) and "B10" not in l2a
    assert l2a["sunZenithAngles"].resampling == "BILINEAR" and l2a["CLM"].nodata == 255
    assert set(preset_bands("sentinel-1-grd")) >= {"VV", "VH", "HH", "HV", "dataMask"}
    assert [b for b in preset_bands("landsat-ot-l1") if b.startswith("B")] == [f"B{i:02d}" for i in range(1, 12)] + [
        "BQA"
    ]
    assert "B11" not in preset_bands("landsat-ot-l2") and "ST_EMIS" in preset_bands("landsat-ot-l2")
    assert preset_bands("landsat-ot-l1")["B08"].resolution == 15


def test_traits():
    registry = CollectionRegistry.default(Settings())
    assert math.isnan(registry.get("landsat-ot-l2").traits.nodata_fill)
    assert registry.get("sentinel-2-l2a").traits.nodata_fill == 0
    assert registry.get("DEM").traits.static and registry.get("S1GRD").traits.family == "sar"


def test_thermal_bands_convert_radiance_to_brightness_temperature():
    k1, k2 = L1_THERMAL_K["B10"]
    temperature = 295.0
    dn = (k1 / math.expm1(k2 / temperature) - L1_RADIANCE[1]) / L1_RADIANCE[0]
    plan = BandPlan("B10", 0.0, *L1_RADIANCE, False, False, planck=(k1, k2))
    assert _to_values(np.array([[dn]], np.float32), plan, 0.0)[0, 0] == pytest.approx(temperature, abs=0.01)


def test_backscatter_conversion_factors():
    theta = np.array([30.0, 40.0, 45.0], np.float32)
    rad = np.radians(theta.astype(np.float64))
    np.testing.assert_allclose(conversion_factor(theta, "BETA0", "SIGMA0_ELLIPSOID"), np.sin(rad), rtol=1e-6)
    np.testing.assert_allclose(conversion_factor(theta, "BETA0", "GAMMA0_ELLIPSOID"), np.tan(rad), rtol=1e-6)
    np.testing.assert_allclose(conversion_factor(theta, "GAMMA0_ELLIPSOID", "BETA0"), 1 / np.tan(rad), rtol=1e-6)
    np.testing.assert_allclose(
        conversion_factor(theta, "SIGMA0_ELLIPSOID", "GAMMA0_TERRAIN"), 1 / np.cos(rad), rtol=1e-6
    )
    assert (conversion_factor(theta, "GAMMA0_TERRAIN", "GAMMA0_ELLIPSOID") == 1).all()


def test_lee_filter_keeps_edges_of_invalid_pixels_and_smooths_speckle():
    rng = np.random.default_rng(1)
    field = np.full((60, 60), 0.1, np.float32) * rng.gamma(4.4, 1 / 4.4, (60, 60)).astype(np.float32)
    valid = np.ones(field.shape, bool)
    valid[:, :5] = False
    out = lee_filter(field, valid, (5, 5))
    assert np.std(out[:, 10:]) < 0.6 * np.std(field[:, 10:])
    np.testing.assert_array_equal(out[:, :5], field[:, :5])
    assert lee_filter(field, valid, (1, 1)) is field
    flat = np.full((8, 8), 0.2, np.float32)
    np.testing.assert_allclose(lee_filter(flat, np.ones((8, 8), bool), (3, 7)), flat)


@pytest.mark.parametrize(
    ("family", "data_filter", "processing", "parameter"),
    [
        ("sar", None, {"backCoeff": "SIGMA0"}, "processing.backCoeff"),
        ("sar", None, {"backCoeff": "GAMMA0_TERRAIN"}, "processing.backCoeff"),
        ("sar", None, {"orthorectify": "yes"}, "processing.orthorectify"),
        ("sar", None, {"demInstance": "SRTM"}, "processing.demInstance"),
        ("sar", None, {"speckleFilter": {"type": "LEE", "windowSizeX": 9, "windowSizeY": 3}}, "windowSizeX"),
        ("sar", None, {"speckleFilter": {"type": "GAMMA_MAP"}}, "speckleFilter.type"),
        ("sar", None, {"radiometricTerrainOversampling": 7}, "radiometricTerrainOversampling"),
        ("sar", {"acquisitionMode": "XX"}, None, "dataFilter.acquisitionMode"),
        ("sar", {"polarization": "QUAD"}, None, "dataFilter.polarization"),
        ("elevation", {"demInstance": "SRTM"}, None, "dataFilter.demInstance"),
        ("elevation", None, {"egm": True}, "processing.egm"),
        ("sar", None, "fast", "processing"),
    ],
)
def test_bad_collection_options_name_the_parameter(family, data_filter, processing, parameter):
    with pytest.raises(BadRequest) as caught:
        check_options(family, data_filter, processing, index=2)
    assert caught.value.errors[0].parameter.startswith("processRequest.input.data[2].")
    assert caught.value.errors[0].parameter.endswith(parameter)


def test_good_collection_options_pass_and_parse():
    check_options("sar", {"acquisitionMode": "IW", "polarization": "DV", "orbitDirection": "DESCENDING"}, None)
    check_options("elevation", {"demInstance": "COPERNICUS_30"}, {"egm": False, "upsampling": "BILINEAR"})
    check_options("optical", {"anything": 1}, {"harmonizeValues": False})
    parsed = parse_sar_processing(
        {
            "backCoeff": "gamma0_terrain",
            "orthorectify": "TRUE",
            "speckleFilter": {"type": "LEE", "windowSizeX": 3, "windowSizeY": 5},
        }
    )
    assert (parsed.back_coeff, parsed.orthorectify, parsed.speckle_window) == ("GAMMA0_TERRAIN", True, (3, 5))
    assert parse_sar_processing(None).back_coeff == "GAMMA0_ELLIPSOID"


def test_static_collections_need_no_time_range_and_s1_refuses_least_cc():
    parsed = validate_data_filter({}, collection_type="dem", static=True)
    assert parsed.time_from.year < 1900 and parsed.time_to.year > 3000
    with pytest.raises(BadRequest, match="timeRange"):
        validate_data_filter({}, collection_type="sentinel-2-l2a")
    time_range = {"from": "2024-04-01T00:00:00Z", "to": "2024-04-02T00:00:00Z"}
    for type_ in ("sentinel-1-grd", "dem"):
        with pytest.raises(BadRequest, match="leastCC"):
            validate_data_filter({"timeRange": time_range, "mosaickingOrder": "leastCC"}, collection_type=type_)
