"""The request and tile state machines (domain/states.py) as tables, plus properties over all pairs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eobatch.domain.states import (
    TILE_TRANSITIONS,
    Decision,
    RequestStatus,
    TileStatus,
    UserAction,
    after_analysis,
    after_tile_failure,
    check_tile_transition,
    decide,
    final_status,
    v1_user_action,
    v2_status,
    v2_user_action,
    when_tiles_settle,
)
from eobatch.errors import IllegalAction

S, A = RequestStatus, UserAction


@pytest.mark.parametrize(
    "status,current,action,expected",
    [
        pytest.param(S.CREATED, A.NONE, A.ANALYSE, Decision(S.ANALYSING, A.ANALYSE), id="analyse"),
        pytest.param(S.CREATED, A.NONE, A.START, Decision(S.ANALYSING, A.START), id="start-created-analyses-first"),
        pytest.param(S.ANALYSING, A.ANALYSE, A.START, Decision(S.ANALYSING, A.START), id="start-remembered"),
        pytest.param(S.ANALYSING, A.START, A.START, Decision(S.ANALYSING, A.START, changed=False), id="start-repeated"),
        pytest.param(
            S.ANALYSIS_DONE, A.ANALYSE, A.START, Decision(S.PROCESSING, A.START, reserve=True), id="start-reserves"
        ),
        pytest.param(S.STOPPED, A.STOP, A.START, Decision(S.PROCESSING, A.START, reserve=True), id="resume"),
        pytest.param(
            S.PROCESSING, A.START, A.START, Decision(S.PROCESSING, A.START, changed=False), id="start-while-processing"
        ),
        pytest.param(S.CREATED, A.NONE, A.CANCEL, Decision(S.CANCELED, A.CANCEL), id="cancel-at-once"),
        pytest.param(S.PROCESSING, A.START, A.CANCEL, Decision(S.PROCESSING, A.CANCEL), id="cancel-by-engine"),
        pytest.param(
            S.CANCELED, A.CANCEL, A.CANCEL, Decision(S.CANCELED, A.CANCEL, changed=False), id="cancel-repeated"
        ),
        pytest.param(S.ANALYSIS_DONE, A.ANALYSE, A.STOP, Decision(S.STOPPED, A.STOP), id="stop-at-once"),
        pytest.param(S.STOPPED, A.STOP, A.CANCEL, Decision(S.CANCELED, A.CANCEL), id="v1-cancel-stopped"),
        pytest.param(S.PROCESSING, A.START, A.STOP, Decision(S.PROCESSING, A.STOP), id="stop-by-engine"),
        pytest.param(
            S.PARTIAL,
            A.START,
            A.RESTART,
            Decision(S.PROCESSING, A.START, reserve=True, restart_failed_tiles=True),
            id="restartpartial",
        ),
    ],
)
def test_decide(status, current, action, expected):
    assert decide(status, current, action) == expected


@pytest.mark.parametrize(
    "status,current,action,api,message",
    [
        pytest.param(
            S.DONE,
            A.START,
            A.START,
            "v1",
            "Illegal to change userAction from START to START with request status DONE",
            id="start-done",
        ),
        pytest.param(
            S.DONE,
            A.START,
            A.RESTART,
            "v1",
            "Illegal to change userAction from START to RESTART with request status DONE",
            id="restart-done",
        ),
        pytest.param(
            S.PROCESSING,
            A.START,
            A.ANALYSE,
            "v1",
            "Illegal to change userAction from START to ANALYSE with request status PROCESSING",
            id="analyse-processing",
        ),
        pytest.param(
            S.CREATED,
            A.NONE,
            A.STOP,
            "v2",
            "Illegal to change userAction from NONE to STOP with task status CREATED",
            id="v2-stop-created",
        ),
        pytest.param(
            S.CREATED,
            A.NONE,
            A.STOP,
            "v1",
            "Illegal to change userAction from NONE to STOP with request status CREATED",
            id="v1-stop-created",
        ),
        pytest.param(
            S.PROCESSING,
            A.START,
            A.CANCEL,
            "v2",
            "Illegal to change userAction from START to CANCEL with task status PROCESSING",
            id="v2-no-cancel",
        ),
    ],
)
def test_decide_refuses_with_the_sentinel_hub_wording(status, current, action, api, message):
    with pytest.raises(IllegalAction) as info:
        decide(status, current, action, api=api)
    assert info.value.message == message


@pytest.mark.parametrize(
    "action,ok,expected",
    [
        (A.ANALYSE, True, S.ANALYSIS_DONE),
        (A.START, True, S.PROCESSING),
        (A.CANCEL, True, S.CANCELED),
        (A.STOP, True, S.STOPPED),
        (A.START, False, S.FAILED),
        (A.CANCEL, False, S.FAILED),
    ],
)
def test_after_analysis(action, ok, expected):
    assert after_analysis(action, ok) is expected


@pytest.mark.parametrize(
    "processed,failed,expected",
    [
        pytest.param(5, 0, S.DONE, id="all-processed"),
        pytest.param(0, 0, S.DONE, id="no-tiles"),
        pytest.param(3, 2, S.PARTIAL, id="some-failed"),
        pytest.param(0, 4, S.FAILED, id="all-failed"),
    ],
)
def test_final_status(processed, failed, expected):
    assert final_status(processed, failed) is expected


@pytest.mark.parametrize("action,expected", [(A.CANCEL, S.CANCELED), (A.STOP, S.STOPPED), (A.START, S.PARTIAL)])
def test_when_tiles_settle_a_halting_action_wins(action, expected):
    assert when_tiles_settle(action, 3, 1) is expected


@pytest.mark.parametrize(
    "attempts,expected",
    [(1, TileStatus.PENDING), (2, TileStatus.PENDING), (3, TileStatus.FAILED), (4, TileStatus.FAILED)],
)
def test_a_tile_goes_back_to_pending_at_most_twice(attempts, expected):
    assert after_tile_failure(attempts, 3) is expected


def test_wire_views():
    assert (v2_status(S.PARTIAL), v2_status(S.CANCELED), v2_status(S.DONE)) == (S.DONE, S.STOPPED, S.DONE)
    assert (v1_user_action(A.RESTART), v2_user_action(A.CANCEL), v2_user_action(A.RESTART)) == (
        A.START,
        A.STOP,
        A.START,
    )


@given(st.sampled_from(list(S)), st.sampled_from(list(A)), st.sampled_from(list(A)), st.sampled_from(["v1", "v2"]))
def test_decide_either_refuses_or_returns_a_consistent_decision(status, current, action, api):
    try:
        d = decide(status, current, action, api=api)
    except IllegalAction as exc:
        assert f"to {action.value} with" in exc.message
        return
    assert d.changed or (d.status, d.user_action) == (status, current)
    assert not d.reserve or d.status is S.PROCESSING  # PU are only held for processing
    assert not d.restart_failed_tiles or status is S.PARTIAL
    if api == "v2":
        assert d.status is not S.CANCELED and action is not A.CANCEL
    again = decide(d.status, d.user_action, action, api=api) if d.status is status else None
    assert again is None or not again.changed  # applying the same action twice changes nothing more


@given(st.sampled_from(list(TileStatus)), st.sampled_from(list(TileStatus)))
def test_tile_transitions_follow_the_table(old, new):
    if new in TILE_TRANSITIONS[old]:
        check_tile_transition(old, new)
    else:
        with pytest.raises(ValueError, match=f"tile cannot go from {old.value} to {new.value}"):
            check_tile_transition(old, new)


def test_processed_is_final_and_every_live_status_can_reach_an_end():
    assert TILE_TRANSITIONS[TileStatus.PROCESSED] == frozenset()
    for status in (TileStatus.PENDING, TileStatus.SCHEDULED, TileStatus.QUEUED, TileStatus.PROCESSING):
        seen, todo = set(), [status]
        while todo:
            s = todo.pop()
            seen.add(s)
            todo += [n for n in TILE_TRANSITIONS[s] if n not in seen]
        assert {TileStatus.PROCESSED, TileStatus.FAILED} <= seen


def test_the_lifecycle_table_names_every_legal_pair_once():
    from eobatch.domain.states import LIFECYCLE

    legal = {
        (status, action)
        for status in RequestStatus
        for action in UserAction
        for current in UserAction
        if _legal(status, current, action)
    }
    assert legal == set(LIFECYCLE)


def _legal(status, current, action) -> bool:
    try:
        decide(status, current, action)
    except IllegalAction:
        return False
    return True


@pytest.mark.parametrize(
    "action,counts,out_of_pu,expected",
    [
        pytest.param(A.START, {TileStatus.PROCESSING: 1}, False, None, id="in-flight"),
        pytest.param(A.START, {TileStatus.PENDING: 2}, False, None, id="pending"),
        pytest.param(A.START, {TileStatus.PROCESSED: 3}, False, (S.DONE, None, True, True), id="done"),
        pytest.param(A.START, {TileStatus.PROCESSED: 2, TileStatus.FAILED: 1}, False, (S.PARTIAL, None, True, True)),
        pytest.param(A.START, {TileStatus.FAILED: 2}, False, (S.FAILED, None, False, True), id="failed"),
        pytest.param(
            A.START, {TileStatus.PENDING: 2, TileStatus.PROCESSED: 1}, True, (S.STOPPED, "OUT_OF_PU", False, False)
        ),
        pytest.param(A.STOP, {TileStatus.PENDING: 2}, True, (S.STOPPED, "USER_ACTION", False, False), id="user-stop"),
        pytest.param(A.CANCEL, {TileStatus.PENDING: 2}, False, (S.CANCELED, None, False, True), id="cancel"),
        pytest.param(A.START, {TileStatus.PROCESSED: 2}, True, (S.DONE, None, True, True), id="pu-out-on-the-last"),
    ],
)
def test_settle_decides_how_a_processing_request_ends(action, counts, out_of_pu, expected):
    from eobatch.domain.states import settle

    result = settle(action, counts, out_of_pu)
    if expected is None:
        assert result is None
    else:
        got = (result.status, result.stopped_reason, result.charge_minimum, result.finished)
        assert got == expected


def test_validate_mode_refuses_a_request_transition_outside_the_lifecycle():
    from eobatch.domain.states import VALIDATION, after_charge, check_request_transition

    assert VALIDATION.enabled  # tests/conftest.py switches it on
    check_request_transition(S.PARTIAL, S.PROCESSING)
    with pytest.raises(ValueError, match="from DONE to PROCESSING"):
        check_request_transition(S.DONE, S.PROCESSING)
    assert after_charge(S.PROCESSING, covered=False) == "OUT_OF_PU"
    assert after_charge(S.PROCESSING, covered=True) is None and after_charge(S.CANCELED, covered=False) is None
