"""The PU of a processed tile (batch-api.md §7), through domain.cost."""

from __future__ import annotations

from collections.abc import Sequence

from eobatch.domain.cost import tile_pu


def tile_cost(width: int, height: int, inputs: Sequence, sample_counts: Sequence[int], float32: bool) -> float:
    """PU before the batch discount: area x bands/3 x (2 if FLOAT32) x samples x collections."""
    bands = [b for spec in inputs for b in spec.bands]
    n_samples = max(sample_counts, default=1)
    return tile_pu(width, height, bands, float32=float32, samples=max(n_samples, 1), fusion=max(len(inputs), 1))
