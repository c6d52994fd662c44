"""The engine's v2 hooks: out of PU -> STOPPED (OUT_OF_PU), the execution database, v2 tile tasks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import shapely
from shapely.geometry import mapping

from eobatch.api.intake import IntakeContext
from eobatch.api.v1.intake import parse_v1
from eobatch.api.v2.intake import parse_v2
from eobatch.domain.states import UserAction
from eobatch.engine.tasks import TileSpec, build_tile_task
from eobatch.processing.pipeline import write_keys
from eobatch.settings import Settings
from eobatch.storage import S3Credentials
from eobatch.store import ledger
from eobatch.store.actions import apply_action
from eobatch.store.models import BatchRequest
from eobatch.store.work import ClaimedTile, RequestSnapshot, stored_credentials
from tests.engine.factory import make_account, make_request
from tests.engine.helpers import check_invariants, local_scheduler, request_row, tile_statuses


def test_running_out_of_pu_stops_the_request_and_a_top_up_resumes_it(database, engine_settings, out_dir):
    # 150 PU: 100 reserved by the request, 50 left. Each 256 x 256 tile is charged 90 / 3 = 30 PU, so
    # five tiles fit (100 + 50); the sixth charge does not: it is charged all the same (its output is
    # delivered), the account goes negative by that tile, and the request stops with OUT_OF_PU.
    account = make_account(database, pu=150.0)
    request_id = make_request(database, account, 10, reserve=100.0, output={"dir": str(out_dir), "cost_pu": 90.0})
    scheduler = local_scheduler(engine_settings, database, workers=1, queue_extra=0)
    try:
        assert scheduler.run_until_idle(60)
        request = request_row(database, request_id)
        statuses = tile_statuses(database, request_id)
        assert (request.status, request.stopped_reason, request.user_action) == ("STOPPED", "OUT_OF_PU", "START")
        assert statuses["PROCESSED"] == 6 and statuses["PENDING"] == 4, statuses
        assert request.charged_pu == pytest.approx(180.0) and request.reserved_pu == 0
        with database.session() as s:
            assert ledger.balance(s, account).available == pytest.approx(-30.0)
        check_invariants(database)

        with database.session() as s:  # the operator tops up, the user starts again
            ledger.grant(s, account, 1000.0, kind="TOPUP")
            apply_action(s, s.get(BatchRequest, request_id), UserAction.START, api="v2")
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    request = request_row(database, request_id)
    assert (request.status, request.stopped_reason) == ("DONE", None)
    assert tile_statuses(database, request_id) == {"PROCESSED": 10}
    assert request.charged_pu == pytest.approx(300.0)
    check_invariants(database)


def test_a_request_that_can_pay_every_tile_is_not_stopped(database, engine_settings, out_dir):
    account = make_account(database, pu=300.0)
    request_id = make_request(database, account, 5, reserve=100.0, output={"dir": str(out_dir), "cost_pu": 90.0})
    scheduler = local_scheduler(engine_settings, database, workers=1)
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    request = request_row(database, request_id)
    assert (request.status, request.stopped_reason, request.charged_pu) == ("DONE", None, pytest.approx(150.0))
    check_invariants(database)


def test_v2_requests_upload_their_execution_database(database, engine_settings, out_dir):
    account = make_account(database)
    output = {
        "dir": str(out_dir),
        "fatal": ["T0001"],
        "defaultTilePath": "s3://out/<requestId>/<tileName>/<outputId>.<format>",
    }
    request_id = make_request(database, account, 3, output=output)
    v1_id = make_request(database, account, 1, output=output)
    with database.session() as s:
        s.get(BatchRequest, request_id).api_version = "v2"
    scheduler = local_scheduler(engine_settings, database)
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    assert request_row(database, request_id).status == "PARTIAL"  # DONE on the v2 wire
    path = engine_settings.buckets_dir / "out" / f"execution-{request_id}.sqlite"
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT id, name, status, delivered FROM features ORDER BY id").fetchall()
        error = connection.execute("SELECT error FROM features WHERE status = 'FATAL'").fetchone()[0]
    connection.close()
    assert rows == [(1000, "T0000", "DONE", 1), (1001, "T0001", "FATAL", 0), (1002, "T0002", "DONE", 1)]
    assert "the evalscript returned no value" in error
    assert not (engine_settings.buckets_dir / "out" / f"execution-{v1_id}.sqlite").exists()  # v1: tile routes


def _snapshot(*, api_version: str = "v2", features: bool = False, bounds: bool = True) -> RequestSnapshot:
    """A request as the engine loads it, from a v2 body (or the v1 body of the same work)."""
    process_request = {
        "input": {
            "bounds": {"bbox": [11.9, 45.1, 11.93, 45.12]},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {"timeRange": {"from": "2024-05-01T00:00:00Z", "to": "2024-05-31T00:00:00Z"}},
                }
            ],
        },
        "evalscript": "//VERSION=3",
    }
    if not bounds:
        del process_request["input"]["bounds"]
    context = IntakeContext(Settings(), stored=True)
    if api_version == "v1":
        body = {
            "processRequest": process_request,
            "tilingGrid": {"id": 1, "resolution": 20.0},
            "output": {"defaultTilePath": "s3://bkt/<tileName>.<format>"},
        }
        plan = parse_v1(body, context).plan
    else:
        source = {"type": "tiling-grid", "id": 1, "resolution": 20.0}
        if features:
            source = {"type": "geopackage", "features": {"s3": {"url": "s3://bkt/f.gpkg"}}}
        body = {
            "processRequest": process_request,
            "input": source,
            "output": {
                "type": "raster",
                "delivery": {
                    "s3": {
                        "url": "s3://bkt/<tileName>.<format>",
                        "accessKey": "AK",
                        "secretAccessKey": "SK",
                        "region": "eu-central-1",
                    }
                },
            },
        }
        plan = parse_v2(body, context).plan
    stored = {
        "accessKey": "AK",
        "secretAccessKey": "SK",
        "region": "eu-central-1",
        "features": {"accessKey": "FK", "secretAccessKey": "FS"},
    }
    return RequestSnapshot("r-1", "a-1", plan, "START", api_version, stored_credentials(stored))


def test_v2_tile_tasks_write_with_the_request_delivery_keys(tmp_path: Path):
    tile = ClaimedTile(
        1, "r-1", "a-1", 321, "32TQR_1_1", 32632, (720000.0, 5000000.0, 730000.0, 5010000.0), 500, 500, 1
    )
    task = build_tile_task(TileSpec(_snapshot(), tile), Settings(data_dir=tmp_path))
    assert task.plan.delivery.path == "s3://bkt/<tileName>.<format>"
    assert [o.destination.path for o in task.plan.outputs] == ["s3://bkt/<tileName>.<format>"]
    assert write_keys(task) == S3Credentials("AK", "SK", "eu-central-1")
    v1 = build_tile_task(TileSpec(_snapshot(api_version="v1"), tile), Settings(data_dir=tmp_path))
    assert write_keys(v1) is None


def test_a_feature_tile_task_uses_the_stored_size_and_the_feature_footprint(tmp_path: Path):
    footprint = shapely.box(11.92, 45.11, 11.95, 45.13)
    tile = ClaimedTile(
        1,
        "r-1",
        "a-1",
        12,
        "field-b",
        32632,
        (740000.0, 5000000.0, 741600.0, 5001000.0),
        80,
        50,
        1,
        geometry=mapping(footprint),
    )
    task = build_tile_task(TileSpec(_snapshot(features=True), tile), Settings(data_dir=tmp_path))
    assert (task.tile.grid_id, task.tile.id, task.tile.name) == (-1, 12, "field-b")
    grid = task.pixel_grid
    assert (grid.epsg, grid.width, grid.height) == (32632, 80, 50)
    assert (grid.transform.a, grid.transform.e, grid.transform.c, grid.transform.f) == (
        20.0,
        -20.0,
        740000.0,
        5001000.0,
    )
    area = shapely.from_wkb(task.area_wgs84_wkb)
    assert area.equals(shapely.box(11.92, 45.11, 11.93, 45.12))  # the footprint clipped to the bounds
    task = build_tile_task(TileSpec(_snapshot(features=True, bounds=False), tile), Settings(data_dir=tmp_path))
    assert shapely.from_wkb(task.area_wgs84_wkb).equals(footprint)
