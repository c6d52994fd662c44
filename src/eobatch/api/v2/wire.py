"""v2 wire format: the task object (batch-api.md §4.4) rendered from a stored request of either API.

A v2-created request echoes its create body (credentials masked); a v1-created one is shown as the v2
body it corresponds to (tilingGrid -> tiling-grid input, defaultTilePath -> delivery.s3.url).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from eobatch.api.messages import request_error
from eobatch.api.v1.wire import timestamp
from eobatch.api.v2.intake import mask_secrets
from eobatch.domain.records import RequestRecord
from eobatch.domain.states import RequestStatus, UserAction, v2_status, v2_user_action


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class CreateTaskV2(WireModel):
    """Body of POST /api/v2/batch/process; unknown keys are accepted (instance_type, arrayParameter)."""

    processRequest: dict[str, Any]
    input: dict[str, Any]
    output: dict[str, Any]
    instanceType: str | None = None
    description: str | None = None


class UpdateTaskV2(WireModel):
    description: str | None = None


class TaskV2(WireModel):
    id: str
    request: dict[str, Any]
    domainAccountId: str
    status: str
    error: str | None = None
    userAction: str | None = None
    userActionUpdated: str | None = None
    created: str | None = None
    lastUpdated: str | None = None
    completionPercentage: float
    costPU: float | None = None
    stoppedStatusReason: str | None = None


class TaskPage(WireModel):
    data: list[TaskV2]
    links: dict[str, Any]


def completion_percentage(status: RequestStatus, finished: int, tile_count: int) -> float:
    """finished / tile count * 100, always a number; 100 once the v2 status is DONE."""
    if v2_status(status) is RequestStatus.DONE:
        return 100.0
    if tile_count <= 0:
        return 0.0
    return round(min(finished, tile_count) * 100.0 / tile_count, 2)


def stopped_reason(row: RequestRecord) -> str | None:
    status = RequestStatus(row.status)
    if status is RequestStatus.CANCELED:
        return "USER_ACTION"
    if status is RequestStatus.STOPPED:
        return row.stopped_reason or "USER_ACTION"
    return None


def request_echo(row: RequestRecord) -> dict[str, Any]:
    """The `request` field: the v2 body as sent (masked), or the v2 form of a v1 body."""
    if row.api_version == "v2":
        echo = mask_secrets(row.body)
        if row.description is not None:
            echo["description"] = row.description
        return echo
    grid = dict(row.tiling_grid or {"id": row.grid_id, "resolution": row.resolution})
    output = dict(row.output or {})
    url = output.pop("defaultTilePath", None) or (f"s3://{row.bucket_name}" if row.bucket_name else None)
    v2_output: dict[str, Any] = {"type": "raster", "delivery": {"s3": {"url": url}}}
    v2_output |= {k: v for k, v in output.items() if k in ("overwrite", "skipExisting", "cogOutput", "cogParameters")}
    echo = {"processRequest": row.process_request, "input": {"type": "tiling-grid", **grid}, "output": v2_output}
    if row.description is not None:
        echo["description"] = row.description
    return echo


def render_task(row: RequestRecord, finished_tiles: int = 0) -> dict[str, Any]:
    """A stored request as the v2 task object; `finished_tiles` counts PROCESSED + FAILED tiles."""
    status = RequestStatus(row.status)
    return {
        "id": row.id,
        "request": request_echo(row),
        "domainAccountId": row.account_id,
        "status": v2_status(status).value,
        "error": request_error(row.error, row.status, row.id, "v2"),
        "userAction": v2_user_action(UserAction(row.user_action or "NONE")).value,
        "userActionUpdated": timestamp(row.user_action_updated),
        "created": timestamp(row.created),
        "lastUpdated": timestamp(row.last_updated),
        "completionPercentage": completion_percentage(status, finished_tiles, int(row.tile_count or 0)),
        "costPU": round(float(row.charged_pu or 0.0), 6),
        "stoppedStatusReason": stopped_reason(row),
    }
