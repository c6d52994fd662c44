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


def test_amounts_are_exact_micro_pu(database):
    """Tenths of a PU add up exactly; nothing is left held or shown as -0.0."""
    with database.session() as s:
        s.add(Account(id="a2", name="exact"))
        s.flush()
        ledger.grant(s, "a2", 100.0)
        req = BatchRequest(id=str(uuid.uuid4()), account_id="a2", status="PROCESSING", body={}, process_request={})
        s.add(req)
        s.flush()
        ledger.reserve(s, req, 0.3)
        for _ in range(3):
            ledger.charge(s, req, 0.1)
        ledger.charge(s, req, 0.0000004)  # below half a micro-PU: rounds to nothing
        assert ledger.release(s, req) == 0.0
    with database.session() as s:
        b = ledger.balance(s, "a2")
        assert (b.available, b.reserved, b.spent) == (99.7, 0.0, 0.3)
        assert str(b.reserved) == "0.0"
        assert ledger.discrepancies(s) == []


def test_the_exact_pu_migration_converts_float_amounts(database_url):
    from sqlalchemy import text

    from eobatch.store.db import Database

    database = Database(database_url)
    try:
        database.migrate("0001")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO accounts (id, name, created, available_pu, reserved_pu) VALUES ('m', 'm', :t, :a, :r)"
                ),
                {"t": "2026-01-01 00:00:00", "a": 12.3456789, "r": 1.4e-14},
            )
        database.migrate()
        with database.session() as s:
            account = s.get(Account, "m")
            assert (account.available_pu, account.reserved_pu) == (12.345679, 0.0)
    finally:
        database.dispose()


def _tile(request_id: str, tile_id: int, status: str, charged_pu: float):
    from eobatch.store.models import Tile

    return Tile(
        request_id=request_id,
        account_id="t",
        tile_id=tile_id,
        name=f"t{tile_id}",
        epsg=32633,
        minx=0.0,
        miny=0.0,
        maxx=1.0,
        maxy=1.0,
        width_px=10,
        height_px=10,
        geometry={},
        status=status,
        charged_pu=charged_pu,
    )


def test_the_running_tile_charge_is_checked_and_the_migration_fills_it_from_the_tiles(database):
    request_id = str(uuid.uuid4())
    with database.session() as s:
        s.add(Account(id="t", name="t"))
        s.add(BatchRequest(id=request_id, account_id="t", status="PROCESSING", body={}, process_request={}))
        s.flush()
        s.add_all(
            [
                _tile(request_id, 1, "PROCESSED", 1.5),
                _tile(request_id, 2, "PROCESSED", 2.000001),
                _tile(request_id, 3, "FAILED", 7.0),  # a tile is charged only when processed
                _tile(request_id, 4, "PENDING", 0.0),
            ]
        )
    with database.session() as s:
        assert ledger.discrepancies(s) == [
            f"request {request_id}: its tiles' charges sum to 3.500001, its running sum says 0.0"
        ]
    database.downgrade("0008")  # a database from before the running sum
    database.migrate()
    with database.session() as s:
        assert s.get(BatchRequest, request_id).tiles_charged_pu == 3.500001
        assert ledger.discrepancies(s) == []
