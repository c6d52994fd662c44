"""The engine's repository: every query the scheduler runs, each named for what it does.

Leases: a scheduler that works on a row writes its id to `lease_owner` and a deadline to
`lease_expires`, and renews the deadline while it works. A row whose deadline has passed belongs to
nobody and may be recovered by any scheduler. On PostgreSQL rows are claimed with
`SELECT ... FOR UPDATE SKIP LOCKED`, so several schedulers share the work; on SQLite the
`scheduler_leases` singleton row guarantees that only one scheduler runs, and `unit()` opens every
transaction with `BEGIN IMMEDIATE` so threads of that scheduler (and the API) serialise their writes.

A PENDING tile's `lease_expires` doubles as "not before": a tile waiting for a retry backoff keeps
its deadline there and is not dispatched until it has passed.

Lock order, everywhere: request row, then tile rows, then the account row (taken by `ledger`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, text, update
from sqlalchemy.orm import Session, defer

from eobatch.domain import cost
from eobatch.domain.plan import BatchPlan, Credentials
from eobatch.domain.states import (
    TILES_IN_FLIGHT,
    RequestStatus,
    StoppedReason,
    TileStatus,
    UserAction,
    after_analysis,
    after_charge,
    after_tile_failure,
    settle,
)
from eobatch.errors import Conflict, InsufficientUnits
from eobatch.store import ledger
from eobatch.store.actions import reservation_for
from eobatch.store.bulk import insert_columns
from eobatch.store.db import Database
from eobatch.store.models import BatchRequest, SchedulerLease, Tile, TileEvent
from eobatch.store.transitions import move_tile, set_request_status

SQLITE_LEASE = "singleton"
IN_FLIGHT = tuple(s.value for s in TILES_IN_FLIGHT)
HALTING_ACTIONS = (UserAction.CANCEL.value, UserAction.STOP.value)
OUT_OF_PU = StoppedReason.OUT_OF_PU.value


def _halting():
    """A request on which a CANCEL or STOP is in force, or that ran out of PU while processing."""
    return or_(
        BatchRequest.user_action.in_(HALTING_ACTIONS), func.coalesce(BatchRequest.stopped_reason, "") == OUT_OF_PU
    )  # NULL-safe under NOT


@contextmanager
def unit(database: Database) -> Iterator[Session]:
    """One transaction; on SQLite it takes the write lock at once (no lock upgrade, no BUSY_SNAPSHOT)."""
    with database.session() as session:
        if database.is_sqlite:
            session.execute(text("BEGIN IMMEDIATE"))
        yield session


# --------------------------------------------------------------------------- scheduler leases


def acquire_scheduler_lease(
    session: Session,
    owner: str,
    now: datetime,
    ttl_s: float,
    *,
    singleton: bool,
    owner_is_dead: Callable[[str], bool] = lambda _: False,
) -> None:
    """Register a live scheduler. With `singleton` (SQLite) a live lease of another owner is a Conflict,
    unless `owner_is_dead(other)` says its process is gone (then the lease is taken over at once)."""
    name = SQLITE_LEASE if singleton else owner
    row = session.get(SchedulerLease, name, with_for_update=True)
    expires = now + timedelta(seconds=ttl_s)
    if row is None:
        session.add(SchedulerLease(name=name, owner=owner, expires=expires, started=now))
        return
    if singleton and row.owner != owner and row.expires > now and not owner_is_dead(row.owner):
        raise Conflict(
            f"Another scheduler ({row.owner}) is running against this SQLite database (its lease runs "
            f"until {row.expires.isoformat()}); with SQLite only one scheduler may run. Stop the other "
            "one, wait for its lease to expire, or use PostgreSQL (EOBATCH_DATABASE_URL) to run several."
        )
    row.owner, row.expires, row.started = owner, expires, now


def renew_scheduler_lease(session: Session, owner: str, now: datetime, ttl_s: float, *, singleton: bool) -> bool:
    """Push the lease deadline; False when the lease was lost to another scheduler."""
    name = SQLITE_LEASE if singleton else owner
    result = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.owner == owner)
        .values(expires=now + timedelta(seconds=ttl_s))
    )
    return result.rowcount == 1


def drop_scheduler_lease(session: Session, owner: str) -> None:
    session.execute(delete(SchedulerLease).where(SchedulerLease.owner == owner))


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class RequestSnapshot:
    """What an analysis or a tile task needs from a request row, detached from the database: its typed
    plan and the key pairs the plan refers to."""

    id: str
    account_id: str
    plan: BatchPlan | None  # None only for a row stored before plans that migration 0007 could not convert
    user_action: str
    api_version: str = "v1"
    credentials: dict[str, Credentials] = field(default_factory=dict)  # by plan reference
    stored_output: dict[str, Any] | None = None  # the wire `output` as echoed; read by test task functions only

    @property
    def is_v2(self) -> bool:
        return self.api_version == "v2"


def _snapshot(r: BatchRequest) -> RequestSnapshot:
    return RequestSnapshot(
        r.id,
        r.account_id,
        BatchPlan.from_json(r.plan) if r.plan else None,
        r.user_action,
        r.api_version or "v1",
        stored_credentials(r.delivery_credentials),
        r.output,
    )


def stored_credentials(stored: dict[str, Any] | None) -> dict[str, Credentials]:
    """The `delivery_credentials` column (delivery keys at the top level, the GeoPackage's under
    "features") as key pairs by plan reference; entries without both keys are left out."""
    stored = stored or {}
    parts = {"delivery": {k: v for k, v in stored.items() if k != "features"}, "features": stored.get("features")}
    return {
        ref: Credentials(access_key=part["accessKey"], secret_key=part["secretAccessKey"], region=part.get("region"))
        for ref, part in parts.items()
        if part and part.get("accessKey") and part.get("secretAccessKey")
    }


def load_request(session: Session, request_id: str) -> RequestSnapshot | None:
    row = session.get(BatchRequest, request_id)
    return None if row is None else _snapshot(row)


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
        _delete_tiles(session, [row.id])
    return [_snapshot(r) for r in rows]


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


def _delete_tiles(session: Session, request_ids: Sequence[str]) -> None:
    pks = select(Tile.pk).where(Tile.request_id.in_(request_ids))
    session.execute(delete(TileEvent).where(TileEvent.tile_pk.in_(pks)))
    session.execute(delete(Tile).where(Tile.request_id.in_(request_ids)))


# --------------------------------------------------------------------------- dispatch


def _dispatchable(now: datetime):
    """Conditions of a PENDING tile that may be dispatched now."""
    live = select(BatchRequest.id).where(BatchRequest.status == RequestStatus.PROCESSING.value, ~_halting())
    return (
        Tile.status == TileStatus.PENDING.value,
        Tile.request_id.in_(live),
        or_(Tile.lease_expires.is_(None), Tile.lease_expires <= now),
    )


def accounts_with_pending_tiles(session: Session, now: datetime) -> list[str]:
    return list(
        session.execute(
            select(Tile.account_id).where(*_dispatchable(now)).distinct().order_by(Tile.account_id)
        ).scalars()
    )


def tiles_in_flight_by_account(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            select(Tile.account_id, func.count()).where(Tile.status.in_(IN_FLIGHT)).group_by(Tile.account_id)
        ).all()
    )


@dataclass(frozen=True)
class ClaimedTile:
    pk: int
    request_id: str
    account_id: str
    tile_id: int
    name: str
    epsg: int
    bounds: tuple[float, float, float, float]
    width_px: int
    height_px: int
    attempt: int
    geometry: dict[str, Any] | None = None  # footprint in WGS84 (GeoJSON)


def claim_pending_tiles(
    session: Session, owner: str, account_id: str, limit: int, now: datetime, ttl_s: float
) -> list[ClaimedTile]:
    """Move up to `limit` dispatchable tiles of one account to SCHEDULED under our lease (oldest first)."""
    if limit <= 0:
        return []
    rows = (
        session.execute(
            select(Tile)
            .where(Tile.account_id == account_id, *_dispatchable(now))
            .order_by(Tile.pk)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    claimed = []
    for t in rows:
        move_tile(session, t, TileStatus.SCHEDULED, now, f"by {owner}")
        t.attempts += 1
        t.lease_owner, t.lease_expires, t.heartbeat_at = owner, now + timedelta(seconds=ttl_s), now
        claimed.append(
            ClaimedTile(
                t.pk,
                t.request_id,
                t.account_id,
                t.tile_id,
                t.name,
                t.epsg,
                (t.minx, t.miny, t.maxx, t.maxy),
                t.width_px,
                t.height_px,
                t.attempts,
                t.geometry,
            )
        )
    return claimed


_FORWARD = (TileStatus.SCHEDULED, TileStatus.QUEUED, TileStatus.PROCESSING)


def mark_tiles(
    session: Session, owner: str, pks: Sequence[int], new: TileStatus, now: datetime, note: str | None = None
) -> int:
    """Move our in-flight tiles forward (SCHEDULED -> QUEUED -> PROCESSING); others are left alone."""
    if not pks:
        return 0
    rows = (
        session.execute(
            select(Tile)
            .where(Tile.pk.in_(pks), Tile.lease_owner == owner, Tile.status.in_(IN_FLIGHT))
            .with_for_update()
        )
        .scalars()
        .all()
    )
    moved = 0
    for t in rows:
        if _FORWARD.index(new) <= _FORWARD.index(TileStatus(t.status)):
            continue
        move_tile(session, t, new, now, note)
        moved += 1
    return moved


def heartbeat_tiles(session: Session, owner: str, pks: Sequence[int], now: datetime, ttl_s: float) -> int:
    """Renew the leases of the tiles whose tasks are alive; returns how many.

    Only `pks` (what the executor still holds): a tile we lost track of lets its lease run out.
    """
    if not pks:
        return 0
    return session.execute(
        update(Tile)
        .where(Tile.pk.in_(pks), Tile.lease_owner == owner, Tile.status.in_(IN_FLIGHT))
        .values(lease_expires=now + timedelta(seconds=ttl_s), heartbeat_at=now)
    ).rowcount


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


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class TileOutcome:
    """What happened to one attempt, as the scheduler saw it."""

    ok: bool
    duration_s: float
    bytes_written: int = 0
    outputs: tuple[str, ...] = ()
    scene_count: int | None = None
    no_data: bool = False
    cost_pu: float = 0.0
    evaluation: str | None = None  # which evaluatePixel path ran ("compiled" / "v8: <reason>")
    scene_ids: list[str] | None = None  # the scenes the tile was made from
    error: str | None = None
    retryable: bool = True
    backoff_s: float = 0.0


# the request's documents: the echoed bodies, the plan (with the area's outline), the estimate; an outcome
# or a settlement needs none of them, and decoding them took most of the scheduler's time per tile
_DOCUMENTS = (
    BatchRequest.body,
    BatchRequest.process_request,
    BatchRequest.tiling_grid,
    BatchRequest.output,
    BatchRequest.delivery_credentials,
    BatchRequest.plan,
    BatchRequest.cost_estimate,
)


def _lock_request_row(session: Session, request_id: str) -> BatchRequest | None:
    """The request row, locked and fresh, without its documents (they load if read)."""
    return session.get(
        BatchRequest,
        request_id,
        with_for_update=True,
        populate_existing=True,
        options=[defer(column) for column in _DOCUMENTS],
    )


def _locked_request(session: Session, request_id: str) -> BatchRequest | None:
    """The request row, locked once per transaction (outcomes of one batch share the lock)."""
    locked: dict[str, BatchRequest | None] = session.info.setdefault("eobatch.locked_requests", {})
    if request_id not in locked:
        locked[request_id] = _lock_request_row(session, request_id)
    return locked[request_id]


def _owned_tile(session: Session, owner: str, tile_pk: int, request_id: str | None) -> tuple[BatchRequest, Tile] | None:
    if request_id is None:
        request_id = session.execute(select(Tile.request_id).where(Tile.pk == tile_pk)).scalar_one_or_none()
    if request_id is None:
        return None
    request = _locked_request(session, request_id)
    tile = session.execute(
        select(Tile)
        .where(Tile.pk == tile_pk, Tile.request_id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if request is None or tile is None or tile.lease_owner != owner or tile.status not in IN_FLIGHT:
        return None
    return request, tile


def record_outcome(
    session: Session,
    owner: str,
    tile_pk: int,
    outcome: TileOutcome,
    now: datetime,
    max_attempts: int,
    *,
    request_id: str | None = None,
) -> TileStatus | None:
    """Store an attempt's outcome; None when the tile is no longer ours (it was recovered meanwhile).

    A success is charged here, in the same transaction as the PROCESSED transition and only from an
    in-flight status, so a tile is never charged twice. `request_id`, when the caller knows it,
    spares a query; a wrong one finds no tile.
    """
    owned = _owned_tile(session, owner, tile_pk, request_id)
    if owned is None:
        return None
    request, tile = owned
    tile.lease_owner, tile.duration_s = None, outcome.duration_s
    if outcome.ok:
        tile.cost = outcome.cost_pu
        tile.charged_pu = cost.from_micro(
            cost.to_micro(cost.charged_pu(tile.width_px, tile.height_px, outcome.cost_pu))
        )
        tile.bytes_written, tile.outputs = outcome.bytes_written, list(outcome.outputs)
        tile.scene_count, tile.no_data, tile.error = outcome.scene_count, outcome.no_data, None
        tile.evaluation = outcome.evaluation
        tile.scene_ids = outcome.scene_ids
        tile.lease_expires = None
        move_tile(session, tile, TileStatus.PROCESSED, now)
        due = cost.from_micro(
            cost.tile_charge_due(
                cost.to_micro(ledger.tiles_charged(session, request.id)), cost.to_micro(request.charged_pu)
            )
        )
        covered = ledger.can_cover(session, request, due)
        note = (
            None if due == tile.charged_pu else f"{due} of the tile's {tile.charged_pu} PU: the minimum covers the rest"
        )
        ledger.charge(session, request, due, tile_pk=tile.pk, note=note)
        stop = after_charge(RequestStatus(request.status), covered)
        if stop is not None:
            request.stopped_reason = stop.value  # no more dispatch; settles as STOPPED (OUT_OF_PU)
        request.last_updated = now
        return TileStatus.PROCESSED
    new = after_tile_failure(tile.attempts, max_attempts) if outcome.retryable else TileStatus.FAILED
    if new is TileStatus.FAILED:
        tile.error = _failure_message(tile, outcome, max_attempts)
        tile.lease_expires = None
    else:
        tile.error = outcome.error
        tile.lease_expires = now + timedelta(seconds=outcome.backoff_s) if outcome.backoff_s > 0 else None
    move_tile(session, tile, new, now, outcome.error)
    return new


def _failure_message(tile: Tile, outcome: TileOutcome, max_attempts: int) -> str:
    tries = f"after {tile.attempts} of {max_attempts} attempts" if outcome.retryable else "(not retryable)"
    return f"Tile {tile.name} failed {tries}: {outcome.error}"


def release_tiles(
    session: Session, owner: str, now: datetime, pks: Sequence[int] | None = None, note: str = "scheduler-stop"
) -> int:
    """Give back our in-flight tiles (all, or `pks`) that never ran; the attempt is not counted."""
    query = select(Tile).where(Tile.lease_owner == owner, Tile.status.in_(IN_FLIGHT))
    if pks is not None:
        if not pks:
            return 0
        query = query.where(Tile.pk.in_(pks))
    rows = session.execute(query.with_for_update()).scalars().all()
    for t in rows:
        t.attempts = max(t.attempts - 1, 0)
        t.lease_owner = t.lease_expires = None
        move_tile(session, t, TileStatus.PENDING, now, note)
    return len(rows)


def halted_requests(session: Session, request_ids: Sequence[str]) -> list[str]:
    """Those of `request_ids` on which a CANCEL or STOP is in force, or that ran out of PU."""
    if not request_ids:
        return []
    return list(session.execute(select(BatchRequest.id).where(BatchRequest.id.in_(request_ids), _halting())).scalars())


# --------------------------------------------------------------------------- recovery


def recover_tiles(
    session: Session, owner: str, now: datetime, max_attempts: int, *, every_foreign: bool = False
) -> int:
    """Put tiles left in flight by a dead scheduler back to PENDING (the lost attempt counts).

    Normally only tiles whose lease expired are taken; `every_foreign` (the SQLite singleton just
    acquired) takes every in-flight tile not held by `owner`, since no other scheduler can be alive.
    """
    stale = or_(Tile.lease_expires.is_(None), Tile.lease_expires <= now)
    if every_foreign:
        stale = or_(stale, Tile.lease_owner.is_(None), Tile.lease_owner != owner)
    rows = (
        session.execute(select(Tile).where(Tile.status.in_(IN_FLIGHT), stale).with_for_update(skip_locked=True))
        .scalars()
        .all()
    )
    for t in rows:
        new = after_tile_failure(t.attempts, max_attempts)
        note = "lease-expired: the scheduler or worker holding the tile stopped answering"
        if new is TileStatus.FAILED:
            t.error = (
                f"Tile {t.name} failed after {t.attempts} of {max_attempts} attempts: its scheduler "
                "or worker stopped answering each time"
            )
        t.lease_owner = t.lease_expires = None
        move_tile(session, t, new, now, note)
    return len(rows)


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


# --------------------------------------------------------------------------- finalising


def requests_to_settle(session: Session) -> list[str]:
    """PROCESSING requests with nothing in flight and nothing more to dispatch (or a CANCEL/STOP, or out of PU)."""
    in_flight = exists().where(Tile.request_id == BatchRequest.id, Tile.status.in_(IN_FLIGHT))
    pending = exists().where(Tile.request_id == BatchRequest.id, Tile.status == TileStatus.PENDING.value)
    return list(
        session.execute(
            select(BatchRequest.id).where(
                BatchRequest.status == RequestStatus.PROCESSING.value, ~in_flight, or_(_halting(), ~pending)
            )
        ).scalars()
    )


def settle_request(session: Session, request_id: str, now: datetime) -> RequestStatus | None:
    """Give a settled request its final status, charge up to the 100 PU minimum, release the rest."""
    row = _lock_request_row(session, request_id)
    if row is None or row.status != RequestStatus.PROCESSING.value:
        return None
    counts = dict(
        session.execute(
            select(Tile.status, func.count()).where(Tile.request_id == request_id).group_by(Tile.status)
        ).all()
    )
    settlement = settle(
        UserAction(row.user_action),
        {TileStatus(status): n for status, n in counts.items()},
        out_of_pu=row.stopped_reason == OUT_OF_PU,
    )
    if settlement is None:
        return None
    if settlement.charge_minimum:
        due = cost.settle_charge_due(
            cost.to_micro(ledger.tiles_charged(session, request_id)), cost.to_micro(row.charged_pu)
        )
        ledger.charge(session, row, cost.from_micro(due), note="the 100 PU request minimum")
    ledger.release(session, row)
    reason = settlement.stopped_reason
    row.stopped_reason = reason.value if reason else None
    if settlement.finished:
        row.finished_at = now
    if settlement.status in (RequestStatus.FAILED, RequestStatus.PARTIAL):
        processed, failed = counts.get(TileStatus.PROCESSED.value, 0), counts.get(TileStatus.FAILED.value, 0)
        row.error = _request_failure(session, request_id, processed, failed)
    set_request_status(row, settlement.status)
    row.last_updated = now
    return settlement.status


def execution_rows(session: Session, request_id: str) -> list[Any]:
    """The tile facts of the v2 execution database (tile_id, name, status, error, no_data), by tile id."""
    return list(
        session.execute(
            select(Tile.tile_id, Tile.name, Tile.status, Tile.error, Tile.no_data)
            .where(Tile.request_id == request_id)
            .order_by(Tile.tile_id)
        ).all()
    )


def _request_failure(session: Session, request_id: str, processed: int, failed: int) -> str:
    """The `error` of a FAILED or PARTIAL request: how many tiles failed and the first reason. Advice on
    what to do next depends on the API that shows it (`api.messages.request_error`)."""
    first = session.execute(
        select(Tile.error)
        .where(Tile.request_id == request_id, Tile.status == TileStatus.FAILED.value)
        .order_by(Tile.pk)
        .limit(1)
    ).scalar_one_or_none()
    if not processed:
        return f"All {failed} tiles failed. First error: {first}"
    return f"{failed} of {processed + failed} tiles failed. First error: {first}"


# --------------------------------------------------------------------------- idleness and cleanup


def active_requests(session: Session) -> int:
    """Requests the engine still has to work on (ANALYSING or PROCESSING)."""
    return session.execute(
        select(func.count())
        .select_from(BatchRequest)
        .where(BatchRequest.status.in_((RequestStatus.ANALYSING.value, RequestStatus.PROCESSING.value)))
    ).scalar_one()


@dataclass(frozen=True)
class CleanupAges:
    """Seconds after which stale requests are deleted; 0 disables that kind (STOPPED: disabled by default)."""

    failed_s: float
    unstarted_s: float
    finished_s: float
    stopped_s: float = 0.0


@dataclass(frozen=True)
class Deletion:
    """A stale request that cleanup deleted, and why."""

    request_id: str
    reason: str


def results_in_collection(requests: Sequence[BatchRequest]) -> set[str]:
    """The ids of requests whose results were added to a collection: never deleted by cleanup.

    A request whose output names a batch collection (`collectionId`, which create fills in for
    `createCollection` too) is kept: its tiles are registered there (docs/collections.md).
    """
    return {
        r.id
        for r in requests
        if isinstance(r.output, dict) and (r.output.get("collectionId") or r.output.get("createCollection"))
    }


def delete_stale_requests(session: Session, now: datetime, ages: CleanupAges) -> list[Deletion]:
    """Delete FAILED, never-started, finished and (when enabled) STOPPED requests older than their age,
    with their tiles; requests whose results are in a collection are kept.

    Ledger entries are kept; outputs in object storage are not touched. A STOPPED request still holding
    PU gets them released first.
    """
    S = RequestStatus
    kinds = [
        ((S.FAILED,), ages.failed_s, "cleanup_failed_after_s"),
        ((S.CREATED, S.ANALYSIS_DONE), ages.unstarted_s, "cleanup_unstarted_after_s"),
        ((S.DONE, S.PARTIAL, S.CANCELED), ages.finished_s, "cleanup_finished_after_s"),
        ((S.STOPPED,), ages.stopped_s, "cleanup_stopped_after_s"),
    ]
    stale: list[BatchRequest] = []
    reasons: dict[str, str] = {}
    for statuses, age, setting in kinds:
        if age <= 0:
            continue
        cutoff = now - timedelta(seconds=age)
        rows = (
            session.execute(
                select(BatchRequest)
                .where(BatchRequest.status.in_([s.value for s in statuses]), BatchRequest.last_updated <= cutoff)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        for row in rows:
            reasons[row.id] = (
                f"{row.status}, last updated {row.last_updated:%Y-%m-%dT%H:%M:%SZ}, older than {setting}={age:g} s"
            )
        stale += rows
    kept = results_in_collection(stale)
    stale = [r for r in stale if r.id not in kept]
    ids = [r.id for r in stale]
    if ids:
        for request in stale:
            if request.reserved_pu > 0:
                ledger.release(session, request)  # a stopped request may still hold PU: give them back first
        _delete_tiles(session, ids)
        session.execute(delete(BatchRequest).where(BatchRequest.id.in_(ids)))
    return [Deletion(i, reasons[i]) for i in ids]


def stac_tile_rows(session: Session, request_id: str) -> list[Any]:
    """The tile facts a request's STAC is made of, by tile id."""
    return list(
        session.execute(
            select(
                Tile.tile_id,
                Tile.name,
                Tile.status,
                Tile.epsg,
                Tile.minx,
                Tile.miny,
                Tile.maxx,
                Tile.maxy,
                Tile.width_px,
                Tile.height_px,
                Tile.geometry,
                Tile.outputs,
                Tile.error,
            )
            .where(Tile.request_id == request_id)
            .order_by(Tile.tile_id)
        ).all()
    )
