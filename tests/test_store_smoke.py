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
