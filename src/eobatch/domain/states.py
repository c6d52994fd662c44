"""Request and tile lifecycles as pure state machines: a status and an event in, a decision out.

Nothing here touches the database or the clock; the API and the scheduler apply the decisions.

Request statuses (v1 names; v2 is a view of the same model, see `v2_status`):

    CREATED --ANALYSE--> ANALYSING --(analysis done)--> ANALYSIS_DONE
    CREATED --START--> ANALYSING --(analysis done)--> PROCESSING          (START remembered)
    ANALYSIS_DONE | STOPPED --START--> PROCESSING                        (PU reserved)
    PROCESSING --(last tile finished)--> DONE | PARTIAL | FAILED
    PARTIAL --RESTART--> PROCESSING                                      (FAILED tiles -> PENDING)
    CREATED | ANALYSIS_DONE | STOPPED --CANCEL--> CANCELED                (at once; v1)
    ANALYSING | PROCESSING --CANCEL--> same status, userAction CANCEL     (engine finishes it: CANCELED)
    ANALYSIS_DONE --STOP--> STOPPED; ANALYSING | PROCESSING --STOP--> userAction STOP (engine: STOPPED)
    CREATED --STOP--> illegal (nothing to stop: a request is stopped after analysis, never before)

Repeating the action already in force is accepted and changes nothing (clients retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eobatch.errors import IllegalAction


class RequestStatus(StrEnum):
    CREATED = "CREATED"
    ANALYSING = "ANALYSING"
    ANALYSIS_DONE = "ANALYSIS_DONE"
    PROCESSING = "PROCESSING"
    DONE = "DONE"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    STOPPED = "STOPPED"


class UserAction(StrEnum):
    NONE = "NONE"
    ANALYSE = "ANALYSE"
    START = "START"
    CANCEL = "CANCEL"
    RESTART = "RESTART"
    STOP = "STOP"


class TileStatus(StrEnum):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


class StoppedReason(StrEnum):
    USER_ACTION = "USER_ACTION"
    OUT_OF_PU = "OUT_OF_PU"
    UNHEALTHY = "UNHEALTHY"


FINAL_STATUSES = frozenset({RequestStatus.DONE, RequestStatus.PARTIAL, RequestStatus.FAILED, RequestStatus.CANCELED})
TILES_IN_FLIGHT = frozenset({TileStatus.SCHEDULED, TileStatus.QUEUED, TileStatus.PROCESSING})
TILES_FINISHED = frozenset({TileStatus.PROCESSED, TileStatus.FAILED})


@dataclass(frozen=True)
class Decision:
    """What applying a user action does.

    `status` is the new request status; `user_action` the new userAction field; `reserve` asks the
    caller to reserve processing units in the same transaction; `restart_failed_tiles` asks it to move
    FAILED tiles back to PENDING; `changed` is False for an accepted repeat that changes nothing.
    """

    status: RequestStatus
    user_action: UserAction
    reserve: bool = False
    restart_failed_tiles: bool = False
    changed: bool = True


def _illegal(action: UserAction, current: UserAction, status: RequestStatus, noun: str) -> IllegalAction:
    """Sentinel Hub's wording, in the caller's API vocabulary (v2 knows neither PARTIAL nor CANCEL)."""
    if noun == "task":
        current, status = v2_user_action(current), v2_status(status)
    else:
        current = v1_user_action(current)
    return IllegalAction(
        f"Illegal to change userAction from {current.value} to {action.value} with {noun} status {status.value}"
    )


def decide(
    status: RequestStatus,
    current_action: UserAction,
    action: UserAction,
    *,
    api: str = "v1",
) -> Decision:
    """Decide the effect of `action` on a request in `status` whose userAction is `current_action`.

    Raises `IllegalAction` with the Sentinel Hub wording when the action is not allowed.
    """
    noun = "task" if api == "v2" else "request"
    S, A = RequestStatus, UserAction
    same = Decision(status, current_action, changed=False)

    if action is A.ANALYSE:
        if status is S.CREATED:
            return Decision(S.ANALYSING, A.ANALYSE)
        if status is S.ANALYSING and current_action in (A.ANALYSE, A.START):
            return same
        if status is S.ANALYSIS_DONE:
            return same
    elif action is A.START:
        if status is S.CREATED:
            return Decision(S.ANALYSING, A.START)
        if status is S.ANALYSING and current_action in (A.ANALYSE, A.START):
            return Decision(S.ANALYSING, A.START, changed=current_action is not A.START)
        if status in (S.ANALYSIS_DONE, S.STOPPED):
            return Decision(S.PROCESSING, A.START, reserve=True)
        if status is S.PROCESSING and current_action is A.START:
            return same
    elif action is A.CANCEL and api == "v1":
        if status in (S.CREATED, S.ANALYSIS_DONE, S.STOPPED):
            return Decision(S.CANCELED, A.CANCEL)
        if status in (S.ANALYSING, S.PROCESSING):
            return Decision(status, A.CANCEL, changed=current_action is not A.CANCEL)
        if status is S.CANCELED:
            return same
    elif action is A.STOP:
        if status is S.ANALYSIS_DONE:
            return Decision(S.STOPPED, A.STOP)
        if status in (S.ANALYSING, S.PROCESSING):
            return Decision(status, A.STOP, changed=current_action is not A.STOP)
        if status is S.STOPPED:
            return same
    elif action is A.RESTART:
        if status is S.PARTIAL:
            return Decision(S.PROCESSING, A.START, reserve=True, restart_failed_tiles=True)
        if status is S.STOPPED:
            return Decision(S.PROCESSING, A.START, reserve=True)
    raise _illegal(action, current_action, status, noun)


def after_analysis(current_action: UserAction, ok: bool) -> RequestStatus:
    """The status a request takes when its analysis ends (`ok` False: it failed)."""
    if not ok:
        return RequestStatus.FAILED
    if current_action is UserAction.START:
        return RequestStatus.PROCESSING
    if current_action is UserAction.CANCEL:
        return RequestStatus.CANCELED
    if current_action is UserAction.STOP:
        return RequestStatus.STOPPED
    return RequestStatus.ANALYSIS_DONE


def final_status(processed: int, failed: int) -> RequestStatus:
    """The status of a request all of whose tiles have finished."""
    if failed == 0:
        return RequestStatus.DONE
    if processed == 0:
        return RequestStatus.FAILED
    return RequestStatus.PARTIAL


def when_tiles_settle(current_action: UserAction, processed: int, failed: int) -> RequestStatus:
    """The status of a processing request once no tile is in flight and none will be dispatched.

    A CANCEL or STOP in force wins over the tile outcome.
    """
    if current_action is UserAction.CANCEL:
        return RequestStatus.CANCELED
    if current_action is UserAction.STOP:
        return RequestStatus.STOPPED
    return final_status(processed, failed)


def v2_status(status: RequestStatus) -> RequestStatus:
    """The v2 view of a status: v2 knows neither PARTIAL nor CANCELED."""
    if status is RequestStatus.PARTIAL:
        return RequestStatus.DONE
    if status is RequestStatus.CANCELED:
        return RequestStatus.STOPPED
    return status


def v1_user_action(action: UserAction) -> UserAction:
    """The v1 wire value of userAction (RESTART is shown as START, as Sentinel Hub does)."""
    return UserAction.START if action is UserAction.RESTART else action


def v2_user_action(action: UserAction) -> UserAction:
    """The v2 wire value of userAction: NONE, ANALYSE, START or STOP."""
    if action is UserAction.CANCEL:
        return UserAction.STOP
    return v1_user_action(action)


TILE_TRANSITIONS: dict[TileStatus, frozenset[TileStatus]] = {
    TileStatus.PENDING: frozenset({TileStatus.SCHEDULED, TileStatus.FAILED}),
    TileStatus.SCHEDULED: frozenset(
        {TileStatus.QUEUED, TileStatus.PROCESSING, TileStatus.PENDING, TileStatus.PROCESSED, TileStatus.FAILED}
    ),
    TileStatus.QUEUED: frozenset({TileStatus.PROCESSING, TileStatus.PENDING, TileStatus.PROCESSED, TileStatus.FAILED}),
    TileStatus.PROCESSING: frozenset({TileStatus.PROCESSED, TileStatus.FAILED, TileStatus.PENDING}),
    TileStatus.PROCESSED: frozenset(),
    TileStatus.FAILED: frozenset({TileStatus.PENDING}),
}


def check_tile_transition(old: TileStatus, new: TileStatus) -> None:
    """Raise ValueError for a tile transition the lifecycle does not allow (a programming error)."""
    if new not in TILE_TRANSITIONS[old]:
        raise ValueError(f"tile cannot go from {old.value} to {new.value}")


def after_tile_failure(attempts: int, max_attempts: int) -> TileStatus:
    """A failed or stuck tile goes back to PENDING until it has used `max_attempts` attempts."""
    return TileStatus.FAILED if attempts >= max_attempts else TileStatus.PENDING
