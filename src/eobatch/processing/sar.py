"""Sentinel-1 backscatter on the tile grid: conversion between backscatter coefficients, and the Lee
speckle filter (numpy only; see docs/collections.md "Sentinel-1 GRD").

With θ the incidence angle on the ellipsoid, β0 = σ0 / sin θ = γ0 / tan θ. GAMMA0_TERRAIN is taken as
γ0 on the ellipsoid with the local incidence angle, which equals γ0_ellipsoid on flat terrain.
"""

from __future__ import annotations

import numpy as np

# GRD IW high resolution: equivalent number of looks about 4.4, so speckle's coefficient of variation
# is 1/sqrt(4.4).
EQUIVALENT_LOOKS = 4.4


def _per_beta0(coefficient: str, incidence_rad: np.ndarray) -> np.ndarray | float:
    """coefficient / beta0 at the incidence angle."""
    if coefficient == "BETA0":
        return 1.0
    if coefficient == "SIGMA0_ELLIPSOID":
        return np.sin(incidence_rad)
    return np.tan(incidence_rad)  # GAMMA0_ELLIPSOID, GAMMA0_TERRAIN


def same_scale(stored: str, wanted: str) -> bool:
    """True when no conversion is needed (the gamma0 variants coincide on the flat demo terrain)."""
    return stored == wanted or {stored, wanted} == {"GAMMA0_ELLIPSOID", "GAMMA0_TERRAIN"}


def conversion_factor(incidence_deg: np.ndarray, stored: str, wanted: str) -> np.ndarray:
    """What to multiply linear power in the `stored` coefficient by to get the `wanted` one."""
    if same_scale(stored, wanted):
        return np.ones_like(incidence_deg, dtype=np.float32)
    theta = np.radians(incidence_deg.astype(np.float64))
    return (_per_beta0(wanted, theta) / _per_beta0(stored, theta)).astype(np.float32)


def _box_sum(values: np.ndarray, wx: int, wy: int) -> np.ndarray:
    """Sum over a wy x wx window centred on each pixel (windows clipped at the edges)."""
    rows, cols = values.shape
    padded = np.zeros((rows + 1, cols + 1), dtype=np.float64)
    np.cumsum(np.cumsum(values, axis=0, dtype=np.float64), axis=1, out=padded[1:, 1:])
    r = np.arange(rows)
    c = np.arange(cols)
    r0, r1 = np.clip(r - wy // 2, 0, rows), np.clip(r + (wy - wy // 2), 0, rows)
    c0, c1 = np.clip(c - wx // 2, 0, cols), np.clip(c + (wx - wx // 2), 0, cols)
    return padded[r1][:, c1] - padded[r0][:, c1] - padded[r1][:, c0] + padded[r0][:, c0]


def lee_filter(values: np.ndarray, valid: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """The Lee filter over a (x, y) window: local mean plus the share of the local deviation that is
    signal rather than speckle. Only valid pixels enter the statistics; invalid ones are left as they are."""
    wx, wy = window
    if wx == 1 and wy == 1:
        return values
    weight = valid.astype(np.float64)
    data = np.where(valid, values, 0.0).astype(np.float64)
    count = _box_sum(weight, wx, wy)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _box_sum(data, wx, wy) / count
        variance = np.maximum(_box_sum(data * data, wx, wy) / count - mean * mean, 0.0)
        cu2 = 1.0 / EQUIVALENT_LOOKS
        signal = np.maximum(variance - mean * mean * cu2, 0.0) / (1.0 + cu2)
        gain = np.where(variance > 0, signal / variance, 0.0)
        out = mean + gain * (data - mean)
    return np.where(valid, out, values).astype(np.float32)
