"""The schema migrates on both backends and the ledger keeps its sums."""

from __future__ import annotations

import uuid

import pytest

from eobatch.errors import InsufficientUnits
from eobatch.store import ledger
from eobatch.store.models import Account, BatchRequest


def test_reserve_charge_release_reconcile(database):
    with database.session() as s:
        s.add(Account(id="a1", name="alice"))
        s.flush()
        ledger.grant(s, "a1", 500.0)
        req = BatchRequest(id=str(uuid.uuid4()), account_id="a1", status="PROCESSING", body={}, process_request={})
        s.add(req)
        s.flush()
        ledger.reserve(s, req, 300.0)
        ledger.charge(s, req, 120.0)
        ledger.charge(s, req, 250.0)  # 180 from the reservation, 70 beyond it
        ledger.release(s, req)
        b = ledger.balance(s, "a1")
        assert b.available == pytest.approx(500.0 - 370.0)
        assert b.reserved == pytest.approx(0.0)
        assert b.spent == pytest.approx(370.0)
        assert ledger.discrepancies(s) == []
        with pytest.raises(InsufficientUnits):
            ledger.reserve(s, req, 1000.0)


@pytest.mark.parametrize(
    "high,charged,expected",
    [(300.0, 0.0, 300.0), (300.0, 120.0, 180.0), (50.0, 0.0, 100.0), (50.0, 100.0, 0.0), (None, 0.0, 100.0)],
)
def test_reservation_holds_the_upper_estimate_less_what_was_already_charged(high, charged, expected):
    from eobatch.store.actions import reservation_for

    request = BatchRequest(
        id="r",
        account_id="a",
        status="STOPPED",
        body={},
        process_request={},
        cost_estimate=None if high is None else {"high": high},
        value_estimate=30.0,
        charged_pu=charged,
    )
    assert reservation_for(request) == pytest.approx(expected)
