"""v1 wire format: pydantic models (for the OpenAPI document) and renderers of the store's read models.

The models allow unknown keys, as Sentinel Hub clients send and read fields beyond the spec.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from eobatch.api.messages import request_error
from eobatch.domain.records import RequestRecord, TileRecord
from eobatch.domain.states import UserAction, v1_user_action


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TilingGridV1(WireModel):
    id: int
    resolution: float
    bufferX: int | None = None
    bufferY: int | None = None


class OutputV1(WireModel):
    defaultTilePath: str | None = None
    overwrite: bool | None = None
    skipExisting: bool | None = None
    cogOutput: bool | None = None
    cogParameters: dict[str, Any] | None = None


class CreateRequestV1(WireModel):
    """Body of POST /api/v1/batch/process (JSON, or multipart with `request` and `evalscript` parts)."""

    processRequest: dict[str, Any]
    tilingGrid: TilingGridV1
    output: OutputV1 | None = None
    bucketName: str | None = None
    description: str | None = None


class UpdateRequestV1(WireModel):
    output: dict[str, Any] | None = None
    description: str | None = None


class CostEstimate(WireModel):
    low: float | None = None
    high: float | None = None


class BatchRequestV1(WireModel):
    id: str
    userId: str
    accountId: str
    created: str
    processRequest: dict[str, Any]
    tilingGrid: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    bucketName: str | None = None
    description: str | None = None
    valueEstimate: float | None = None
    tileCount: int
    tileWidthPx: int | None = None
    tileHeightPx: int | None = None
    userAction: str
    userActionUpdated: str | None = None
    status: str
    error: str | None = None
    costEstimate: CostEstimate | None = Field(default=None, description="eobatch extra: discounted PU range")
    chargedPU: float = Field(default=0.0, description="eobatch extra: PU charged so far")


class TileV1(WireModel):
    id: int
    requestId: str
    name: str
    geometry: dict[str, Any]
    origin: dict[str, Any]
    status: str
    cost: float | None = None
    error: str | None = None


class GridV1(WireModel):
    id: int
    name: str
    properties: dict[str, Any]


class Links(WireModel):
    nextToken: str | None = None
    next: str | None = None


class RequestPage(WireModel):
    data: list[BatchRequestV1]
    links: Links


class TilePage(WireModel):
    data: list[TileV1]
    links: Links


class GridPage(WireModel):
    data: list[GridV1]
    links: Links


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z suffix (milliseconds kept)."""
    if value is None:
        return None
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tiling_grid_of(row: RequestRecord) -> dict[str, Any]:
    if row.tiling_grid:
        return dict(row.tiling_grid)
    return {"id": row.grid_id, "resolution": row.resolution, "bufferX": row.buffer_x, "bufferY": row.buffer_y}


def render_request(row: RequestRecord) -> dict[str, Any]:
    """A stored request as the v1 request object (batch-api.md §3.3), plus costEstimate and chargedPU."""
    return {
        "id": row.id,
        "userId": row.account_id,
        "accountId": row.account_id,
        "created": timestamp(row.created),
        "processRequest": row.process_request,
        "tilingGrid": tiling_grid_of(row),
        "output": row.output,
        "bucketName": row.bucket_name,
        "description": row.description,
        "valueEstimate": row.value_estimate,
        "tileCount": int(row.tile_count or 0),
        "tileWidthPx": row.tile_width_px,
        "tileHeightPx": row.tile_height_px,
        "userAction": v1_user_action(UserAction(row.user_action or "NONE")).value,
        "userActionUpdated": timestamp(row.user_action_updated),
        "status": row.status,
        "error": request_error(row.error, row.status, row.id, "v1"),
        "costEstimate": row.cost_estimate,
        "chargedPU": round(float(row.charged_pu or 0.0), 6),
    }


def render_tile(row: TileRecord) -> dict[str, Any]:
    """A stored tile as the v1 tile object (batch-api.md §3.6); origin is the upper-left corner."""
    return {
        "id": int(row.tile_id),
        "requestId": row.request_id,
        "name": row.name,
        "geometry": row.geometry,
        "origin": {
            "type": "Point",
            "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{row.epsg}"}},
            "coordinates": [row.minx, row.maxy],
        },
        "status": row.status,
        "cost": row.cost,
        "error": row.error,
        "attempts": row.attempts,
        "scenes": row.scene_count,
        "bytesWritten": row.bytes_written,
        "durationSeconds": row.duration_s,
        "evaluation": row.evaluation,
        "sceneIds": list(row.scene_ids or []),
        "outputs": list(row.outputs or []),
    }


def render_grid(grid: Any) -> dict[str, Any]:
    """A grids.TilingGrid as the v1 grid descriptor."""
    from eobatch import grids

    return grids.as_wire(grid)
