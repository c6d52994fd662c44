"""The analysis' cost figures, as pure functions of tile sizes, the script's setup and scene counts.

* `valueEstimate` (Sentinel Hub rule): sum over tiles of `cost.tile_pu` with `cost.estimated_samples`
  (one sample every 3 days for ORBIT/TILE), before the 1/3 batch discount.
* `costEstimate` (eobatch): what the request is expected to be charged, from the scenes the catalog
  actually holds per tile: `low` with the fewest scenes found on any tile for every tile, `high` with
  the most, `expected` with each tile's own count; each discounted (`cost.charged_pu`) and at least
  the 100 PU request minimum. SIMPLE mosaicking always uses one sample.
* each tile's `estimated_pu` is its expected charge (discounted), the figure a restart reserves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eobatch.domain import cost


@dataclass(frozen=True)
class CostInputs:
    """What the script and the request say about cost, the same for every tile."""

    bands: tuple[str, ...]
    float32: bool
    fusion: float
    mosaicking: str  # SIMPLE | ORBIT | TILE
    estimated_samples: int  # cost.estimated_samples(mosaicking, from, to)


@dataclass(frozen=True)
class Estimate:
    value_estimate: float
    cost_estimate: dict[str, Any]
    tile_pu: list[float]  # expected charge of each tile, discounted


def _samples(inputs: CostInputs, scenes: int) -> int:
    return 1 if inputs.mosaicking.upper() == "SIMPLE" else max(scenes, 1)


def _charged(size: tuple[int, int], inputs: CostInputs, samples: int) -> float:
    w, h = size
    pu = cost.tile_pu(w, h, inputs.bands, float32=inputs.float32, samples=samples, fusion=inputs.fusion)
    return cost.charged_pu(w, h, pu)


def estimate(
    sizes: Sequence[tuple[int, int]] | np.ndarray, inputs: CostInputs, scenes_per_tile: Sequence[int]
) -> Estimate:
    """Figures for tiles of output `sizes` (px, buffer included: (width, height) pairs or an (n, 2) array)
    holding `scenes_per_tile` scenes.

    Each distinct (size, samples) pair is priced once (a grid's tiles share one size), then the figures are
    summed tile by tile in tile order, so the sums are the same floats as pricing every tile on its own."""
    if len(sizes) != len(scenes_per_tile):
        raise ValueError("one scene count per tile is needed")
    wh = np.asarray(sizes, dtype=np.int64).reshape(len(sizes), 2)
    scenes = np.asarray(scenes_per_tile, dtype=np.int64).reshape(len(sizes))
    lo, hi = (int(scenes.min()), int(scenes.max())) if len(scenes) else (0, 0)
    distinct, size_of = np.unique(wh, axis=0, return_inverse=True)
    size_of = size_of.reshape(-1)
    pairs = [(w, h) for w, h in distinct.tolist()]

    def per_tile(price: Callable[[tuple[int, int]], float]) -> list[float]:
        """Each tile's figure in tile order, `price` called once per distinct size."""
        return np.array([price(pair) for pair in pairs], dtype=np.float64)[size_of].tolist()

    samples_of = np.ones_like(scenes) if inputs.mosaicking.upper() == "SIMPLE" else np.maximum(scenes, 1)
    keys, key_of = np.unique(np.column_stack([size_of, samples_of]), axis=0, return_inverse=True)
    charged = [_charged(pairs[k], inputs, n) for k, n in keys.tolist()]
    tile_pu = np.array(charged, dtype=np.float64)[key_of.reshape(-1)].tolist()
    value = sum(
        per_tile(
            lambda p: cost.tile_pu(
                *p, inputs.bands, float32=inputs.float32, samples=inputs.estimated_samples, fusion=inputs.fusion
            )
        )
    )
    low_samples, high_samples = _samples(inputs, lo), _samples(inputs, hi)
    low = sum(per_tile(lambda p: _charged(p, inputs, low_samples)))
    high = sum(per_tile(lambda p: _charged(p, inputs, high_samples)))
    return Estimate(
        value_estimate=value,
        cost_estimate={
            "low": cost.request_minimum(low),
            "high": cost.request_minimum(high),
            "expected": cost.request_minimum(sum(tile_pu)),
            "scenes_per_tile": {"min": lo, "max": hi},
        },
        tile_pu=tile_pu,
    )
