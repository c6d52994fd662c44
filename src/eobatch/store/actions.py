"""Applying a user action to a stored request: the state machine's decision plus its side effects,
in the caller's transaction (status, userAction, PU reservation, restarting failed tiles)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from eobatch.domain import cost
from eobatch.domain.records import RequestRecord
from eobatch.domain.states import Decision, RequestStatus, TileStatus, UserAction, decide
from eobatch.store import ledger
from eobatch.store.models import BatchRequest, Tile, utcnow
from eobatch.store.records import request_record
from eobatch.store.requests import request_row
from eobatch.store.transitions import move_tile, set_request_status


def reservation_for(request: BatchRequest, *, failed_tiles_only: bool = False, failed_pu: float = 0.0) -> float:
    """PU to hold when processing starts: the analysis' upper estimate (discounted), at least 100 PU,
    less what the request has already been charged (a resume after STOP).

    A restart of failed tiles holds only what those tiles are expected to cost.
    """
    if failed_tiles_only:
        return failed_pu
    estimate = (request.cost_estimate or {}).get("high")
    if estimate is None:
        estimate = (request.value_estimate or 0.0) * cost.BATCH_DISCOUNT
    # a request resumed after a stop has already paid for part of the work
    owed = cost.to_micro(cost.request_minimum(float(estimate))) - cost.to_micro(request.charged_pu or 0.0)
    return cost.from_micro(max(owed, 0))


def apply_action(session: Session, request: BatchRequest, action: UserAction, *, api: str = "v1") -> Decision:
    """Apply `action` to `request` (locked by the caller); raises IllegalAction/InsufficientUnits."""
    decision = decide(RequestStatus(request.status), UserAction(request.user_action), action, api=api)
    if not decision.changed:
        return decision
    now = utcnow()
    if decision.restart_failed_tiles:
        failed = (
            session.execute(
                select(Tile)
                .where(Tile.request_id == request.id, Tile.status == TileStatus.FAILED.value)
                .with_for_update()
            )
            .scalars()
            .all()
        )
        failed_pu = sum((t.estimated_pu or 0.0) for t in failed)
        ledger.reserve(session, request, reservation_for(request, failed_tiles_only=True, failed_pu=failed_pu))
        for tile in failed:  # through the tile lifecycle, each move recorded like every other one
            tile.attempts, tile.error = 0, None
            move_tile(session, tile, TileStatus.PENDING, now, "restartpartial")
        request.error = None
        request.finished_at = None
    elif decision.reserve:
        ledger.reserve(session, request, reservation_for(request))
    if decision.status is RequestStatus.CANCELED:
        ledger.release(session, request)
        request.finished_at = now
    if decision.status is RequestStatus.STOPPED:
        request.stopped_reason = "USER_ACTION"
    elif decision.status is RequestStatus.PROCESSING:
        request.stopped_reason = None
    set_request_status(request, decision.status)
    request.user_action = decision.user_action.value
    request.user_action_updated = now
    request.last_updated = now
    return decision


def act_on_request(
    session: Session,
    account_id: str,
    request_id: str,
    action: UserAction,
    *,
    api: str = "v1",
    check: Callable[[RequestRecord], None] | None = None,
) -> Decision:
    """Apply a user action to the account's request with its row locked (SELECT ... FOR UPDATE);
    `check(request)` may refuse it first (by raising)."""
    request = request_row(session, account_id, request_id, lock=True)
    if check is not None:
        check(request_record(request))
    return apply_action(session, request, action, api=api)
