"""Analyses: claimed under a lease, their tiles inserted in bulk, the request moved on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from eobatch.domain.states import RequestStatus, TileStatus, UserAction, after_analysis
from eobatch.errors import InsufficientUnits
from eobatch.store import ledger
from eobatch.store.actions import reservation_for
from eobatch.store.bulk import insert_columns
from eobatch.store.models import BatchRequest, Tile
from eobatch.store.transitions import set_request_status
from eobatch.store.work.shared import delete_tiles
from eobatch.store.work.snapshots import RequestSnapshot, snapshot


def analyses_running(session: Session, now: datetime) -> int:
    """Analyses held by a live lease, across all schedulers."""
    return session.execute(
        select(func.count())
        .select_from(BatchRequest)
        .where(BatchRequest.status == RequestStatus.ANALYSING.value, BatchRequest.lease_expires > now)
    ).scalar_one()


def _unclaimed_analysis(now: datetime):
    return (BatchRequest.status == RequestStatus.ANALYSING.value) & or_(
        BatchRequest.lease_expires.is_(None), BatchRequest.lease_expires <= now
    )


def analyses_waiting(session: Session, now: datetime) -> bool:
    """Whether an ANALYSING request waits for a scheduler (a read: no lock is taken to find out)."""
    return session.execute(select(exists().where(_unclaimed_analysis(now)))).scalar_one()


def claim_analyses(session: Session, owner: str, limit: int, now: datetime, ttl_s: float) -> list[RequestSnapshot]:
    """Take up to `limit` ANALYSING requests nobody holds; tiles left by a dead analysis are deleted."""
    if limit <= 0:
        return []
    rows = (
        session.execute(
            select(BatchRequest)
            .where(_unclaimed_analysis(now))
            .order_by(BatchRequest.created)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for row in rows:
        row.lease_owner, row.lease_expires = owner, now + timedelta(seconds=ttl_s)
        delete_tiles(session, [row.id])
    return [snapshot(r) for r in rows]


@dataclass(slots=True)
class PlannedTile:
    """One tile found by an analysis, ready to insert (one row of `PlannedTiles`)."""

    tile_id: int
    name: str
    epsg: int
    bounds: tuple[float, float, float, float]
    width_px: int  # output raster, buffer included
    height_px: int
    geometry: dict[str, Any]
    estimated_pu: float  # before the batch discount


@dataclass(frozen=True, eq=False)
class PlannedTiles(Sequence[PlannedTile]):
    """The tiles found by an analysis as columns of plain values, ready to insert without an object per
    tile (an analysis may find ~100 000). `geometries` holds each footprint as the text the JSON column
    stores: `json.dumps` of its GeoJSON (grids.geo.geojson_texts)."""

    tile_ids: list[int]
    names: list[str]
    epsgs: list[int]
    minx: list[float]
    miny: list[float]
    maxx: list[float]
    maxy: list[float]
    widths_px: list[int]  # output raster, buffer included
    heights_px: list[int]
    geometries: list[str]
    estimated_pu: list[float]  # before the batch discount

    @classmethod
    def of(cls, tiles: Sequence[PlannedTile]) -> PlannedTiles:
        """The columns of `tiles`."""
        bounds = list(zip(*(t.bounds for t in tiles), strict=True)) or [[], [], [], []]
        return cls(
            [t.tile_id for t in tiles],
            [t.name for t in tiles],
            [t.epsg for t in tiles],
            *(list(b) for b in bounds),
            [t.width_px for t in tiles],
            [t.height_px for t in tiles],
            [json.dumps(t.geometry) for t in tiles],
            [t.estimated_pu for t in tiles],
        )

    def columns(self) -> dict[str, list]:
        """The values by column of the tiles table."""
        return {column: getattr(self, name) for column, name in zip(TILE_COLUMNS, _COLUMN_FIELDS, strict=True)}

    def __len__(self) -> int:
        return len(self.tile_ids)

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        t, n, e, x0, y0, x1, y1, w, h, g, pu = (getattr(self, name)[k] for name in _COLUMN_FIELDS)
        return PlannedTile(t, n, e, (x0, y0, x1, y1), w, h, json.loads(g), pu)


TILE_COLUMNS = (  # the tiles table's columns an analysis fills, and the `PlannedTiles` fields holding them
    "tile_id", "name", "epsg", "minx", "miny", "maxx", "maxy", "width_px", "height_px", "geometry", "estimated_pu",
)  # fmt: skip


_COLUMN_FIELDS = (
    "tile_ids", "names", "epsgs", "minx", "miny", "maxx", "maxy", "widths_px", "heights_px", "geometries",
    "estimated_pu",
)  # fmt: skip


@dataclass(frozen=True)
class AnalysisResult:
    tiles: PlannedTiles  # a list of `PlannedTile`s is taken too (turned into columns)
    tile_width_px: int | None  # without buffer; None for GeoPackage features (each has its own size)
    tile_height_px: int | None
    value_estimate: float
    cost_estimate: dict[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.tiles, PlannedTiles):
            object.__setattr__(self, "tiles", PlannedTiles.of(list(self.tiles)))


def finish_analysis(
    session: Session, owner: str, request_id: str, now: datetime, result: AnalysisResult | None, error: str | None
) -> RequestStatus | None:
    """Store an analysis outcome and move the request on; None when the lease was lost meanwhile.

    With START remembered, PU are reserved; when the account cannot cover them the request stays
    ANALYSIS_DONE with `error` saying so, and the user may top up and START again.
    """
    row = session.get(BatchRequest, request_id, with_for_update=True, populate_existing=True)
    if row is None or row.lease_owner != owner or row.status != RequestStatus.ANALYSING.value:
        return None
    row.lease_owner = row.lease_expires = None
    row.last_updated = now
    action = UserAction(row.user_action)
    status = after_analysis(action, ok=result is not None)
    if result is None:
        row.error = error
        row.finished_at = now
        set_request_status(row, status)
        return status
    _insert_tiles(session, row, result.tiles, now)
    row.tile_count = len(result.tiles)
    row.tile_width_px, row.tile_height_px = result.tile_width_px, result.tile_height_px
    row.value_estimate, row.cost_estimate = result.value_estimate, result.cost_estimate
    row.error = None
    if status is RequestStatus.PROCESSING:
        try:
            ledger.reserve(session, row, reservation_for(row))  # checks before it changes anything
        except InsufficientUnits as exc:
            status = RequestStatus.ANALYSIS_DONE
            row.user_action = UserAction.NONE.value
            row.error = f"Analysis done, but processing could not start: {exc.message}"
    elif status is RequestStatus.CANCELED:
        row.finished_at = now
    elif status is RequestStatus.STOPPED:
        row.stopped_reason = "USER_ACTION"
    set_request_status(row, status)
    return status


def _insert_tiles(session: Session, row: BatchRequest, tiles: PlannedTiles, now: datetime) -> None:
    """The analysis' tiles, PENDING, in one bulk insert (store/bulk.py: shared values converted once, the
    footprints given as the JSON text they are stored as)."""
    if not len(tiles):
        return
    shared = dict(
        request_id=row.id,
        account_id=row.account_id,
        status=TileStatus.PENDING.value,
        attempts=0,
        charged_pu=0.0,
        no_data=False,
        created=now,
        updated=now,
    )
    insert_columns(session, Tile.__table__, shared, tiles.columns(), as_stored=("geometry",))


def heartbeat_analyses(session: Session, owner: str, request_ids: list[str], now: datetime, ttl_s: float) -> int:
    """Renew the leases of the analyses this scheduler is still running (and only those: a lease whose
    analysis the scheduler lost track of must expire so that the request is analysed again)."""
    if not request_ids:
        return 0
    return session.execute(
        update(BatchRequest)
        .where(
            BatchRequest.lease_owner == owner,
            BatchRequest.id.in_(request_ids),
            BatchRequest.status == RequestStatus.ANALYSING.value,
        )
        .values(lease_expires=now + timedelta(seconds=ttl_s))
    ).rowcount


def release_analysis(session: Session, owner: str, request_id: str) -> None:
    """Give up an analysis lease at once, so that the request is claimed and analysed again."""
    session.execute(
        update(BatchRequest)
        .where(
            BatchRequest.id == request_id,
            BatchRequest.lease_owner == owner,
            BatchRequest.status == RequestStatus.ANALYSING.value,
        )
        .values(lease_owner=None, lease_expires=None)
    )


def recover_analyses(session: Session, owner: str, now: datetime, *, every_foreign: bool = False) -> int:
    """Free ANALYSING requests held by a dead scheduler so that `claim_analyses` takes them again."""
    stale = BatchRequest.lease_expires <= now
    if every_foreign:
        stale = or_(stale, BatchRequest.lease_owner != owner)
    return session.execute(
        update(BatchRequest)
        .where(BatchRequest.status == RequestStatus.ANALYSING.value, BatchRequest.lease_owner.is_not(None), stale)
        .values(lease_owner=None, lease_expires=None)
    ).rowcount
