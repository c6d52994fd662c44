"""What becomes of a tile in flight: its outcome recorded and charged, given back unrun, or recovered
from a dead scheduler."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from eobatch.domain import cost
from eobatch.domain.states import RequestStatus, TileStatus, after_charge, after_tile_failure
from eobatch.store import ledger
from eobatch.store.models import BatchRequest, Tile
from eobatch.store.transitions import move_tile
from eobatch.store.work.shared import IN_FLIGHT, lock_request_row


@dataclass(frozen=True)
class TileOutcome:
    """What happened to one attempt, as the scheduler saw it."""

    ok: bool
    duration_s: float
    bytes_written: int = 0
    outputs: tuple[str, ...] = ()
    scene_count: int | None = None
    no_data: bool = False
    cost_pu: float = 0.0
    evaluation: str | None = None  # which evaluatePixel path ran ("compiled" / "v8: <reason>")
    scene_ids: list[str] | None = None  # the scenes the tile was made from
    error: str | None = None
    retryable: bool = True
    backoff_s: float = 0.0


def _locked_request(session: Session, request_id: str) -> BatchRequest | None:
    """The request row, locked once per transaction (outcomes of one batch share the lock)."""
    locked: dict[str, BatchRequest | None] = session.info.setdefault("eobatch.locked_requests", {})
    if request_id not in locked:
        locked[request_id] = lock_request_row(session, request_id)
    return locked[request_id]


def _owned_tile(session: Session, owner: str, tile_pk: int, request_id: str | None) -> tuple[BatchRequest, Tile] | None:
    if request_id is None:
        request_id = session.execute(select(Tile.request_id).where(Tile.pk == tile_pk)).scalar_one_or_none()
    if request_id is None:
        return None
    request = _locked_request(session, request_id)
    tile = session.execute(
        select(Tile)
        .where(Tile.pk == tile_pk, Tile.request_id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if request is None or tile is None or tile.lease_owner != owner or tile.status not in IN_FLIGHT:
        return None
    return request, tile


def record_outcome(
    session: Session,
    owner: str,
    tile_pk: int,
    outcome: TileOutcome,
    now: datetime,
    max_attempts: int,
    *,
    request_id: str | None = None,
) -> TileStatus | None:
    """Store an attempt's outcome; None when the tile is no longer ours (it was recovered meanwhile).

    A success is charged here, in the same transaction as the PROCESSED transition and only from an
    in-flight status, so a tile is never charged twice. `request_id`, when the caller knows it,
    spares a query; a wrong one finds no tile.
    """
    owned = _owned_tile(session, owner, tile_pk, request_id)
    if owned is None:
        return None
    request, tile = owned
    tile.lease_owner, tile.duration_s = None, outcome.duration_s
    if outcome.ok:
        tile.cost = outcome.cost_pu
        tile.charged_pu = cost.from_micro(
            cost.to_micro(cost.charged_pu(tile.width_px, tile.height_px, outcome.cost_pu))
        )
        tile.bytes_written, tile.outputs = outcome.bytes_written, list(outcome.outputs)
        tile.scene_count, tile.no_data, tile.error = outcome.scene_count, outcome.no_data, None
        tile.evaluation = outcome.evaluation
        tile.scene_ids = outcome.scene_ids
        tile.lease_expires = None
        move_tile(session, tile, TileStatus.PROCESSED, now)
        tiles_micro = cost.to_micro(request.tiles_charged_pu) + cost.to_micro(tile.charged_pu)
        request.tiles_charged_pu = cost.from_micro(tiles_micro)
        due = cost.from_micro(cost.tile_charge_due(tiles_micro, cost.to_micro(request.charged_pu)))
        covered = ledger.can_cover(session, request, due)
        note = (
            None if due == tile.charged_pu else f"{due} of the tile's {tile.charged_pu} PU: the minimum covers the rest"
        )
        ledger.charge(session, request, due, tile_pk=tile.pk, note=note)
        stop = after_charge(RequestStatus(request.status), covered)
        if stop is not None:
            request.stopped_reason = stop.value  # no more dispatch; settles as STOPPED (OUT_OF_PU)
        request.last_updated = now
        return TileStatus.PROCESSED
    new = after_tile_failure(tile.attempts, max_attempts) if outcome.retryable else TileStatus.FAILED
    if new is TileStatus.FAILED:
        tile.error = _failure_message(tile, outcome, max_attempts)
        tile.lease_expires = None
    else:
        tile.error = outcome.error
        tile.lease_expires = now + timedelta(seconds=outcome.backoff_s) if outcome.backoff_s > 0 else None
    move_tile(session, tile, new, now, outcome.error)
    return new


def _failure_message(tile: Tile, outcome: TileOutcome, max_attempts: int) -> str:
    tries = f"after {tile.attempts} of {max_attempts} attempts" if outcome.retryable else "(not retryable)"
    return f"Tile {tile.name} failed {tries}: {outcome.error}"


def release_tiles(
    session: Session, owner: str, now: datetime, pks: Sequence[int] | None = None, note: str = "scheduler-stop"
) -> int:
    """Give back our in-flight tiles (all, or `pks`) that never ran; the attempt is not counted."""
    query = select(Tile).where(Tile.lease_owner == owner, Tile.status.in_(IN_FLIGHT))
    if pks is not None:
        if not pks:
            return 0
        query = query.where(Tile.pk.in_(pks))
    rows = session.execute(query.with_for_update()).scalars().all()
    for t in rows:
        t.attempts = max(t.attempts - 1, 0)
        t.lease_owner = t.lease_expires = None
        move_tile(session, t, TileStatus.PENDING, now, note)
    return len(rows)


def recover_tiles(
    session: Session, owner: str, now: datetime, max_attempts: int, *, every_foreign: bool = False
) -> int:
    """Put tiles left in flight by a dead scheduler back to PENDING (the lost attempt counts).

    Normally only tiles whose lease expired are taken; `every_foreign` (the SQLite singleton just
    acquired) takes every in-flight tile not held by `owner`, since no other scheduler can be alive.
    """
    stale = or_(Tile.lease_expires.is_(None), Tile.lease_expires <= now)
    if every_foreign:
        stale = or_(stale, Tile.lease_owner.is_(None), Tile.lease_owner != owner)
    rows = (
        session.execute(select(Tile).where(Tile.status.in_(IN_FLIGHT), stale).with_for_update(skip_locked=True))
        .scalars()
        .all()
    )
    for t in rows:
        new = after_tile_failure(t.attempts, max_attempts)
        note = "lease-expired: the scheduler or worker holding the tile stopped answering"
        if new is TileStatus.FAILED:
            t.error = (
                f"Tile {t.name} failed after {t.attempts} of {max_attempts} attempts: its scheduler "
                "or worker stopped answering each time"
            )
        t.lease_owner = t.lease_expires = None
        move_tile(session, t, new, now, note)
    return len(rows)
