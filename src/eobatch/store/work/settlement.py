"""Settling requests: the final status and the request minimum; the tile facts the v2 execution
database and the STAC read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from eobatch.domain import cost
from eobatch.domain.states import RequestStatus, TileStatus, UserAction, settle
from eobatch.store import ledger
from eobatch.store.models import BatchRequest, Tile
from eobatch.store.transitions import set_request_status
from eobatch.store.work.shared import IN_FLIGHT, OUT_OF_PU, halting, lock_request_row


def requests_to_settle(session: Session) -> list[str]:
    """PROCESSING requests with nothing in flight and nothing more to dispatch (or a CANCEL/STOP, or out of PU)."""
    in_flight = exists().where(Tile.request_id == BatchRequest.id, Tile.status.in_(IN_FLIGHT))
    pending = exists().where(Tile.request_id == BatchRequest.id, Tile.status == TileStatus.PENDING.value)
    return list(
        session.execute(
            select(BatchRequest.id).where(
                BatchRequest.status == RequestStatus.PROCESSING.value, ~in_flight, or_(halting(), ~pending)
            )
        ).scalars()
    )


def settle_request(session: Session, request_id: str, now: datetime) -> RequestStatus | None:
    """Give a settled request its final status, charge up to the 100 PU minimum, release the rest."""
    row = lock_request_row(session, request_id)
    if row is None or row.status != RequestStatus.PROCESSING.value:
        return None
    counts = dict(
        session.execute(
            select(Tile.status, func.count()).where(Tile.request_id == request_id).group_by(Tile.status)
        ).all()
    )
    settlement = settle(
        UserAction(row.user_action),
        {TileStatus(status): n for status, n in counts.items()},
        out_of_pu=row.stopped_reason == OUT_OF_PU,
    )
    if settlement is None:
        return None
    if settlement.charge_minimum:
        due = cost.settle_charge_due(cost.to_micro(row.tiles_charged_pu), cost.to_micro(row.charged_pu))
        ledger.charge(session, row, cost.from_micro(due), note="the 100 PU request minimum")
    ledger.release(session, row)
    reason = settlement.stopped_reason
    row.stopped_reason = reason.value if reason else None
    if settlement.finished:
        row.finished_at = now
    if settlement.status in (RequestStatus.FAILED, RequestStatus.PARTIAL):
        processed, failed = counts.get(TileStatus.PROCESSED.value, 0), counts.get(TileStatus.FAILED.value, 0)
        row.error = _request_failure(session, request_id, processed, failed)
    set_request_status(row, settlement.status)
    row.last_updated = now
    return settlement.status


def _request_failure(session: Session, request_id: str, processed: int, failed: int) -> str:
    """The `error` of a FAILED or PARTIAL request: how many tiles failed and the first reason. Advice on
    what to do next depends on the API that shows it (`api.messages.request_error`)."""
    first = session.execute(
        select(Tile.error)
        .where(Tile.request_id == request_id, Tile.status == TileStatus.FAILED.value)
        .order_by(Tile.pk)
        .limit(1)
    ).scalar_one_or_none()
    if not processed:
        return f"All {failed} tiles failed. First error: {first}"
    return f"{failed} of {processed + failed} tiles failed. First error: {first}"


def execution_rows(session: Session, request_id: str) -> list[Any]:
    """The tile facts of the v2 execution database (tile_id, name, status, error, no_data), by tile id."""
    return list(
        session.execute(
            select(Tile.tile_id, Tile.name, Tile.status, Tile.error, Tile.no_data)
            .where(Tile.request_id == request_id)
            .order_by(Tile.tile_id)
        ).all()
    )


def stac_tile_rows(session: Session, request_id: str) -> list[Any]:
    """The tile facts a request's STAC is made of, by tile id."""
    return list(
        session.execute(
            select(
                Tile.tile_id,
                Tile.name,
                Tile.status,
                Tile.epsg,
                Tile.minx,
                Tile.miny,
                Tile.maxx,
                Tile.maxy,
                Tile.width_px,
                Tile.height_px,
                Tile.geometry,
                Tile.outputs,
                Tile.error,
            )
            .where(Tile.request_id == request_id)
            .order_by(Tile.tile_id)
        ).all()
    )


def active_requests(session: Session) -> int:
    """Requests the engine still has to work on (ANALYSING or PROCESSING)."""
    return session.execute(
        select(func.count())
        .select_from(BatchRequest)
        .where(BatchRequest.status.in_((RequestStatus.ANALYSING.value, RequestStatus.PROCESSING.value)))
    ).scalar_one()
