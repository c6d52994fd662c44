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

from dataclasses import dataclass
from itertools import repeat
from typing import Any

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


def estimate(sizes: list[tuple[int, int]], inputs: CostInputs, scenes_per_tile: list[int]) -> Estimate:
    """Figures for tiles of output `sizes` (px, buffer included) holding `scenes_per_tile` scenes.

    Each distinct (size, samples) pair is priced once (a grid's tiles share one size), then the figures are
    summed tile by tile in tile order, so the sums are the same floats as pricing every tile on its own."""
    if len(sizes) != len(scenes_per_tile):
        raise ValueError("one scene count per tile is needed")
    sizes = [(int(w), int(h)) for w, h in sizes]
    scenes = [int(n) for n in scenes_per_tile]
    lo, hi = (min(scenes), max(scenes)) if scenes else (0, 0)
    distinct = set(sizes)
    value_of = {
        (w, h): cost.tile_pu(
            w, h, inputs.bands, float32=inputs.float32, samples=inputs.estimated_samples, fusion=inputs.fusion
        )
        for w, h in distinct
    }
    tile_samples = [_samples(inputs, n) for n in scenes]
    low_samples, high_samples = _samples(inputs, lo), _samples(inputs, hi)
    pairs = {*zip(sizes, tile_samples, strict=True), *((s, low_samples) for s in distinct)}
    pairs |= {(s, high_samples) for s in distinct}
    charged_of = {(size, k): _charged(size, inputs, k) for size, k in pairs}
    value = sum(map(value_of.__getitem__, sizes))
    per_tile = list(map(charged_of.__getitem__, zip(sizes, tile_samples, strict=True)))
    low = sum(map(charged_of.__getitem__, zip(sizes, repeat(low_samples))))
    high = sum(map(charged_of.__getitem__, zip(sizes, repeat(high_samples))))
    return Estimate(
        value_estimate=value,
        cost_estimate={
            "low": cost.request_minimum(low),
            "high": cost.request_minimum(high),
            "expected": cost.request_minimum(sum(per_tile)),
            "scenes_per_tile": {"min": lo, "max": hi},
        },
        tile_pu=per_tile,
    )
