"""Analyses run by the scheduler (with a small analysis function), stale cleanup, fair dispatch."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from eobatch.domain.states import UserAction
from eobatch.errors import EvalscriptError
from eobatch.store import ledger
from eobatch.store.actions import apply_action
from eobatch.store.models import BatchRequest, LedgerEntry, Tile, TileEvent, utcnow
from eobatch.store.work import AnalysisResult, PlannedTile
from tests.engine.factory import make_account, make_request, plan_json
from tests.engine.helpers import check_invariants, local_scheduler, request_row, tile_statuses


def _analysis(n: int, *, high: float = 100.0):
    def analyse(request, settings) -> AnalysisResult:
        if "bad" in request.plan.evalscript:
            raise EvalscriptError("evaluatePixel is not defined (line 4)", line=4)
        tiles = [
            PlannedTile(
                tile_id=i,
                name=f"A{i}",
                epsg=32633,
                bounds=(i * 10.0, 0.0, i * 10.0 + 10, 10.0),
                width_px=128,
                height_px=128,
                geometry={"type": "Point", "coordinates": [0, 0]},
                estimated_pu=2.0,
            )
            for i in range(n)
        ]
        return AnalysisResult(
            tiles,
            128,
            128,
            value_estimate=6.0 * n,
            cost_estimate={"low": 100.0, "high": high, "expected": 100.0, "scenes_per_tile": {"min": 1, "max": 2}},
        )

    return analyse


def _created(database, account: str, action: UserAction, evalscript: str = "//VERSION=3", out=None) -> str:
    request_id = make_request(
        database,
        account,
        0,
        status="CREATED",
        user_action="NONE",
        reserve=None,
        output={"dir": str(out)} if out else {},
    )
    with database.session() as s:
        request = s.get(BatchRequest, request_id)
        request.process_request = {"evalscript": evalscript}
        request.plan = plan_json(evalscript=evalscript)
        apply_action(s, request, action)
    return request_id


def test_start_on_a_created_request_analyses_then_processes_to_done(database, engine_settings, out_dir):
    account = make_account(database)
    started = _created(database, account, UserAction.START, out=out_dir)
    analysed = _created(database, account, UserAction.ANALYSE, out=out_dir)
    broken = _created(database, account, UserAction.START, evalscript="//VERSION=3 bad", out=out_dir)
    scheduler = local_scheduler(engine_settings, database, analyse=_analysis(6))
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    done = request_row(database, started)
    assert (done.status, done.tile_count, done.tile_width_px, done.value_estimate) == ("DONE", 6, 128, 36.0)
    assert done.cost_estimate["scenes_per_tile"] == {"min": 1, "max": 2}
    assert request_row(database, analysed).status == "ANALYSIS_DONE"
    assert tile_statuses(database, analysed) == {"PENDING": 6}
    failed = request_row(database, broken)
    assert failed.status == "FAILED" and failed.error == "evaluatePixel is not defined (line 4)"
    assert tile_statuses(database, broken) == {}
    with database.session() as s:
        estimated = s.execute(select(func.sum(Tile.estimated_pu)).where(Tile.request_id == analysed)).scalar_one()
    assert estimated == pytest.approx(12.0)
    check_invariants(database)


def test_start_without_enough_units_stays_analysis_done_with_the_reason(database, engine_settings):
    account = make_account(database, pu=150.0)
    request_id = _created(database, account, UserAction.START)
    scheduler = local_scheduler(engine_settings, database, analyse=_analysis(3, high=400.0))
    try:
        assert scheduler.run_until_idle(30)
    finally:
        scheduler.stop()
    request = request_row(database, request_id)
    assert request.status == "ANALYSIS_DONE" and request.user_action == "NONE"
    assert request.error == (
        "Analysis done, but processing could not start: Not enough processing units: the "
        "request needs 400.00 PU reserved, the account has 150.00 PU available"
    )
    check_invariants(database)


def test_cancel_during_analysis_lets_it_finish_then_cancels(database, engine_settings):
    account = make_account(database)
    request_id = _created(database, account, UserAction.START)
    with database.session() as s:
        apply_action(s, s.get(BatchRequest, request_id), UserAction.CANCEL)
    scheduler = local_scheduler(engine_settings, database, analyse=_analysis(2))
    try:
        assert scheduler.run_until_idle(30)
    finally:
        scheduler.stop()
    request = request_row(database, request_id)
    assert (request.status, request.tile_count) == ("CANCELED", 2)
    check_invariants(database)


def test_cleanup_deletes_stale_requests_with_their_tiles_and_keeps_the_ledger(database, engine_settings, out_dir):
    account = make_account(database)
    ids = {
        status: make_request(database, account, 2, status=status, reserve=None)
        for status in ("FAILED", "CREATED", "ANALYSIS_DONE", "DONE", "PARTIAL", "CANCELED")
    }
    ids["STOPPED"] = make_request(database, account, 2, status="STOPPED", reserve=None)
    with database.session() as s:  # a stopped request that still holds PU
        ledger.reserve(s, s.get(BatchRequest, ids["STOPPED"]), 50.0)
    fresh = make_request(database, account, 2, status="DONE", reserve=None)
    live = make_request(database, account, 2, output={"dir": str(out_dir)})
    old = utcnow() - timedelta(days=100)
    with database.session() as s:
        s.execute(update(BatchRequest).where(BatchRequest.id.in_(list(ids.values()))).values(last_updated=old))
        entries = s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    settings = engine_settings.model_copy(
        update={
            "cleanup_failed_after_s": 86400.0,
            "cleanup_unstarted_after_s": 86400.0,
            "cleanup_finished_after_s": 86400.0,
            "cleanup_stopped_after_s": 86400.0,  # STOPPED as its own, explicit age class
        }
    )
    scheduler = local_scheduler(settings, database)
    assert scheduler.cleanup() == 7
    with database.session() as s:
        remaining = set(s.execute(select(BatchRequest.id)).scalars())
        assert remaining == {fresh, live}
        assert (
            s.execute(select(func.count()).select_from(Tile).where(Tile.request_id.not_in(remaining))).scalar_one() == 0
        )
        # every entry is kept, plus the RELEASE of what the stopped request still held
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == entries + 1
        assert s.execute(select(LedgerEntry.kind).order_by(LedgerEntry.id.desc()).limit(1)).scalar_one() == "RELEASE"
        assert ledger.discrepancies(s) == []


def test_cleanup_keeps_stopped_requests_and_collections_and_logs_each_deletion(database, engine_settings, caplog):
    account = make_account(database)
    stopped = make_request(database, account, 1, status="STOPPED", reserve=None)
    done = make_request(database, account, 1, status="DONE", reserve=None)
    in_collection = make_request(database, account, 1, status="DONE", reserve=None, output={"collectionId": "c-1"})
    with database.session() as s:
        s.execute(
            update(BatchRequest)
            .where(BatchRequest.id.in_([stopped, done, in_collection]))
            .values(last_updated=utcnow() - timedelta(days=400))
        )
    settings = engine_settings.model_copy(update={"cleanup_finished_after_s": 86400.0})
    assert settings.cleanup_stopped_after_s == 0  # the default: STOPPED requests are resumable, kept
    with caplog.at_level(logging.INFO, logger="eobatch.engine"):
        assert local_scheduler(settings, database).cleanup() == 1
    with database.session() as s:
        assert set(s.execute(select(BatchRequest.id)).scalars()) >= {stopped, in_collection}
        assert s.get(BatchRequest, done) is None
    (record,) = [r for r in caplog.records if "cleanup deleted" in r.getMessage()]
    assert record.getMessage().startswith(f"cleanup deleted request {done}: DONE, last updated ")
    assert record.getMessage().endswith("older than cleanup_finished_after_s=86400 s")


def test_round_robin_lets_a_small_account_through_a_huge_request(database, engine_settings, out_dir):
    big, small = make_account(database), make_account(database)
    huge = make_request(database, big, 60, output={"dir": str(out_dir), "sleep_s": 0.01}, reserve=300.0)
    late = make_request(database, small, 4, output={"dir": str(out_dir), "sleep_s": 0.01})
    settings = engine_settings.model_copy(update={"max_tiles_in_flight_per_account": 2})
    scheduler = local_scheduler(settings, database)
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    with database.session() as s:

        def done_at(request_id):
            return (
                s.execute(
                    select(TileEvent.at)
                    .join(Tile, Tile.pk == TileEvent.tile_pk)
                    .where(Tile.request_id == request_id, TileEvent.status == "PROCESSED")
                    .order_by(TileEvent.at)
                )
                .scalars()
                .all()
            )

        huge_done, late_done = done_at(huge), done_at(late)
    # the small account's 4 tiles finished while the huge request still had most of its 60 to go
    assert sum(1 for t in huge_done if t <= late_done[-1]) < 30
    check_invariants(database)
