"""Requests run to their end on the local process pool, with real worker processes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from eobatch.domain.cost import charged_pu
from eobatch.store.models import Tile, TileEvent
from tests.engine.factory import make_account, make_request
from tests.engine.helpers import (
    check_invariants,
    local_scheduler,
    processed_events,
    request_row,
    tile_charges,
)


def test_fifty_tiles_run_to_done_and_are_charged_once(database, engine_settings, out_dir):
    account = make_account(database)
    request_id = make_request(database, account, 50, output={"dir": str(out_dir), "sleep_s": 0.01, "cost_pu": 3.0})
    scheduler = local_scheduler(engine_settings, database)
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    request = request_row(database, request_id)
    assert request.status == "DONE"
    assert request.finished_at is not None
    assert processed_events(database, request_id) == {f"T{i:04d}": 1 for i in range(50)}
    assert set(tile_charges(database, request_id).values()) == {1}
    # 256 x 256 px >= 10,000 px: a third of 3 PU per tile; 50 PU in all, raised to the 100 PU minimum
    assert request.charged_pu == pytest.approx(100.0)
    assert request.reserved_pu == pytest.approx(0.0)
    assert sorted(p.name for p in (out_dir / request_id).glob("T*.txt")) == [f"T{i:04d}.txt" for i in range(50)]
    with database.session() as s:
        tile = s.execute(select(Tile).where(Tile.request_id == request_id, Tile.name == "T0007")).scalar_one()
        assert (tile.cost, tile.charged_pu) == (pytest.approx(3.0), pytest.approx(charged_pu(256, 256, 3.0)))
        assert tile.bytes_written > 0 and tile.duration_s > 0 and tile.attempts == 1
        assert tile.outputs == [str(out_dir / request_id / "T0007.txt")]
        history = (
            s.execute(select(TileEvent.status).where(TileEvent.tile_pk == tile.pk).order_by(TileEvent.id))
            .scalars()
            .all()
        )
    assert history[0] == "SCHEDULED" and history[-1] == "PROCESSED"
    assert set(history) <= {"SCHEDULED", "QUEUED", "PROCESSING", "PROCESSED"}
    check_invariants(database)


def test_sigkilled_worker_still_ends_done_with_every_tile_written_once(database, engine_settings, out_dir):
    account = make_account(database)
    request_id = make_request(database, account, 12, output={"dir": str(out_dir), "sleep_s": 0.02, "kill": ["T0005"]})
    scheduler = local_scheduler(engine_settings, database)
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    assert (out_dir / request_id / "killed-T0005").exists()  # the worker really died once
    assert request_row(database, request_id).status == "DONE"
    assert processed_events(database, request_id) == {f"T{i:04d}": 1 for i in range(12)}
    assert set(tile_charges(database, request_id).values()) == {1}
    with database.session() as s:
        attempts = dict(s.execute(select(Tile.name, Tile.attempts).where(Tile.request_id == request_id)).all())
    assert attempts["T0005"] == 2
    check_invariants(database)
