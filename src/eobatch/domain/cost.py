"""Processing units (PU), as Sentinel Hub defines them (batch-api.md section 7). Pure functions.

1 PU = an output of 512 x 512 px, 3 input bands, 1 data sample, at most 16-bit output.
A batch tile costs `tile_pu(...)`; tiles of at least 10,000 px are charged a third of that
(`charged_pu`); a whole request costs at least 100 PU (`request_minimum`), once over its life
(`tile_charge_due`, `settle_charge_due`). `valueEstimate` is the sum of `tile_pu` over the tiles, before
the batch discount, as Sentinel Hub reports it.

Estimates are floats; what the ledger moves is whole micro-PU (`to_micro`, `from_micro`), so sums are
exact and a balance never shows residues such as 1.4e-14.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

PIXELS_PER_PU = 512 * 512
MIN_AREA_FACTOR = 0.01
BATCH_DISCOUNT = 1 / 3
BATCH_DISCOUNT_MIN_PIXELS = 10_000
REQUEST_MINIMUM_PU = 100.0
DAYS_PER_ESTIMATED_SAMPLE = 3
MICRO_PER_PU = 1_000_000


def area_factor(width: int, height: int) -> float:
    """Output pixels in units of 512 x 512, at least 0.01."""
    return max(width * height / PIXELS_PER_PU, MIN_AREA_FACTOR)


def band_factor(bands: list[str] | tuple[str, ...]) -> float:
    """Input bands / 3; dataMask is not counted unless it is the only band."""
    counted = [b for b in bands if b != "dataMask"]
    return max(len(counted), 1) / 3


def output_factor(float32: bool) -> float:
    """32-bit float outputs cost twice as much as 8/16-bit ones."""
    return 2.0 if float32 else 1.0


def fusion_factor(local_collections: int, remote_collections: int = 0) -> float:
    """Data fusion: local collections count once, remote ones twice; a single collection is 1."""
    return float(max(local_collections + 2 * remote_collections, 1))


def tile_pu(
    width: int,
    height: int,
    bands: list[str] | tuple[str, ...],
    *,
    float32: bool = False,
    samples: int = 1,
    fusion: float = 1.0,
) -> float:
    """The PU of one tile before the batch discount."""
    return area_factor(width, height) * band_factor(bands) * output_factor(float32) * max(samples, 1) * fusion


def batch_factor(width: int, height: int) -> float:
    """1/3 for tiles of at least 10,000 px, else 1."""
    return BATCH_DISCOUNT if width * height >= BATCH_DISCOUNT_MIN_PIXELS else 1.0


def charged_pu(width: int, height: int, undiscounted: float) -> float:
    """What a processed tile is actually charged."""
    return undiscounted * batch_factor(width, height)


def request_minimum(total: float) -> float:
    """A batch request costs at least 100 PU."""
    return max(total, REQUEST_MINIMUM_PU)


def estimated_samples(mosaicking: str, time_from: datetime, time_to: datetime) -> int:
    """Sentinel Hub's estimate of data samples: 1 for SIMPLE, one every 3 days for ORBIT/TILE."""
    if mosaicking.upper() == "SIMPLE":
        return 1
    days = (time_to - time_from).total_seconds() / 86400
    return max(1, math.floor(days / DAYS_PER_ESTIMATED_SAMPLE))


def to_micro(pu: float | int | Decimal) -> int:
    """PU as whole micro-PU, the ledger's unit (rounded half to even). Exact for a value from `from_micro`."""
    value = Decimal(repr(pu)) if isinstance(pu, float) else Decimal(pu)
    if not value.is_finite():
        raise ValueError(f"not a finite amount of PU: {pu!r}")
    return int((value * MICRO_PER_PU).to_integral_value(ROUND_HALF_EVEN))


def from_micro(micro: int) -> float:
    """Micro-PU as PU: the float nearest the exact value (its repr is the exact decimal, up to 10^9 PU)."""
    return micro / MICRO_PER_PU + 0.0  # + 0.0 turns -0.0 into 0.0


def tile_charge_due(tiles_micro: int, charged_micro: int) -> int:
    """What the ledger charges when a tile is processed, in micro-PU: the request's processed tiles now sum
    to `tiles_micro` (this tile included) and it was charged `charged_micro` so far. Normally the tile's own
    charge; after a restart of a request that already paid the 100 PU minimum, only what goes beyond it."""
    return max(tiles_micro - charged_micro, 0)


def settle_charge_due(tiles_micro: int, charged_micro: int) -> int:
    """The top-up when a request settles DONE or PARTIAL: up to max(100 PU, its tiles) over its whole life;
    nothing when no tile was charged."""
    if tiles_micro <= 0:
        return 0
    return max(max(tiles_micro, to_micro(REQUEST_MINIMUM_PU)) - charged_micro, 0)
