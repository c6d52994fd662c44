"""Scalar JS semantics for the generated kernels (compiled by numba with the kernel).

Each function is the float64 operation V8 performs, written out where numpy's scalar functions
differ from ECMAScript (signed zeros in min/max, Math.round, Math.sign, ToInt32) or where a helper
of js/helpers.js is easier to share than to generate (stop lookups of the colour visualizers).
"""

from __future__ import annotations

import math

import numba
import numpy as np

NAN = math.nan
INF = math.inf
_jit = numba.njit(nogil=True, error_model="numpy", cache=False)


@_jit
def js_max(a, b):
    if a != a or b != b:
        return NAN
    if a > b:
        return a
    if b > a:
        return b
    return b if np.signbit(a) else a  # equal: +0 wins over -0


@_jit
def js_min(a, b):
    if a != a or b != b:
        return NAN
    if a < b:
        return a
    if b < a:
        return b
    return a if np.signbit(a) else b  # equal: -0 wins over +0


@_jit
def js_round(x):
    if x != x or x == 0.0 or math.isinf(x):
        return x
    r = np.floor(x)
    if x - r >= 0.5:
        r += 1.0
    if r == 0.0:
        return math.copysign(0.0, x)
    return r


@_jit
def js_sign(x):
    if x != x or x == 0.0:
        return x
    return 1.0 if x > 0.0 else -1.0


@_jit
def to_int32(x):
    if x != x or math.isinf(x):
        return np.int64(0)
    m = np.fmod(np.trunc(x), 4294967296.0)
    if m < 0.0:
        m += 4294967296.0
    n = np.int64(m)
    if n >= 2147483648:
        n -= 4294967296
    return n


@_jit
def wrap_int32(n):
    n = n & 0xFFFFFFFF
    if n >= 2147483648:
        n -= 4294967296
    return n


@_jit
def interp_segment(v, iv):
    """valueInterpolate: 0 copies values[0], len copies the last, i interpolates (i-1, i) by t."""
    n = iv.shape[0]
    if v <= iv[0]:
        return 0, 0.0
    for i in range(1, n):
        if v <= iv[i]:
            return i, (v - iv[i - 1]) / (iv[i] - iv[i - 1])
    return n, 0.0


@_jit
def ramp_process(v, tv, ti, trgb, tnorm):
    """ColorRampVisualizer.process: upperStop, then the packed-colour or RGB-array interpolation."""
    n = tv.shape[0]
    if not (v > tv[0]):
        i = 0
    elif v >= tv[n - 1]:
        i = n
    else:
        i = 1
        while v > tv[i]:
            i += 1
    if i == 0 or i == n:
        k = min(i, n - 1)
        return tnorm[k, 0], tnorm[k, 1], tnorm[k, 2]
    t = (v - tv[i - 1]) / (tv[i] - tv[i - 1])
    if ti[i - 1] and ti[i]:
        a, b = trgb[i - 1], trgb[i]
        return (
            np.trunc(a[0] + (b[0] - a[0]) * t) / 255.0,
            np.trunc(a[1] + (b[1] - a[1]) * t) / 255.0,
            np.trunc(a[2] + (b[2] - a[2]) * t) / 255.0,
        )
    a, b = tnorm[i - 1], tnorm[i]
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t


@_jit
def color_map_index(v, tv):
    """ColorMapVisualizer.process: the last stop of the leading run with stop <= value."""
    k = 0
    for i in range(1, tv.shape[0]):
        if tv[i] <= v:
            k = i
        else:
            break
    return k


NAMESPACE = {
    "NAN": NAN,
    "INF": INF,
    "js_max": js_max,
    "js_min": js_min,
    "js_round": js_round,
    "js_sign": js_sign,
    "to_int32": to_int32,
    "wrap_int32": wrap_int32,
    "interp_segment": interp_segment,
    "ramp_process": ramp_process,
    "color_map_index": color_map_index,
}
