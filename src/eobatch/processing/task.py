"""`TileTask` (everything a worker needs, picklable) and `TileResult` (what it reports back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eobatch.domain.plan import BatchPlan, Credentials
from eobatch.settings import Settings

TIMING_KEYS = ("search", "read", "mosaic", "evaluate", "encode", "write")


@dataclass
class TileTask:
    """One tile of one batch request; nothing from the database, nothing unpicklable."""

    request_id: str
    account_id: str
    tile: Any  # grids.GridTile
    pixel_grid: Any  # grids.PixelGrid
    area_wgs84_wkb: bytes  # the request's area; the worker takes the tile zone's part
    plan: BatchPlan  # inputs, evalscript, outputs and their destinations
    settings: Settings
    credentials: dict[str, Credentials] = field(default_factory=dict)  # key pairs the plan refers to
    # per input.data[] entry, the scenes reaching the tile from the request's single search; None: search
    scenes: tuple[tuple[Any, ...], ...] | None = None
    # 1 for a tile's first attempt; on a later one, outputs already present were written by an earlier
    # attempt of this tile (the first attempt checked the destinations before writing), so they are replaced
    attempt: int = 1


@dataclass
class TileResult:
    """What processing one tile produced. `cost_pu` is before the batch 1/3 discount."""

    bytes_written: int
    outputs: list[str]
    scene_count: int
    no_data: bool
    cost_pu: float
    timings: dict[str, float] = field(default_factory=dict)
    skipped: bool = False
    evaluation: str | None = None  # "compiled" or "v8: <reason>" (Evalscript.evaluation)
    scene_ids: list[str] = field(default_factory=list)  # the scenes the tile was made from, per input in order
