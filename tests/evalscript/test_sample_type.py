"""sampleType conversion: AUTO, integer types (floor(x + 0.5) then clamp, NaN -> 0), FLOAT32."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from eobatch.errors import EvalscriptError
from eobatch.evalscript import to_sample_type

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("sample_type", "values", "expected", "dtype"),
    [
        pytest.param("AUTO", [-0.5, 0, 0.5, 1, 1.7, NAN], [0, 0, 128, 255, 255, 0], np.uint8, id="auto-clamp-x255"),
        pytest.param("AUTO", [1 / 255 * 2.5], [3], np.uint8, id="auto-half-rounds-up"),
        pytest.param("UINT8", [40.6, 310, -3, 2.5, NAN], [41, 255, 0, 3, 0], np.uint8, id="uint8-doc-example"),
        pytest.param("UINT16", [70000, 1.49, -1, 65534.5], [65535, 1, 0, 65535], np.uint16, id="uint16"),
        pytest.param("INT8", [-200, -2.5, 127.4, 300], [-128, -2, 127, 127], np.int8, id="int8-half-up"),
        pytest.param("INT16", [-40000, 12.5, NAN, INF], [-32768, 13, 0, 32767], np.int16, id="int16"),
    ],
)
def test_integer_and_auto_conversion(sample_type, values, expected, dtype):
    out = to_sample_type(np.array(values, dtype=np.float64), sample_type)
    assert out.dtype == dtype
    assert out.tolist() == expected


def test_float32_keeps_nan_and_infinity():
    out = to_sample_type(np.array([NAN, INF, -INF, 0.1]), "FLOAT32")
    assert out.dtype == np.float32
    assert np.isnan(out[0]) and out[1] == INF and out[2] == -INF and out[3] == np.float32(0.1)


def test_float32_turns_values_beyond_its_range_into_infinity_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = to_sample_type(np.array([1e300, -1e300, 3.4e38, 1e-65]), "FLOAT32")
    assert out[0] == INF and out[1] == -INF
    assert out[2] == np.float32(3.4e38) and out[3] == 0.0


def test_unknown_sample_type_is_rejected():
    with pytest.raises(EvalscriptError, match="allowed: AUTO"):
        to_sample_type(np.zeros(1), "UINT32")
