"""Migration 0007 gives every stored request a typed plan: a request stored before it still runs after it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from eobatch.domain.plan import BatchPlan
from eobatch.domain.states import UserAction
from eobatch.engine import LocalExecutor, Scheduler
from eobatch.settings import Settings
from eobatch.store import ledger
from eobatch.store.actions import apply_action
from eobatch.store.db import Database
from eobatch.store.models import BatchRequest, Tile
from tests.engine import test_end_to_end as end_to_end
from tests.engine.helpers import check_invariants, request_row

PROCESS_REQUEST = {**end_to_end.demo_process_request(), "evalscript": end_to_end.NDVI}

# batch_requests before migration 0007 (no plan columns)
OLD_REQUESTS = sa.table(
    "batch_requests",
    *(sa.column(name) for name in ("id", "account_id", "api_version", "status", "user_action", "bucket_name")),
    *(sa.column(name) for name in ("grid_id", "resolution", "buffer_x", "buffer_y", "tile_count")),
    *(sa.column(name) for name in ("charged_pu", "reserved_pu", "created", "last_updated")),
    *(sa.column(name, sa.JSON) for name in ("body", "process_request", "tiling_grid", "output")),
)
OLD_ACCOUNTS = sa.table("accounts", *(sa.column(n) for n in ("id", "name", "available_pu", "reserved_pu", "created")))


def _database_before_plans(url: str) -> Database:
    database = Database(url)
    database.migrate("0006")  # the revision before the plan
    return database


def _store_old_request(database: Database, **columns) -> str:
    """A v1 request row written as the code before plans wrote it."""
    from eobatch.store.models import utcnow

    request_id = str(uuid.uuid4())
    now = utcnow()
    values = dict(
        id=request_id,
        api_version="v1",
        status="CREATED",
        user_action="NONE",
        body={},
        process_request=PROCESS_REQUEST,
        tiling_grid={"id": 0, "resolution": 60.0},
        grid_id=0,
        resolution=60.0,
        buffer_x=0,
        buffer_y=0,
        tile_count=0,
        charged_pu=0.0,
        reserved_pu=0.0,
        created=now,
        last_updated=now,
    )
    values.update(columns)
    with database.engine.begin() as connection:
        connection.execute(OLD_REQUESTS.insert().values(**values))
    return request_id


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo")


def test_a_request_stored_before_the_migration_still_runs_after_it(database_url, demo_dir):
    database = _database_before_plans(database_url)
    account = str(uuid.uuid4())
    with database.engine.begin() as connection:
        connection.execute(
            OLD_ACCOUNTS.insert().values(
                id=account, name="old", available_pu=0.0, reserved_pu=0.0, created=sa.func.current_timestamp()
            )
        )
    legacy = _store_old_request(database, account_id=account, bucket_name="legacy")  # v1 bucketName only
    paths = {"default": "s3://mine/<requestId>/idx/<tileName>.<format>"}
    per_output = _store_old_request(
        database,
        account_id=account,
        output={"defaultTilePath": "s3://mine/<requestId>/<tileName>/<outputId>.<format>", "tilePaths": paths},
    )

    database.migrate()

    with database.session() as s:
        plans = {rid: BatchPlan.from_json(s.get(BatchRequest, rid).plan) for rid in (legacy, per_output)}
        ledger.grant(s, account, 10_000.0)
        for rid in (legacy, per_output):
            apply_action(s, s.get(BatchRequest, rid), UserAction.START)
    assert [o.destination.path for o in plans[legacy].outputs] == [
        "s3://legacy/<requestId>/<tileName>/<outputId>.<format>"
    ]
    assert plans[per_output].outputs[0].destination.path == "s3://mine/<requestId>/idx/<tileName>.<format>"
    assert plans[legacy].grid.resolution == 60.0 and plans[legacy].inputs[0].type == "sentinel-2-l2a"

    settings = Settings(data_dir=demo_dir, workers=2, poll_interval_s=0.01, cleanup_finished_after_s=0)
    scheduler = Scheduler(settings, database, LocalExecutor(2), lease_s=60.0)
    try:
        assert scheduler.run_until_idle(600)
    finally:
        scheduler.stop()
    for rid, expected in (
        (legacy, "s3://legacy/{rid}/{name}/default.tif"),
        (per_output, "s3://mine/{rid}/idx/{name}.tif"),
    ):
        row = request_row(database, rid)
        assert row.status == "DONE", row.error
        with database.session() as s:
            tiles = s.execute(sa.select(Tile.name, Tile.outputs).where(Tile.request_id == rid)).all()
        assert tiles
        for name, outputs in tiles:
            url = expected.format(rid=rid, name=name)
            assert outputs == [url]
            assert (settings.buckets_dir / url.removeprefix("s3://")).is_file()
    check_invariants(database)
    database.dispose()


def _insert_row(connection: sa.Connection, table: str, **given) -> None:
    """A row of `table` as the schema of that moment has it: `given`, and a plain value in every other
    NOT NULL column without a default."""
    from eobatch.store.models import utcnow

    plain = {int: 0, float: 0.0, bool: False, str: "x"}
    values = dict(given)
    for column in sa.inspect(connection).get_columns(table):
        if column["name"] in values or column["nullable"] or column.get("default") or column.get("autoincrement"):
            continue
        kind = column["type"]
        if isinstance(kind, sa.JSON):
            values[column["name"]] = {}
        elif isinstance(kind, sa.DateTime):
            values[column["name"]] = utcnow()
        else:
            values[column["name"]] = plain[kind.python_type]
    columns = [sa.column(name, sa.JSON if isinstance(v, dict) else None) for name, v in values.items()]
    connection.execute(sa.table(table, *columns).insert().values(**values))


def test_upgrading_keeps_every_row(database_url):
    """Migrations that change a column rebuild the table on SQLite; with foreign keys on, dropping the old
    table deleted every request, tile and event that referenced it (ON DELETE CASCADE)."""
    database = Database(database_url)
    database.migrate("0004")  # before the exact-PU and plan migrations rebuild tables
    with database.engine.begin() as connection:
        _insert_row(connection, "accounts", id="acc", name="old", created=sa.func.current_timestamp())
        _insert_row(connection, "batch_requests", id="req", account_id="acc", status="DONE", user_action="NONE")
        _insert_row(connection, "tiles", pk=7, request_id="req", account_id="acc", status="PROCESSED", charged_pu=2.5)
        _insert_row(connection, "tile_events", tile_pk=7, status="PROCESSED")
        _insert_row(connection, "ledger_entries", account_id="acc", request_id="req", tile_pk=7, kind="CHARGE")

    database.migrate()

    tables = ("accounts", "batch_requests", "tiles", "tile_events", "ledger_entries")
    with database.engine.connect() as connection:
        counts = {
            t: connection.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() for t in tables
        }
    assert counts == dict.fromkeys(tables, 1)
    with database.session() as s:
        assert s.get(Tile, 7).charged_pu == 2.5
        assert s.get(BatchRequest, "req").tiles_charged_pu == 2.5
    database.dispose()
