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

from collections.abc import Mapping
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


@dataclass(frozen=True)
class Rule:
    """One row of the lifecycle table: what an action does to a request in one status.

    `status` / `user_action` None keep the current value; `when` limits the row to these userActions in
    force; `v1_only` rows are not offered by the v2 API (it has no CANCEL).
    """

    status: RequestStatus | None = None
    user_action: UserAction | None = None
    reserve: bool = False
    restart_failed_tiles: bool = False
    when: frozenset[UserAction] | None = None
    v1_only: bool = False


_S, _A = RequestStatus, UserAction
_SAME = Rule()
_ANALYSING_ACTIONS = frozenset({_A.ANALYSE, _A.START})

#: the request lifecycle: (status, action) -> rule; a pair not in the table is an illegal action
LIFECYCLE: dict[tuple[RequestStatus, UserAction], Rule] = {
    (_S.CREATED, _A.ANALYSE): Rule(_S.ANALYSING, _A.ANALYSE),
    (_S.ANALYSING, _A.ANALYSE): Rule(when=_ANALYSING_ACTIONS),
    (_S.ANALYSIS_DONE, _A.ANALYSE): _SAME,
    (_S.CREATED, _A.START): Rule(_S.ANALYSING, _A.START),
    (_S.ANALYSING, _A.START): Rule(_S.ANALYSING, _A.START, when=_ANALYSING_ACTIONS),
    (_S.ANALYSIS_DONE, _A.START): Rule(_S.PROCESSING, _A.START, reserve=True),
    (_S.STOPPED, _A.START): Rule(_S.PROCESSING, _A.START, reserve=True),
    (_S.PROCESSING, _A.START): Rule(when=frozenset({_A.START})),
    (_S.CREATED, _A.CANCEL): Rule(_S.CANCELED, _A.CANCEL, v1_only=True),
    (_S.ANALYSIS_DONE, _A.CANCEL): Rule(_S.CANCELED, _A.CANCEL, v1_only=True),
    (_S.STOPPED, _A.CANCEL): Rule(_S.CANCELED, _A.CANCEL, v1_only=True),
    (_S.ANALYSING, _A.CANCEL): Rule(user_action=_A.CANCEL, v1_only=True),  # the engine finishes it
    (_S.PROCESSING, _A.CANCEL): Rule(user_action=_A.CANCEL, v1_only=True),
    (_S.CANCELED, _A.CANCEL): Rule(v1_only=True),
    (_S.ANALYSIS_DONE, _A.STOP): Rule(_S.STOPPED, _A.STOP),
    (_S.ANALYSING, _A.STOP): Rule(user_action=_A.STOP),  # the engine stops it
    (_S.PROCESSING, _A.STOP): Rule(user_action=_A.STOP),
    (_S.STOPPED, _A.STOP): _SAME,
    (_S.PARTIAL, _A.RESTART): Rule(_S.PROCESSING, _A.START, reserve=True, restart_failed_tiles=True),
    (_S.STOPPED, _A.RESTART): Rule(_S.PROCESSING, _A.START, reserve=True),
}


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
    """Decide the effect of `action` on a request in `status` whose userAction is `current_action`
    (a lookup in `LIFECYCLE`). Raises `IllegalAction` with the Sentinel Hub wording when not allowed."""
    rule = LIFECYCLE.get((status, action))
    if rule is None or (rule.v1_only and api != "v1") or (rule.when is not None and current_action not in rule.when):
        raise _illegal(action, current_action, status, "task" if api == "v2" else "request")
    new_status, new_action = rule.status or status, rule.user_action or current_action
    changed = (new_status, new_action) != (status, current_action)
    return Decision(new_status, new_action, rule.reserve and changed, rule.restart_failed_tiles and changed, changed)


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


@dataclass(frozen=True)
class Settlement:
    """How a processing request ends once nothing is in flight: its status, why it stopped, whether it is
    charged up to the request minimum and whether it is finished (a STOPPED request may be started again)."""

    status: RequestStatus
    stopped_reason: StoppedReason | None
    charge_minimum: bool
    finished: bool


def settle(current_action: UserAction, counts: Mapping[TileStatus, int], out_of_pu: bool) -> Settlement | None:
    """The settlement of a PROCESSING request with these tile counts; None while it must go on (tiles in
    flight, or PENDING tiles to dispatch with no CANCEL/STOP in force and PU left)."""
    halting = current_action in (UserAction.CANCEL, UserAction.STOP)
    pending = counts.get(TileStatus.PENDING, 0)
    if any(counts.get(s, 0) for s in TILES_IN_FLIGHT) or (pending and not halting and not out_of_pu):
        return None
    processed, failed = counts.get(TileStatus.PROCESSED, 0), counts.get(TileStatus.FAILED, 0)
    if out_of_pu and pending and not halting:
        status = RequestStatus.STOPPED  # tiles are left: START again once the account has PU
    else:
        status = when_tiles_settle(current_action, processed, failed)
    if status is not RequestStatus.STOPPED:  # every tile finished (out of PU only on the last ones, if at all)
        return Settlement(status, None, status in (RequestStatus.DONE, RequestStatus.PARTIAL) and processed > 0, True)
    stopped_by_pu = out_of_pu and current_action is not UserAction.STOP
    return Settlement(status, StoppedReason.OUT_OF_PU if stopped_by_pu else StoppedReason.USER_ACTION, False, False)


def after_charge(status: RequestStatus, covered: bool) -> StoppedReason | None:
    """A processed tile whose charge the account could not cover stops a processing request (OUT_OF_PU):
    nothing more is dispatched and it settles as STOPPED."""
    return StoppedReason.OUT_OF_PU if not covered and status is RequestStatus.PROCESSING else None


#: every request status change, by user action or by the engine
REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.CREATED: frozenset({RequestStatus.ANALYSING, RequestStatus.CANCELED}),
    RequestStatus.ANALYSING: frozenset(
        {
            RequestStatus.ANALYSIS_DONE,
            RequestStatus.PROCESSING,
            RequestStatus.FAILED,
            RequestStatus.CANCELED,
            RequestStatus.STOPPED,
        }
    ),
    RequestStatus.ANALYSIS_DONE: frozenset({RequestStatus.PROCESSING, RequestStatus.STOPPED, RequestStatus.CANCELED}),
    RequestStatus.PROCESSING: frozenset(
        {
            RequestStatus.DONE,
            RequestStatus.PARTIAL,
            RequestStatus.FAILED,
            RequestStatus.CANCELED,
            RequestStatus.STOPPED,
        }
    ),
    RequestStatus.STOPPED: frozenset({RequestStatus.PROCESSING, RequestStatus.CANCELED}),
    RequestStatus.PARTIAL: frozenset({RequestStatus.PROCESSING}),
    RequestStatus.DONE: frozenset(),
    RequestStatus.FAILED: frozenset(),
    RequestStatus.CANCELED: frozenset(),
}


class _Validation:
    """The invariant-check ("validate") mode: when on, every request status change is checked against
    `REQUEST_TRANSITIONS` (tile changes are always checked). The test suite switches it on."""

    enabled = False


VALIDATION = _Validation()


def check_request_transition(old: RequestStatus, new: RequestStatus) -> None:
    """In validate mode, raise ValueError for a request status change the lifecycle does not allow."""
    if VALIDATION.enabled and old is not new and new not in REQUEST_TRANSITIONS[old]:
        raise ValueError(f"request cannot go from {old.value} to {new.value}")


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
