"""Dead schedulers and their leases: SIGKILL and restart, several schedulers on PostgreSQL, the SQLite
singleton, expired tile and analysis leases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from eobatch.errors import Conflict
from eobatch.store.models import BatchRequest, Tile, TileEvent, utcnow
from eobatch.store.work import AnalysisResult, PlannedTile
from tests.engine.factory import make_account, make_request
from tests.engine.helpers import (
    check_invariants,
    local_scheduler,
    processed_events,
    request_row,
    tile_charges,
    tile_statuses,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]


def _start_until_free(scheduler, timeout: float = 30.0) -> None:
    """Start once the dead scheduler's SQLite lease has expired (Conflict until then)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            scheduler.prepare()
            return
        except Conflict:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_scheduler_killed_mid_run_and_restarted_ends_done(database, engine_settings, out_dir):
    account = make_account(database)
    request_id = make_request(database, account, 30, output={"dir": str(out_dir), "sleep_s": 0.03})
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.scheduler_process", database.url, str(engine_settings.data_dir), "1.0"],
        cwd=REPO,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: tile_statuses(database, request_id)["PROCESSED"] >= 6,
            timeout=60,
            what="the first scheduler to process some tiles",
        )
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    left = tile_statuses(database, request_id)
    assert left["PENDING"] + left["SCHEDULED"] + left["QUEUED"] + left["PROCESSING"] > 0
    restarted = local_scheduler(engine_settings, database, lease_s=1.0)
    try:
        _start_until_free(restarted)
        assert restarted.run_until_idle(60)
    finally:
        restarted.stop()
    assert request_row(database, request_id).status == "DONE"
    assert processed_events(database, request_id) == {f"T{i:04d}": 1 for i in range(30)}
    assert set(tile_charges(database, request_id).values()) == {1}
    check_invariants(database)


def test_second_scheduler_on_sqlite_says_so_and_does_not_start(tmp_path, engine_settings, out_dir):
    from eobatch.store.db import Database

    database = Database(f"sqlite:///{tmp_path / 'one.sqlite'}")
    database.migrate()
    first = local_scheduler(engine_settings, database, workers=1)
    second = local_scheduler(engine_settings, database, workers=1)
    first.start()
    try:
        with pytest.raises(Conflict, match="with SQLite only one scheduler may run"):
            second.start()
    finally:
        first.stop()
    second.start()  # the lease was released on a clean stop
    second.stop()
    first.start()  # and a stopped scheduler can start again
    first.stop()
    database.dispose()


def test_two_schedulers_share_a_request_on_postgresql(postgres_server, engine_settings, out_dir):
    from eobatch.store.db import Database

    database = Database(postgres_server.new_database())
    database.migrate()
    account = make_account(database)
    request_id = make_request(database, account, 200, output={"dir": str(out_dir)}, reserve=300.0)
    schedulers = [local_scheduler(engine_settings, database, workers=1, queue_extra=2) for _ in range(2)]
    errors: list[BaseException] = []

    def run(s) -> None:
        try:
            s.run_until_idle(120)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in schedulers:
            s.stop()
    assert errors == [], "".join(__import__("traceback").format_exception(errors[0]))
    assert request_row(database, request_id).status == "DONE"
    assert processed_events(database, request_id) == {f"T{i:04d}": 1 for i in range(200)}
    assert set(tile_charges(database, request_id).values()) == {1}
    with database.session() as s:
        notes = Counter(s.execute(select(TileEvent.note).where(TileEvent.status == "SCHEDULED")).scalars())
    assert set(notes) == {f"by {s.id}" for s in schedulers}  # both took part
    check_invariants(database)
    database.dispose()


def test_expired_tile_leases_go_back_to_pending_counting_an_attempt(database, engine_settings, out_dir):
    account = make_account(database)
    request_id = make_request(database, account, 4, output={"dir": str(out_dir)})
    past = utcnow() - timedelta(seconds=60)
    with database.session() as s:  # a dead scheduler left two tiles in flight, one on its last attempt
        s.execute(
            update(Tile)
            .where(Tile.request_id == request_id, Tile.name.in_(["T0000", "T0001"]))
            .values(status="PROCESSING", lease_owner="dead", lease_expires=past, attempts=1)
        )
        s.execute(
            update(Tile)
            .where(Tile.request_id == request_id, Tile.name == "T0002")
            .values(status="QUEUED", lease_owner="dead", lease_expires=past, attempts=3)
        )
    scheduler = local_scheduler(engine_settings, database, lease_s=1.0)
    try:
        scheduler.prepare()
        with database.session() as s:
            tiles = {t.name: t for t in s.execute(select(Tile).where(Tile.request_id == request_id)).scalars()}
        assert (tiles["T0000"].status, tiles["T0000"].attempts) == ("PENDING", 1)
        assert tiles["T0002"].status == "FAILED" and "after 3 of 3 attempts" in tiles["T0002"].error
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    assert request_row(database, request_id).status == "PARTIAL"
    with database.session() as s:
        t0 = s.execute(select(Tile).where(Tile.request_id == request_id, Tile.name == "T0000")).scalar_one()
    assert (t0.status, t0.attempts) == ("PROCESSED", 2)
    check_invariants(database)


def _small_analysis(tiles: int):
    def analyse(request, settings) -> AnalysisResult:
        planned = [
            PlannedTile(
                tile_id=i,
                name=f"A{i}",
                epsg=32633,
                bounds=(0.0, 0.0, 10.0, 10.0),
                width_px=128,
                height_px=128,
                geometry={"type": "Point", "coordinates": [0, 0]},
                estimated_pu=1.0,
            )
            for i in range(tiles)
        ]
        return AnalysisResult(
            planned,
            128,
            128,
            value_estimate=3.0 * tiles,
            cost_estimate={"low": 100.0, "high": 100.0, "expected": 100.0, "scenes_per_tile": {"min": 1, "max": 1}},
        )

    return analyse


def test_analysis_stuck_with_an_expired_lease_is_redone(database, engine_settings, out_dir):
    account = make_account(database)
    request_id = make_request(
        database, account, 3, status="ANALYSING", user_action="START", reserve=None, output={"dir": str(out_dir)}
    )  # three partial tiles left by a dead analysis
    with database.session() as s:
        s.execute(
            update(BatchRequest)
            .where(BatchRequest.id == request_id)
            .values(lease_owner="dead", lease_expires=utcnow() - timedelta(seconds=5))
        )
    scheduler = local_scheduler(engine_settings, database, analyse=_small_analysis(5))
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    request = request_row(database, request_id)
    assert (request.status, request.tile_count, request.value_estimate) == ("DONE", 5, 15.0)
    assert sorted(processed_events(database, request_id)) == [f"A{i}" for i in range(5)]
    check_invariants(database)


def test_analysis_whose_result_cannot_be_stored_is_analysed_again(database, engine_settings, out_dir):
    """Storing the first result fails (two tiles with one id break the unique constraint): the lease is given
    up, not renewed forever, and the second analysis completes the request."""
    account = make_account(database)
    request_id = make_request(
        database, account, 0, status="ANALYSING", user_action="START", reserve=None, output={"dir": str(out_dir)}
    )
    good = _small_analysis(4)
    calls: list[int] = []

    def analyse(request, settings):
        calls.append(1)
        result = good(request, settings)
        if len(calls) == 1:
            return AnalysisResult(
                [*result.tiles, result.tiles[0]], 128, 128, result.value_estimate, result.cost_estimate
            )
        return result

    scheduler = local_scheduler(engine_settings, database, analyse=analyse, lease_s=1.0)
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    assert len(calls) == 2
    request = request_row(database, request_id)
    assert (request.status, request.tile_count, request.lease_owner) == ("DONE", 4, None)
    check_invariants(database)
