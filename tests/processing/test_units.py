"""DN -> value conversion: scale and offset, units DN, harmonizeValues clamping and the -1000 offset."""

from __future__ import annotations

import numpy as np

from eobatch.collections.collection import Collection
from eobatch.collections.presets import sentinel2_l2a_bands
from eobatch.collections.sources import StaticCatalogSource
from eobatch.processing.scene_reader import _to_values, band_plans

L2A = Collection("sentinel-2-l2a", sentinel2_l2a_bands(), StaticCatalogSource("unused.json"))


def test_plans_follow_units_and_skip_data_mask():
    plans = band_plans(L2A, ["B04", "SCL", "B08", "dataMask"], ["DEFAULT", "DEFAULT", "DN", "DEFAULT"], True)
    assert [p.name for p in plans] == ["B04", "SCL", "B08"]
    b04, scl, b08 = plans
    assert not b04.raw_dn and b04.clamp_negative and b04.scale == 0.0001
    assert not scl.clamp_negative  # a DN band: no reflectance clamp
    assert b08.raw_dn and not b08.clamp_negative


def test_reflectance_with_baseline_offset_is_clamped_when_harmonized():
    dn = np.array([[500.0, 1500.0, np.nan]], np.float32)
    plan = band_plans(L2A, ["B04"], ["DEFAULT"], True)[0]
    out = _to_values(dn.copy(), plan, -1000.0)  # baseline >= 04.00: DN - 1000
    np.testing.assert_allclose(out[0, :2], [0.0, 0.05], rtol=1e-6)
    assert np.isnan(out[0, 2])
    raw = band_plans(L2A, ["B04"], ["DEFAULT"], False)[0]
    np.testing.assert_allclose(_to_values(dn.copy(), raw, 0.0)[0, :2], [0.05, 0.15], rtol=1e-6)


def test_dn_units_keep_the_stored_number():
    plan = band_plans(L2A, ["B04"], ["DN"], True)[0]
    np.testing.assert_array_equal(_to_values(np.array([[1234.0]], np.float32), plan, 0.0), [[1234.0]])


def test_only_data_mask_reads_one_band_for_validity():
    plans = band_plans(L2A, ["dataMask"], ["DEFAULT"], True)
    assert len(plans) == 1 and plans[0].raw_dn
