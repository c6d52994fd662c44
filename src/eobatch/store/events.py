"""Request events: recorded in the transaction that makes each change, read back in commit order.

`record_events` is a `before_flush` hook on every session of a `Database`: it turns what the flush is
about to write into `RequestEvent` rows, so the engine and the API need no code of their own for it:

* `status`: a request was created or changed status (data: status, previous, userAction);
* `tile`: a tile transition, from the `TileEvent` rows the engine writes (data: tileId, name, status,
  attempts, error);
* `pu`: a request's charged or reserved PU changed (data: chargedPU, reservedPU, chargedDelta).

Readers page by event id. On PostgreSQL ids are drawn before commit, so a transaction can commit a lower
id after a higher one is visible; readers therefore stop at a gap in the ids until the gap is
`GAP_GRACE_S` old (a rolled-back transaction leaves a gap for ever): `GapTracker`, `complete_until`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from eobatch.domain.cost import from_micro, to_micro
from eobatch.store.models import BatchRequest, RequestEvent, Tile, TileEvent, utcnow

GAP_GRACE_S = 10.0
READ_BATCH = 500


def _changed(obj: Any, attribute: str) -> tuple[Any, Any] | None:
    history = inspect(obj).attrs[attribute].history
    if not history.has_changes():
        return None
    before = history.deleted[0] if history.deleted else None
    after = history.added[0] if history.added else None
    return (before, after) if before != after else None


def _tile_events(session: Session) -> list[RequestEvent]:
    events = []
    for row in [obj for obj in session.new if isinstance(obj, TileEvent)]:
        with session.no_autoflush:
            tile = session.get(Tile, row.tile_pk)
        if tile is None:
            continue
        data = {"tileId": tile.tile_id, "name": tile.name, "status": row.status, "attempts": tile.attempts}
        if tile.error and row.status == "FAILED":
            data["error"] = tile.error
        if row.note:
            data["note"] = row.note
        events.append(
            RequestEvent(request_id=tile.request_id, account_id=tile.account_id, kind="tile", at=row.at, data=data)
        )
    return events


def _request_events(session: Session) -> list[RequestEvent]:
    events = []
    now = utcnow()
    for request in [obj for obj in (*session.new, *session.dirty) if isinstance(obj, BatchRequest)]:
        is_new = request in session.new
        charged = _changed(request, "charged_pu")
        reserved = _changed(request, "reserved_pu")
        if (charged or reserved) and not is_new:
            delta = from_micro(to_micro(charged[1] or 0.0) - to_micro(charged[0] or 0.0)) if charged else 0.0
            data = {"chargedPU": request.charged_pu, "reservedPU": request.reserved_pu, "chargedDelta": delta}
            events.append(
                RequestEvent(request_id=request.id, account_id=request.account_id, kind="pu", at=now, data=data)
            )
        status = _changed(request, "status")
        if status or is_new:
            data = {
                "status": request.status,
                "previous": None if is_new else status[0],
                "userAction": request.user_action,
            }
            if request.error:
                data["error"] = request.error
            events.append(
                RequestEvent(request_id=request.id, account_id=request.account_id, kind="status", at=now, data=data)
            )
    return events


def record_events(session: Session, _context: Any, _instances: Any) -> None:
    """`before_flush`: add the events for what this flush writes (tiles first, then PU, then status)."""
    events = _tile_events(session) + _request_events(session)
    session.add_all(events)


# --------------------------------------------------------------------------- reading


class GapTracker:
    """Tells how far the event ids are complete: a missing id is waited for until it has been missing
    for `GAP_GRACE_S` (then it belongs to a rolled-back transaction and is passed over)."""

    def __init__(self) -> None:
        self._first_seen: dict[int, float] = {}

    def horizon(self, ids: Sequence[int], after: int) -> int:
        """The highest id of `ids` (ascending, all > after) up to which nothing is missing any more."""
        now = time.monotonic()
        reached, expected = after, after + 1
        for event_id in ids:
            if event_id != expected:
                first = self._first_seen.setdefault(expected, now)
                if now - first < GAP_GRACE_S:
                    break
            reached, expected = event_id, event_id + 1
        if len(self._first_seen) > 10_000:
            self._first_seen.clear()
        return reached


@dataclass
class EventCursor:
    """Where a stream reader is: the last event id it has passed."""

    after: int = 0
    gaps: GapTracker = field(default_factory=GapTracker, repr=False)


def latest_id(session: Session) -> int:
    return int(session.execute(select(func.max(RequestEvent.id))).scalar_one() or 0)


def complete_until(session: Session, after: int, gaps: GapTracker) -> int:
    """The highest event id up to which every event after `after` is visible (see the module notes)."""
    ids = (
        session.execute(
            select(RequestEvent.id).where(RequestEvent.id > after).order_by(RequestEvent.id).limit(READ_BATCH)
        )
        .scalars()
        .all()
    )
    return gaps.horizon(ids, after)


def read_after(session: Session, cursor: EventCursor, request_id: str) -> list[dict[str, Any]]:
    """The request's next events after `cursor` in id order (`as_wire`), advancing it past every complete id."""
    until = complete_until(session, cursor.after, cursor.gaps)
    found = request_events(session, request_id, cursor.after, until=until) if until > cursor.after else []
    cursor.after = until
    return [as_wire(e) for e in found]


def request_events(
    session: Session, request_id: str, after: int = 0, *, until: int | None = None, limit: int = READ_BATCH
) -> list[RequestEvent]:
    """The request's events with after < id <= until, in id order."""
    query = select(RequestEvent).where(RequestEvent.request_id == request_id, RequestEvent.id > after)
    if until is not None:
        query = query.where(RequestEvent.id <= until)
    return list(session.execute(query.order_by(RequestEvent.id).limit(limit)).scalars().all())


def as_wire(event: RequestEvent) -> dict[str, Any]:
    """An event as the API and webhooks send it."""
    return {
        "id": event.id,
        "requestId": event.request_id,
        "type": event.kind,
        "at": event.at.isoformat().replace("+00:00", "Z"),
        **event.data,
    }
