"""Read models: what the store hands out of a request, a tile and an account (no ORM row leaves the store).

The API renders these (v1 and v2 wire objects, the dashboard, the event snapshot); `store/records.py`
makes them from the database rows, one converter per row type. Frozen dataclasses of plain values:
the raw bodies are kept only to echo them, the plan is the typed `BatchPlan`. Credentials are not here.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eobatch.domain.plan import BatchPlan


@dataclass(frozen=True)
class RequestRecord:
    """One batch request (v1) or task (v2) as stored: both APIs are views of it."""

    id: str
    account_id: str
    api_version: str
    created: datetime
    last_updated: datetime
    status: str
    user_action: str
    user_action_updated: datetime | None
    description: str | None
    # the create body as sent (secrets removed), and its parts as echoed on the wire
    body: dict[str, Any]
    process_request: dict[str, Any]
    tiling_grid: dict[str, Any] | None
    output: dict[str, Any] | None
    bucket_name: str | None
    plan_json: dict[str, Any] | None  # `plan`, as stored
    # the parsed grid settings
    grid_id: int | None
    resolution: float | None
    buffer_x: int
    buffer_y: int
    # analysis results
    tile_count: int
    tile_width_px: int | None
    tile_height_px: int | None
    value_estimate: float | None
    cost_estimate: dict[str, Any] | None
    # processing
    error: str | None
    stopped_reason: str | None
    charged_pu: float
    reserved_pu: float
    finished_at: datetime | None

    @property
    def plan(self) -> BatchPlan | None:
        """The typed plan (parsed from `plan_json` on each read)."""
        return None if self.plan_json is None else BatchPlan.from_json(self.plan_json)


@dataclass(frozen=True)
class TileRecord:
    """One output tile of a request; `tile_id` is the grid's stable id (the API's tile `id`)."""

    request_id: str
    tile_id: int
    name: str
    epsg: int
    minx: float
    miny: float
    maxx: float
    maxy: float
    width_px: int
    height_px: int
    geometry: dict[str, Any]  # footprint in WGS84, GeoJSON
    status: str
    attempts: int
    cost: float | None
    charged_pu: float
    estimated_pu: float | None
    error: str | None
    no_data: bool
    scene_count: int | None
    evaluation: str | None
    scene_ids: list[Any] | None
    bytes_written: int | None
    duration_s: float | None
    outputs: list[Any] | None
    updated: datetime


@dataclass(frozen=True)
class AccountRecord:
    """An account: who it is and where it may write (its PU are the ledger's `Balance`)."""

    id: str
    name: str
    created: datetime
    allowed_buckets: list[Any] | None
