"""An analysis' tiles are inserted in bulk (store/bulk.py); the rows must be exactly those SQLAlchemy's own
ORM insert writes, on SQLite (executemany) and PostgreSQL (COPY)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from eobatch.store.bulk import insert_columns
from eobatch.store.models import Account, BatchRequest, Tile
from eobatch.store.work import PlannedTile, PlannedTiles
from eobatch.store.work.analyses import _insert_tiles

NAMES = ["33TVM_1_2", "tab\there", "back\\slash", 'quote"s', "new\nline", "ünïcode ✓", "comma,semi;colon", r"\N"]
GEOMETRIES = [
    {"type": "Polygon", "coordinates": [[[14.5, 46.0], [14.63, 46.0], [14.63, 46.09], [14.5, 46.09], [14.5, 46.0]]]},
    {
        "type": "MultiPolygon",
        "coordinates": [
            [[[179.9, 0.5], [180.0, 0.5], [180.0, 1.4], [179.9, 1.4], [179.9, 0.5]]],
            [[[-180.0, 0.5], [-179.8, 0.5], [-179.8, 1.4], [-180.0, 1.4], [-180.0, 0.5]]],
        ],
    },
    {"type": "Polygon", "coordinates": [[[0.1 + 0.2, 1e-300], [1.7976931348623157e308, -0.0], [0.0, 0.0]]]},
]
COMPARED = [
    "account_id", "tile_id", "name", "epsg", "minx", "miny", "maxx", "maxy", "width_px", "height_px", "geometry",
    "status", "attempts", "cost", "charged_pu", "error", "no_data", "scene_count", "evaluation", "scene_ids",
    "bytes_written", "duration_s", "outputs", "estimated_pu", "created", "updated", "heartbeat_at",
]  # fmt: skip


def _planned(n: int) -> list[PlannedTile]:
    return [
        PlannedTile(
            tile_id=330_000_000 + k,
            name=f"{NAMES[k % len(NAMES)]}-{k}",
            epsg=32633 + k % 2,
            bounds=(500000.0 + 10000 * k, 5090000.0, 510000.0 + 10000 * k, 5100000.0 + k / 3),
            width_px=1000 + k % 3,
            height_px=1000,
            geometry=GEOMETRIES[k % len(GEOMETRIES)],
            estimated_pu=k / 3 + 0.1,
        )
        for k in range(n)
    ]


def _request(session, account_id: str) -> BatchRequest:
    row = BatchRequest(
        id=str(uuid.uuid4()),
        account_id=account_id,
        status="ANALYSING",
        user_action="NONE",
        body={},
        process_request={},
        output={},
        grid_id=1,
        resolution=10.0,
    )
    session.add(row)
    session.flush()
    return row


def _rows(session, request_id: str) -> list[tuple]:
    tiles = session.execute(select(Tile).where(Tile.request_id == request_id).order_by(Tile.tile_id)).scalars()
    return [tuple(getattr(t, c) for c in COMPARED) for t in tiles]


def test_bulk_inserted_tiles_equal_orm_inserted_ones(database, monkeypatch) -> None:
    monkeypatch.setattr("eobatch.store.bulk.CHUNK", 7)  # several chunks, the last one short
    now = datetime(2026, 12, 2, 13, 14, 15, 161718, tzinfo=UTC)
    planned = _planned(40)
    with database.session() as s:
        s.add(Account(id="acct", name="acct"))
        s.flush()
        bulk, orm = _request(s, "acct"), _request(s, "acct")
        _insert_tiles(s, bulk, PlannedTiles.of(planned), now)
        s.execute(  # what the analysis did before: one parameter set per row through the ORM
            insert(Tile),
            [
                dict(
                    request_id=orm.id,
                    account_id="acct",
                    tile_id=t.tile_id,
                    name=t.name,
                    epsg=t.epsg,
                    minx=t.bounds[0],
                    miny=t.bounds[1],
                    maxx=t.bounds[2],
                    maxy=t.bounds[3],
                    width_px=t.width_px,
                    height_px=t.height_px,
                    geometry=t.geometry,
                    estimated_pu=t.estimated_pu,
                    status="PENDING",
                    attempts=0,
                    charged_pu=0.0,
                    no_data=False,
                    created=now,
                    updated=now,
                )
                for t in planned
            ],
        )
    with database.session() as s:
        stored, reference = _rows(s, bulk.id), _rows(s, orm.id)
        assert len(stored) == len(planned) == 40
        assert stored == reference
        assert stored[1][COMPARED.index("name")] == "tab\there-1"
        assert stored[2][COMPARED.index("geometry")] == GEOMETRIES[2]
        assert stored[0][COMPARED.index("created")] == now


def test_a_column_with_a_python_default_must_be_given(database) -> None:
    with database.session() as s:
        s.add(Account(id="acct2", name="acct2"))
        s.flush()
        row = _request(s, "acct2")
        with pytest.raises(ValueError, match="insert_columns needs values"):
            insert_columns(s, Tile.__table__, {"request_id": row.id, "account_id": "acct2"}, {"tile_id": [1]})


def test_columns_must_be_equally_long(database) -> None:
    shared = {
        "account_id": "acct3", "status": "PENDING", "attempts": 0, "charged_pu": 0.0, "no_data": False,
        "created": datetime(2026, 12, 2, tzinfo=UTC), "updated": datetime(2026, 12, 2, tzinfo=UTC),
    }  # fmt: skip
    with database.session() as s:
        s.add(Account(id="acct3", name="acct3"))
        s.flush()
        row = _request(s, "acct3")
        columns = PlannedTiles.of(_planned(3)).columns()
        columns["name"] = columns["name"][:2]
        with pytest.raises(ValueError, match="columns of one length"):
            insert_columns(s, Tile.__table__, {"request_id": row.id, **shared}, columns, as_stored=("geometry",))
