"""What the dashboard shows, as JSON: request summaries with tile counts and allowed actions, tiles
with their WGS84 footprints, and the request's area."""

from __future__ import annotations

from typing import Any

from eobatch.domain.records import RequestRecord, TileRecord
from eobatch.domain.states import RequestStatus, UserAction, decide
from eobatch.errors import IllegalAction

ACTIONS = {
    "analyse": UserAction.ANALYSE,
    "start": UserAction.START,
    "cancel": UserAction.CANCEL,
    "restartpartial": UserAction.RESTART,
}


def iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def allowed_actions(row: RequestRecord) -> list[str]:
    """The v1 actions the state machine allows now (what the buttons offer)."""
    allowed = []
    for name, action in ACTIONS.items():
        try:
            decision = decide(RequestStatus(row.status), UserAction(row.user_action), action, api="v1")
        except IllegalAction:
            continue
        if decision.changed:
            allowed.append(name)
    return allowed


def request_summary(row: RequestRecord, counts: dict[str, int]) -> dict[str, Any]:
    data = row.process_request.get("input", {}).get("data") or [{}]
    return {
        "id": row.id,
        "description": row.description,
        "status": row.status,
        "userAction": row.user_action,
        "created": iso(row.created),
        "lastUpdated": iso(row.last_updated),
        "finished": iso(row.finished_at),
        "collection": data[0].get("type"),
        "tileCount": row.tile_count,
        "tiles": counts,
        "valueEstimate": row.value_estimate,
        "costEstimate": row.cost_estimate,
        "reservedPU": row.reserved_pu,
        "chargedPU": row.charged_pu,
        "gridId": row.grid_id,
        "resolution": row.resolution,
        "error": row.error,
        "actions": allowed_actions(row),
    }


def tile_view(tile: TileRecord) -> dict[str, Any]:
    return {
        "id": tile.tile_id,
        "name": tile.name,
        "status": tile.status,
        "attempts": tile.attempts,
        "durationS": tile.duration_s,
        "sceneCount": tile.scene_count,
        "noData": tile.no_data,
        "error": tile.error,
        "outputs": tile.outputs or [],
        "bytesWritten": tile.bytes_written,
        "chargedPU": tile.charged_pu,
        "estimatedPU": tile.estimated_pu,
        "epsg": tile.epsg,
        "widthPx": tile.width_px,
        "heightPx": tile.height_px,
        "updated": iso(tile.updated),
        "geometry": tile.geometry,
    }


def request_area(row: RequestRecord) -> dict[str, Any] | None:
    """The request's area in WGS84 GeoJSON (its bounds), or None when it cannot be drawn."""
    from shapely.geometry import mapping

    from eobatch.grids import area_from_bounds

    bounds = row.process_request.get("input", {}).get("bounds")
    try:
        return mapping(area_from_bounds(bounds))
    except Exception:  # a stored request always parsed once; a drawing aid must never fail the page
        return None
