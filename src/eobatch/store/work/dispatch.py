"""Dispatch: which tiles may go now, claiming them per account, moving and renewing them in flight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from eobatch.domain.states import RequestStatus, TileStatus
from eobatch.store.models import BatchRequest, Tile
from eobatch.store.transitions import move_tile
from eobatch.store.work.shared import IN_FLIGHT, halting


def _dispatchable(now: datetime):
    """Conditions of a PENDING tile that may be dispatched now."""
    live = select(BatchRequest.id).where(BatchRequest.status == RequestStatus.PROCESSING.value, ~halting())
    return (
        Tile.status == TileStatus.PENDING.value,
        Tile.request_id.in_(live),
        or_(Tile.lease_expires.is_(None), Tile.lease_expires <= now),
    )


def accounts_with_pending_tiles(session: Session, now: datetime) -> list[str]:
    return list(
        session.execute(
            select(Tile.account_id).where(*_dispatchable(now)).distinct().order_by(Tile.account_id)
        ).scalars()
    )


def tiles_in_flight_by_account(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            select(Tile.account_id, func.count()).where(Tile.status.in_(IN_FLIGHT)).group_by(Tile.account_id)
        ).all()
    )


@dataclass(frozen=True)
class ClaimedTile:
    pk: int
    request_id: str
    account_id: str
    tile_id: int
    name: str
    epsg: int
    bounds: tuple[float, float, float, float]
    width_px: int
    height_px: int
    attempt: int
    geometry: dict[str, Any] | None = None  # footprint in WGS84 (GeoJSON)


def claim_pending_tiles(
    session: Session, owner: str, account_id: str, limit: int, now: datetime, ttl_s: float
) -> list[ClaimedTile]:
    """Move up to `limit` dispatchable tiles of one account to SCHEDULED under our lease (oldest first)."""
    if limit <= 0:
        return []
    rows = (
        session.execute(
            select(Tile)
            .where(Tile.account_id == account_id, *_dispatchable(now))
            .order_by(Tile.pk)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    claimed = []
    for t in rows:
        move_tile(session, t, TileStatus.SCHEDULED, now, f"by {owner}")
        t.attempts += 1
        t.lease_owner, t.lease_expires, t.heartbeat_at = owner, now + timedelta(seconds=ttl_s), now
        claimed.append(
            ClaimedTile(
                t.pk,
                t.request_id,
                t.account_id,
                t.tile_id,
                t.name,
                t.epsg,
                (t.minx, t.miny, t.maxx, t.maxy),
                t.width_px,
                t.height_px,
                t.attempts,
                t.geometry,
            )
        )
    return claimed


_FORWARD = (TileStatus.SCHEDULED, TileStatus.QUEUED, TileStatus.PROCESSING)


def mark_tiles(
    session: Session, owner: str, pks: Sequence[int], new: TileStatus, now: datetime, note: str | None = None
) -> int:
    """Move our in-flight tiles forward (SCHEDULED -> QUEUED -> PROCESSING); others are left alone."""
    if not pks:
        return 0
    rows = (
        session.execute(
            select(Tile)
            .where(Tile.pk.in_(pks), Tile.lease_owner == owner, Tile.status.in_(IN_FLIGHT))
            .with_for_update()
        )
        .scalars()
        .all()
    )
    moved = 0
    for t in rows:
        if _FORWARD.index(new) <= _FORWARD.index(TileStatus(t.status)):
            continue
        move_tile(session, t, new, now, note)
        moved += 1
    return moved


def heartbeat_tiles(session: Session, owner: str, pks: Sequence[int], now: datetime, ttl_s: float) -> int:
    """Renew the leases of the tiles whose tasks are alive; returns how many.

    Only `pks` (what the executor still holds): a tile we lost track of lets its lease run out.
    """
    if not pks:
        return 0
    return session.execute(
        update(Tile)
        .where(Tile.pk.in_(pks), Tile.lease_owner == owner, Tile.status.in_(IN_FLIGHT))
        .values(lease_expires=now + timedelta(seconds=ttl_s), heartbeat_at=now)
    ).rowcount


def halted_requests(session: Session, request_ids: Sequence[str]) -> list[str]:
    """Those of `request_ids` on which a CANCEL or STOP is in force, or that ran out of PU."""
    if not request_ids:
        return []
    return list(session.execute(select(BatchRequest.id).where(BatchRequest.id.in_(request_ids), halting())).scalars())
