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
    """Figures for tiles of output `sizes` (px, buffer included) holding `scenes_per_tile` scenes."""
    if len(sizes) != len(scenes_per_tile):
        raise ValueError("one scene count per tile is needed")
    value = sum(
        cost.tile_pu(w, h, inputs.bands, float32=inputs.float32, samples=inputs.estimated_samples, fusion=inputs.fusion)
        for w, h in sizes
    )
    per_tile = [_charged(s, inputs, _samples(inputs, n)) for s, n in zip(sizes, scenes_per_tile, strict=True)]
    lo, hi = (min(scenes_per_tile), max(scenes_per_tile)) if scenes_per_tile else (0, 0)
    low = sum(_charged(s, inputs, _samples(inputs, lo)) for s in sizes)
    high = sum(_charged(s, inputs, _samples(inputs, hi)) for s in sizes)
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
