"""Deterministic smooth noise in the shared local frame, and bilinear upsampling (numpy only)."""

from __future__ import annotations

import numpy as np

LATTICE = 128  # periodic lattice; with cells >= 300 m the period is far larger than the demo area


def lattices(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random((LATTICE, LATTICE), dtype=np.float32) for _ in range(count)]


def value_noise(x: np.ndarray, y: np.ndarray, cell: float, lattice: np.ndarray) -> np.ndarray:
    """Smooth noise in [0, 1] at local-frame points (x, y metres) with features about `cell` wide."""
    gx = x / np.float32(cell)
    gy = y / np.float32(cell)
    fx0 = np.floor(gx)
    fy0 = np.floor(gy)
    tx = gx - fx0
    ty = gy - fy0
    tx = tx * tx * (3 - 2 * tx)
    ty = ty * ty * (3 - 2 * ty)
    ix = fx0.astype(np.int64) & (LATTICE - 1)
    iy = fy0.astype(np.int64) & (LATTICE - 1)
    ix1 = (ix + 1) & (LATTICE - 1)
    iy1 = (iy + 1) & (LATTICE - 1)
    top = lattice[iy, ix] + (lattice[iy, ix1] - lattice[iy, ix]) * tx
    bottom = lattice[iy1, ix] + (lattice[iy1, ix1] - lattice[iy1, ix]) * tx
    return top + (bottom - top) * ty


def fbm(x: np.ndarray, y: np.ndarray, cell: float, lats: list[np.ndarray]) -> np.ndarray:
    """Fractal sum of octaves (cell, cell/2, ...), normalised to about [0, 1]."""
    total = np.zeros(np.broadcast_shapes(x.shape, y.shape), dtype=np.float32)
    weight, norm = 1.0, 0.0
    for octave, lattice in enumerate(lats):
        total += np.float32(weight) * value_noise(x, y, cell / 2**octave, lattice)
        norm += weight
        weight *= 0.5
    return total / np.float32(norm)


def _upsample_axis(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    n = a.shape[axis]
    pos = (np.arange(n * k) + 0.5) / k - 0.5
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, n - 2)
    w = np.clip(pos - i0, 0.0, 1.0).astype(np.float32)
    lo = np.take(a, i0, axis=axis)
    hi = np.take(a, i0 + 1, axis=axis)
    shape = [1, 1]
    shape[axis] = -1
    return lo + (hi - lo) * w.reshape(shape)


def upsample(a: np.ndarray, k: int) -> np.ndarray:
    """Bilinear upsampling of a 2-D array by an integer factor, pixel centres aligned."""
    if k == 1:
        return a
    return _upsample_axis(_upsample_axis(a, k, 0), k, 1)


def block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over k x k blocks (shape must divide)."""
    if k == 1:
        return a
    rows, cols = a.shape
    return a.reshape(rows // k, k, cols // k, k).mean(axis=(1, 3), dtype=np.float32)
