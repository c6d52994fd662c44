"""Property: over any sequence of outcomes, settles, restarts, stops and cancels, a request that settled
DONE or PARTIAL has been charged exactly max(100 PU, the sum of its tiles' charges), the 100 PU minimum
at most once over its life, and the ledger reconciles to the micro-PU.

Runs the engine's own repository functions (store.work, store.actions) on a real SQLite database.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from eobatch.domain import cost
from eobatch.domain.states import UserAction
from eobatch.errors import IllegalAction, InsufficientUnits
from eobatch.store import ledger, work
from eobatch.store.actions import apply_action
from eobatch.store.db import Database
from eobatch.store.models import Base, BatchRequest, LedgerEntry, Tile, utcnow
from tests.engine.factory import make_account, make_request

OWNER = "charge-rule"
GRANT = 1_000.0
MINIMUM = cost.to_micro(cost.REQUEST_MINIMUM_PU)

step = st.one_of(
    st.tuples(st.just("dispatch"), st.integers(1, 3)),
    st.tuples(st.just("outcome"), st.sampled_from(["ok", "ok", "fatal"]), st.floats(0.003, 160.0)),
    st.tuples(st.just("settle")),
    st.tuples(st.just("action"), st.sampled_from([UserAction.RESTART, UserAction.RESTART, UserAction.START])),
    st.tuples(st.just("action"), st.sampled_from([UserAction.STOP, UserAction.CANCEL])),
)


def _apply(s, kind: tuple, request_id: str, now) -> None:
    if kind[0] == "action":
        request = s.get(BatchRequest, request_id, with_for_update=True)
        try:
            with s.begin_nested():
                apply_action(s, request, kind[1])
        except (IllegalAction, InsufficientUnits):
            pass
    elif kind[0] == "dispatch":
        for account in work.accounts_with_pending_tiles(s, now):
            work.claim_pending_tiles(s, OWNER, account, kind[1], now, 60)
    elif kind[0] == "outcome":
        pk = s.execute(select(Tile.pk).where(Tile.lease_owner == OWNER).order_by(Tile.pk).limit(1)).scalar()
        if pk is not None:
            ok = kind[1] == "ok"
            outcome = work.TileOutcome(
                ok=ok, duration_s=0.1, cost_pu=kind[2], error=None if ok else "bad pixels", retryable=False
            )
            work.record_outcome(s, OWNER, pk, outcome, now, 3)
    elif kind[0] == "settle":
        for settled in work.requests_to_settle(s):
            work.settle_request(s, settled, now)


def _micro_sum(s, *where) -> int:
    return cost.to_micro(s.execute(select(func.coalesce(func.sum(Tile.charged_pu), 0)).where(*where)).scalar_one())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=5, max_size=50), n_tiles=st.integers(1, 5))
def test_the_request_minimum_applies_once_and_the_ledger_is_exact(steps, n_tiles):
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'c.sqlite'}")
        Base.metadata.create_all(database.engine)
        try:
            account = make_account(database, pu=GRANT)
            request_id = make_request(database, account, n_tiles, width_px=200, reserve=120.0)
            settled_with_minimum = False
            now = utcnow()
            for kind in steps:
                now += timedelta(seconds=1)
                with work.unit(database) as s:
                    _apply(s, kind, request_id, now)
                with database.session() as s:
                    request = s.get(BatchRequest, request_id)
                    tiles = _micro_sum(s, Tile.request_id == request_id, Tile.status == "PROCESSED")
                    charged = cost.to_micro(request.charged_pu)
                    if request.status in ("DONE", "PARTIAL") and tiles > 0:
                        settled_with_minimum = True
                    # the rule: the minimum applies once a request settled DONE/PARTIAL, and only once
                    assert charged == (max(MINIMUM, tiles) if settled_with_minimum else tiles), request.status
                    # exact reconciliation: running sums, request totals and the grant, to the micro-PU
                    assert ledger.discrepancies(s) == []
                    balance = ledger.balance(s, account)
                    assert cost.to_micro(balance.spent) == charged
                    total = balance.available + balance.reserved + balance.spent
                    assert cost.to_micro(total) == cost.to_micro(GRANT)
                    tile_entries = s.execute(
                        select(func.count()).where(
                            LedgerEntry.request_id == request_id, LedgerEntry.tile_pk.is_not(None)
                        )
                    ).scalar_one()
                    processed = s.execute(
                        select(func.count()).where(Tile.request_id == request_id, Tile.status == "PROCESSED")
                    ).scalar_one()
                    assert tile_entries == processed  # every processed tile charged exactly once
            event(f"ends {request.status}, minimum applied: {settled_with_minimum}")
        finally:
            database.dispose()


def test_restart_after_partial_charges_only_what_the_request_still_owes(database):
    """The observed case: 2.54 PU of tiles settle PARTIAL at 100 PU; a restart that processes another
    40 PU of tiles leaves the request at 100 PU, and one that goes beyond charges only the excess."""
    account = make_account(database, pu=GRANT)
    request_id = make_request(database, account, 3, width_px=200, reserve=120.0)
    now = utcnow()

    def run(outcomes: list[tuple[bool, float]]) -> None:
        nonlocal now
        for ok, pu in outcomes:
            now += timedelta(seconds=1)
            with work.unit(database) as s:
                for acct in work.accounts_with_pending_tiles(s, now):
                    work.claim_pending_tiles(s, OWNER, acct, 1, now, 60)
                pk = s.execute(select(Tile.pk).where(Tile.lease_owner == OWNER).limit(1)).scalar_one()
                error = None if ok else "x"
                outcome = work.TileOutcome(ok=ok, duration_s=0.1, cost_pu=pu, error=error, retryable=False)
                work.record_outcome(s, OWNER, pk, outcome, now, 3)
        with work.unit(database) as s:
            for settled in work.requests_to_settle(s):
                work.settle_request(s, settled, now)

    # 200 x 200 px tiles are charged a third of their cost
    run([(True, 7.62), (False, 1.0), (False, 1.0)])
    with database.session() as s:
        request = s.get(BatchRequest, request_id)
        assert (request.status, request.charged_pu) == ("PARTIAL", 100.0)
    with work.unit(database) as s:
        apply_action(s, s.get(BatchRequest, request_id, with_for_update=True), UserAction.RESTART)
    run([(True, 120.0), (False, 1.0)])  # 2.54 + 40 PU of tiles: still under the minimum paid
    with database.session() as s:
        request = s.get(BatchRequest, request_id)
        assert (request.status, request.charged_pu) == ("PARTIAL", 100.0)
    with work.unit(database) as s:
        apply_action(s, s.get(BatchRequest, request_id, with_for_update=True), UserAction.RESTART)
    run([(True, 240.0)])  # + 80 PU: 122.54 PU of tiles in all
    with database.session() as s:
        request = s.get(BatchRequest, request_id)
        assert (request.status, request.charged_pu) == ("DONE", 122.54)
        assert request.reserved_pu == 0.0 and ledger.discrepancies(s) == []
        assert ledger.balance(s, account).available == GRANT - 122.54
