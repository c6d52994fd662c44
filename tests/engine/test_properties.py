"""Property: whatever users do and however tiles end, the ledger reconciles and every request stays legal.

Random sequences of user actions (store.actions), analyses finishing, tiles dispatched, succeeding,
failing or lost with their scheduler, and requests settling are applied through the engine's own
repository functions on a real SQLite database; the invariants are checked after every step.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from eobatch.domain.states import UserAction
from eobatch.errors import IllegalAction, InsufficientUnits
from eobatch.store import work
from eobatch.store.actions import apply_action
from eobatch.store.db import Database
from eobatch.store.models import Base, BatchRequest, Tile, utcnow
from tests.engine.factory import make_account, make_request
from tests.engine.helpers import check_invariants

OWNER = "prop-scheduler"
ACTIONS = [UserAction.ANALYSE, UserAction.START, UserAction.CANCEL, UserAction.STOP, UserAction.RESTART]

outcome = st.tuples(st.just("outcome"), st.sampled_from(["ok", "ok", "retry", "fatal"]), st.floats(0.5, 90.0))
step = st.one_of(
    st.tuples(st.just("dispatch"), st.integers(1, 4)),
    outcome,
    st.tuples(st.just("settle")),
    st.tuples(st.just("action"), st.integers(0, 2), st.sampled_from(ACTIONS)),
    st.tuples(st.just("analysed"), st.integers(0, 2), st.booleans()),
    outcome,
    st.tuples(st.just("scheduler-dies")),
    st.tuples(st.just("settle")),
)


def _analysis(n: int) -> work.AnalysisResult:
    tiles = [
        work.PlannedTile(
            tile_id=i,
            name=f"P{i}",
            epsg=32633,
            bounds=(0, 0, 1, 1),
            width_px=200,
            height_px=200,
            geometry={},
            estimated_pu=5.0,
        )
        for i in range(n)
    ]
    return work.AnalysisResult(
        tiles,
        200,
        200,
        15.0 * n,
        {"low": 100.0, "high": 120.0, "expected": 110.0, "scenes_per_tile": {"min": 1, "max": 1}},
    )


def _apply(database: Database, kind: tuple, requests: list[str]) -> None:
    now = utcnow() + timedelta(seconds=1)
    with work.unit(database) as s:
        if kind[0] == "action":
            request = s.get(BatchRequest, requests[kind[1]], with_for_update=True)
            try:
                with s.begin_nested():
                    apply_action(s, request, kind[2])
            except (IllegalAction, InsufficientUnits):
                pass
        elif kind[0] == "analysed":
            waiting = work.analyses_waiting(s, now)  # the scheduler's lock-free look before it claims
            claimed = work.claim_analyses(s, OWNER, 3, now, 60)
            assert waiting == bool(claimed)
            for snapshot in claimed:
                ok = kind[2] or snapshot.id != requests[kind[1]]
                work.finish_analysis(
                    s,
                    OWNER,
                    snapshot.id,
                    now,
                    _analysis(2) if ok else None,
                    None if ok else "evaluatePixel is not defined",
                )
        elif kind[0] == "dispatch":
            for account in work.accounts_with_pending_tiles(s, now + timedelta(hours=1)):
                work.claim_pending_tiles(s, OWNER, account, kind[1], now + timedelta(hours=1), 60)
        elif kind[0] == "outcome":
            pk = s.execute(select(Tile.pk).where(Tile.lease_owner == OWNER).order_by(Tile.pk).limit(1)).scalar()
            if pk is not None:
                result, value = kind[1], kind[2]
                outcome = work.TileOutcome(
                    ok=result == "ok",
                    duration_s=0.1,
                    cost_pu=value,
                    error=None if result == "ok" else "store down",
                    retryable=result == "retry",
                    backoff_s=1.0,
                )
                work.record_outcome(s, OWNER, pk, outcome, now, 3)
        elif kind[0] == "scheduler-dies":
            work.recover_tiles(s, "successor", now, 3, every_foreign=True)
        elif kind[0] == "settle":
            for request_id in work.requests_to_settle(s):
                work.settle_request(s, request_id, now)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=10, max_size=60))
def test_random_actions_and_outcomes_keep_the_ledger_and_states_legal(steps):
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'p.sqlite'}")
        Base.metadata.create_all(database.engine)
        try:
            account = make_account(database, pu=400.0)
            requests = [
                make_request(database, account, 0, status="CREATED", user_action="NONE", reserve=None) for _ in range(2)
            ]
            requests.append(make_request(database, account, 3, reserve=120.0))
            for kind in steps:
                _apply(database, kind, requests)
                check_invariants(database)
            with database.session() as s:
                for status in s.execute(select(BatchRequest.status)).scalars():
                    event(f"ends {status}")
        finally:
            database.dispose()
