"""The PU rules of domain/cost.py, one row per rule with its arithmetic, plus properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eobatch.domain import cost


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        pytest.param(dict(width=512, height=512, bands=["B02", "B03", "B04"]), 1.0, id="one-pu"),
        # area 1024*1024/512² = 4; bands 4/3; FLOAT32 x2; 2 samples -> 4 * 4/3 * 2 * 2 = 21.333
        pytest.param(
            dict(width=1024, height=1024, bands=["B02", "B03", "B04", "B08"], float32=True, samples=2),
            4 * 4 / 3 * 2 * 2,
            id="S4-example-without-orthorectification",
        ),
        # 10x10 px is 0.00038 of 512², raised to the 0.01 minimum; 3 bands -> 0.01
        pytest.param(dict(width=10, height=10, bands=["B02", "B03", "B04"]), 0.01, id="area-minimum"),
        # dataMask is not counted: 2 bands -> 2/3
        pytest.param(dict(width=512, height=512, bands=["B04", "B08", "dataMask"]), 2 / 3, id="datamask-free"),
        # dataMask alone counts as one band -> 1/3
        pytest.param(dict(width=512, height=512, bands=["dataMask"]), 1 / 3, id="datamask-only"),
        # fusion of two local collections x2
        pytest.param(dict(width=512, height=512, bands=["B04"], fusion=cost.fusion_factor(2)), 2 / 3, id="fusion"),
        pytest.param(dict(width=512, height=512, bands=["B04"], samples=0), 1 / 3, id="at-least-one-sample"),
    ],
)
def test_tile_pu(kwargs, expected):
    w, h, bands = kwargs.pop("width"), kwargs.pop("height"), kwargs.pop("bands")
    assert cost.tile_pu(w, h, bands, **kwargs) == pytest.approx(expected)


@pytest.mark.parametrize(
    "width,height,undiscounted,expected",
    [
        pytest.param(100, 100, 9.0, 3.0, id="10000px-gets-a-third"),
        pytest.param(99, 100, 9.0, 9.0, id="9900px-full-price"),
        pytest.param(2004, 2004, 30.0, 10.0, id="grid-tile"),
    ],
)
def test_charged_pu(width, height, undiscounted, expected):
    assert cost.charged_pu(width, height, undiscounted) == pytest.approx(expected)


@pytest.mark.parametrize("total,expected", [(0.0, 100.0), (99.9, 100.0), (100.0, 100.0), (250.5, 250.5)])
def test_request_minimum(total, expected):
    assert cost.request_minimum(total) == expected


@pytest.mark.parametrize(
    "mosaicking,days,expected",
    [
        pytest.param("SIMPLE", 30, 1, id="simple-one-sample"),
        pytest.param("ORBIT", 30, 10, id="every-third-day"),  # 1.1.-31.1. -> 10 samples, as Sentinel Hub says
        pytest.param("TILE", 1, 1, id="at-least-one"),
        pytest.param("orbit", 7, 2, id="case-insensitive"),
    ],
)
def test_estimated_samples(mosaicking, days, expected):
    start = datetime(2021, 1, 1, tzinfo=UTC)
    assert cost.estimated_samples(mosaicking, start, start + timedelta(days=days)) == expected


sizes = st.integers(1, 5000)
band_lists = st.lists(st.sampled_from(["B01", "B02", "B03", "B04", "B08", "B11", "dataMask"]), min_size=1, max_size=7)


@given(sizes, sizes, band_lists, st.booleans(), st.integers(1, 50))
def test_tile_pu_is_positive_and_monotonic_in_samples(w, h, bands, float32, samples):
    one = cost.tile_pu(w, h, bands, float32=float32, samples=samples)
    more = cost.tile_pu(w, h, bands, float32=float32, samples=samples + 1)
    assert 0 < one < more
    assert cost.tile_pu(w, h, bands, float32=True, samples=samples) == pytest.approx(
        2 * cost.tile_pu(w, h, bands, float32=False, samples=samples)
    )


@given(sizes, sizes, st.floats(0, 1e6))
def test_charging_never_costs_more_than_the_estimate(w, h, pu):
    charged = cost.charged_pu(w, h, pu)
    assert charged <= pu
    assert charged == pytest.approx(pu / 3) if w * h >= 10_000 else charged == pu
