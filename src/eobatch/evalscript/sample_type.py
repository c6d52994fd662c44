"""Convert raw script values to an output sampleType (evalscript V3 §SampleType).

Rounding rule (chosen here; SH does not document it): integer types round half up, `floor(x + 0.5)`,
then clamp to the type's range; NaN becomes 0. AUTO clamps to [0, 1], multiplies by 255 and rounds the
same way into UINT8. FLOAT32 is a plain cast: NaN and ±Inf are kept, and a finite value beyond the
float32 range (a script may return 1e300) becomes ±Inf, as JavaScript's `Math.fround` gives it.
"""

from __future__ import annotations

import numpy as np

from eobatch.errors import EvalscriptError

_INTEGER_TYPES: dict[str, type[np.integer]] = {
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "INT8": np.int8,
    "INT16": np.int16,
}
NUMPY_DTYPES: dict[str, np.dtype] = {
    "AUTO": np.dtype(np.uint8),
    "FLOAT32": np.dtype(np.float32),
    **{name: np.dtype(t) for name, t in _INTEGER_TYPES.items()},
}


def _round_clamp(values: np.ndarray, dtype: type[np.integer]) -> np.ndarray:
    info = np.iinfo(dtype)
    out = np.floor(np.asarray(values, dtype=np.float64) + 0.5)
    np.clip(out, info.min, info.max, out=out)
    out[np.isnan(out)] = 0
    return out.astype(dtype)


def to_sample_type(values: np.ndarray, sample_type: str) -> np.ndarray:
    """Raw float values -> the array written for `sample_type` (AUTO, UINT8, UINT16, INT8, INT16, FLOAT32)."""
    name = sample_type.upper()
    if name == "FLOAT32":
        with np.errstate(over="ignore"):
            return np.asarray(values, dtype=np.float32)
    if name == "AUTO":
        scaled = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0) * 255.0
        return _round_clamp(scaled, np.uint8)
    if name in _INTEGER_TYPES:
        return _round_clamp(values, _INTEGER_TYPES[name])
    raise EvalscriptError(f"sampleType {sample_type!r} is unknown; allowed: AUTO, INT8, UINT8, INT16, UINT16, FLOAT32.")
