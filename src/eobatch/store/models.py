"""Database tables (SQLAlchemy 2). Schema changes go through an Alembic migration in `migrations/`.

Money-like quantities (processing units) live only in `ledger_entries`; `accounts.available_pu` and
`accounts.reserved_pu` are running sums kept in the same transaction as each entry, and the ledger
tests check that they always equal the sums of the entries. Every charged or held amount is stored as
whole micro-PU (`MicroPU`), so sums are exact on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MicroPU(TypeDecorator):
    """PU stored as whole micro-PU (BIGINT); Python sees the float nearest the exact value
    (`domain.cost.from_micro`), and SQL sums stay exact integers."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        from eobatch.domain.cost import to_micro

        return None if value is None else to_micro(value)

    def process_result_value(self, value: Any, dialect: Any) -> float | None:
        from eobatch.domain.cost import from_micro

        return None if value is None else from_micro(int(value))


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    available_pu: Mapped[float] = mapped_column(MicroPU, default=0.0)
    reserved_pu: Mapped[float] = mapped_column(MicroPU, default=0.0)
    allowed_buckets: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)


class Client(Base):
    """OAuth2 client credentials of an account; the secret is stored hashed (argon2)."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class BatchRequest(Base):
    """One batch request (v1) or task (v2): both APIs are views of this row."""

    __tablename__ = "batch_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    api_version: Mapped[str] = mapped_column(String(4), default="v1")
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_updated: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), index=True)
    user_action: Mapped[str] = mapped_column(String(10), default="NONE")
    user_action_updated: Mapped[datetime | None] = mapped_column(nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)

    # the create body as sent (secrets removed), and its parts as echoed on the wire
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    process_request: Mapped[dict[str, Any]] = mapped_column(JSON)
    tiling_grid: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    bucket_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    delivery_credentials: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    # the typed plan (`domain.plan.BatchPlan` as JSON) that the engine reads; the parts above are only echoed
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    plan_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    # the parsed grid settings
    grid_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution: Mapped[float | None] = mapped_column(Float, nullable=True)
    buffer_x: Mapped[int] = mapped_column(Integer, default=0)
    buffer_y: Mapped[int] = mapped_column(Integer, default=0)

    # analysis results
    tile_count: Mapped[int] = mapped_column(Integer, default=0)
    tile_width_px: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tile_height_px: Mapped[int | None] = mapped_column(Integer, nullable=True)
    value_estimate: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost_estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    # processing
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    stopped_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    charged_pu: Mapped[float] = mapped_column(MicroPU, default=0.0)
    reserved_pu: Mapped[float] = mapped_column(MicroPU, default=0.0)
    # the sum of its PROCESSED tiles' own charges, kept as each is charged (ledger.discrepancies checks it)
    tiles_charged_pu: Mapped[float] = mapped_column(MicroPU, default=0.0, server_default="0")
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)

    # a scheduler working on the request (analysis, finalisation) holds a lease that expires
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(nullable=True)


class Tile(Base):
    """One output tile of a request. `tile_id` is the grid's stable id (the API's tile `id`)."""

    __tablename__ = "tiles"
    __table_args__ = (
        UniqueConstraint("request_id", "tile_id", name="uq_tiles_request_tile"),
        Index("ix_tiles_request_status", "request_id", "status"),
        Index("ix_tiles_status_account", "status", "account_id"),
    )

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("batch_requests.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(36))
    tile_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(100))
    epsg: Mapped[int] = mapped_column(Integer)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    width_px: Mapped[int] = mapped_column(Integer)
    height_px: Mapped[int] = mapped_column(Integer)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)  # footprint in WGS84, GeoJSON

    status: Mapped[str] = mapped_column(String(12), default="PENDING")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)  # PU before the batch discount
    charged_pu: Mapped[float] = mapped_column(MicroPU, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    no_data: Mapped[bool] = mapped_column(Boolean, default=False)
    scene_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evaluation: Mapped[str | None] = mapped_column(String(200), nullable=True)  # compiled | v8: <reason>
    scene_ids: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)  # scenes the tile was made from
    bytes_written: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    outputs: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    estimated_pu: Mapped[float | None] = mapped_column(Float, nullable=True)

    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(nullable=True)


class TileEvent(Base):
    """Every tile status transition, with its time."""

    __tablename__ = "tile_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    tile_pk: Mapped[int] = mapped_column(ForeignKey("tiles.pk", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class LedgerEntry(Base):
    """One movement of processing units.

    kinds: GRANT and TOPUP add to available; RESERVE moves available -> reserved; CHARGE consumes
    (from reserved, and from available for any part beyond the reservation); RELEASE moves the rest
    of a reservation back to available.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    tile_pk: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kind: Mapped[str] = mapped_column(String(10))
    available_delta: Mapped[float] = mapped_column(MicroPU, default=0.0)
    reserved_delta: Mapped[float] = mapped_column(MicroPU, default=0.0)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class SchedulerLease(Base):
    """Live schedulers. With SQLite a single row named 'singleton' guards against a second one."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires: Mapped[datetime] = mapped_column()
    started: Mapped[datetime] = mapped_column(default=utcnow)


class RequestEvent(Base):
    """One thing that happened to a request, in commit order (`id`): a status change, a tile transition
    or a change of its PU. Written by `store.events` in the same transaction as the change itself, so
    that any process (API server, scheduler) can stream them."""

    __tablename__ = "request_events"
    __table_args__ = (Index("ix_request_events_request_id", "request_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(36))
    account_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))  # status | tile | pu
    at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Webhook(Base):
    """A request's webhook (an eobatch extension): where its events are POSTed, signed with `secret`,
    and how far delivery has got."""

    __tablename__ = "webhooks"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(256))
    delivered_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class BatchCollectionRow(Base):
    """A v1 batch collection of an account; `bands` lists `domain.batch_collections.CollectionBand` as JSON."""

    __tablename__ = "batch_collections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    s3_bucket: Mapped[str] = mapped_column(String(255))
    bands: Mapped[list[Any]] = mapped_column(JSON)
    tiling_grid_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class BatchCollectionTile(Base):
    """A processed tile registered in a batch collection: its files, footprint, CRS and time range."""

    __tablename__ = "batch_collection_tiles"
    __table_args__ = (UniqueConstraint("collection_id", "request_id", "tile_id", name="uq_collection_tiles"),)

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("batch_collections.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[str] = mapped_column(String(36))
    tile_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(100))
    epsg: Mapped[int] = mapped_column(Integer)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    footprint: Mapped[dict[str, Any]] = mapped_column(JSON)  # WGS84 GeoJSON
    time_from: Mapped[datetime] = mapped_column()
    time_to: Mapped[datetime] = mapped_column()
    assets: Mapped[dict[str, Any]] = mapped_column(JSON)  # band -> href
    created: Mapped[datetime] = mapped_column(default=utcnow)


class BatchCollectionUse(Base):
    """A request that writes into (`output`) or reads (`input`) a batch collection."""

    __tablename__ = "batch_collection_uses"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("batch_collections.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(10), primary_key=True)
