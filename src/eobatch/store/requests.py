"""Repository of batch requests and their tiles: create, get (per account), list with paging/search/sort,
update, delete, and tile listings. Callers pass an open session; nothing here commits. What leaves this
module is a read model (`domain.records.RequestRecord`, `TileRecord`), never an ORM row."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from eobatch.domain.plan import BatchPlan
from eobatch.domain.records import RequestRecord, TileRecord
from eobatch.domain.states import TILES_FINISHED, RequestStatus, TileStatus
from eobatch.errors import BadRequest, Conflict, NotFound, Violation
from eobatch.store.models import BatchRequest, LedgerEntry, Tile, TileEvent, utcnow
from eobatch.store.records import request_record, tile_record

SORTS = {
    "created": (BatchRequest.created.asc(), BatchRequest.id.asc()),
    "created:asc": (BatchRequest.created.asc(), BatchRequest.id.asc()),
    "created:desc": (BatchRequest.created.desc(), BatchRequest.id.desc()),
    "status": (BatchRequest.status.asc(), BatchRequest.created.asc(), BatchRequest.id.asc()),
    "status:asc": (BatchRequest.status.asc(), BatchRequest.created.asc(), BatchRequest.id.asc()),
    "status:desc": (BatchRequest.status.desc(), BatchRequest.created.desc(), BatchRequest.id.desc()),
}
DEFAULT_SORT = "created:desc"
NOT_EDITABLE = frozenset({RequestStatus.ANALYSING, RequestStatus.PROCESSING})
NOT_DELETABLE = frozenset({RequestStatus.ANALYSING, RequestStatus.PROCESSING})


@dataclass(frozen=True)
class Slice:
    """One page of rows and whether more follow."""

    items: Sequence[Any]
    has_more: bool


class _Keep:
    """The marker of `KEEP_CREDENTIALS`."""


KEEP_CREDENTIALS = _Keep()  # what a replan returns to leave the stored key pairs as they are
Replan = Callable[[RequestRecord, dict[str, Any]], tuple[BatchPlan, Any]]


def create_request(session: Session, account_id: str, intake: Any, *, api_version: str = "v1") -> RequestRecord:
    """Insert a CREATED request from an `api.intake.Intake` (plan, echo, credentials, tile count) and
    return it (flushed, so it has its id)."""
    now = utcnow()
    plan, echo = intake.plan, intake.echo
    grid = plan.grid
    request = BatchRequest(
        id=str(uuid.uuid4()),
        account_id=account_id,
        api_version=api_version,
        created=now,
        last_updated=now,
        status=RequestStatus.CREATED.value,
        user_action="NONE",
        user_action_updated=None,
        description=echo.description,
        body=echo.body,
        process_request=echo.process_request,
        tiling_grid=echo.tiling_grid,
        output=echo.output,
        bucket_name=echo.bucket_name,
        delivery_credentials=intake.credentials,
        plan=plan.to_json(),
        plan_version=plan.version,
        grid_id=grid.grid_id if grid else None,
        resolution=grid.resolution if grid else None,
        buffer_x=grid.buffer_x if grid else 0,
        buffer_y=grid.buffer_y if grid else 0,
        tile_count=intake.tile_count,
        tile_width_px=grid.tile_width_px if grid else None,
        tile_height_px=grid.tile_height_px if grid else None,
        charged_pu=0.0,
        reserved_pu=0.0,
    )
    session.add(request)
    session.flush()
    return request_record(request)


def get_request(session: Session, account_id: str, request_id: str, *, api_version: str | None = None) -> RequestRecord:
    """The account's request; NotFound also for another account's id."""
    return request_record(request_row(session, account_id, request_id, api_version=api_version))


def request_row(
    session: Session, account_id: str, request_id: str, *, lock: bool = False, api_version: str | None = None
) -> BatchRequest:
    """The account's request row (for the store's own changes); NotFound also for another account's id.
    `lock`: SELECT ... FOR UPDATE."""
    query = select(BatchRequest).where(BatchRequest.id == request_id, BatchRequest.account_id == account_id)
    if api_version:
        query = query.where(BatchRequest.api_version == api_version)
    if lock:
        query = query.with_for_update()
        if session.get_bind().dialect.name == "sqlite":
            _take_sqlite_write_lock(session, request_id)
    request = session.execute(query).scalar_one_or_none()
    if request is None:
        raise NotFound(f"Batch request {request_id} not found")
    return request


def _take_sqlite_write_lock(session: Session, request_id: str) -> None:
    """SQLite ignores FOR UPDATE: a no-op write takes the database write lock before the row is read,
    so concurrent actions on one request run one after the other and each sees the other's result."""
    session.execute(
        update(BatchRequest).where(BatchRequest.id == request_id).values(last_updated=BatchRequest.last_updated)
    )


MAX_SEARCH_WORDS = 32
MAX_SEARCH_CHARS = 1000


def search_clause(search: str) -> Any:
    """`a|b` matches either word, `a&b` both; each word is a case-insensitive substring of id or description.

    BadRequest beyond MAX_SEARCH_WORDS words or MAX_SEARCH_CHARS characters."""
    words = [w for w in search.replace("|", "&").split("&") if w.strip()]
    if len(words) > MAX_SEARCH_WORDS or len(search) > MAX_SEARCH_CHARS:
        message = (
            f"search has {len(words)} words and {len(search)} characters; "
            f"at most {MAX_SEARCH_WORDS} words and {MAX_SEARCH_CHARS} characters are allowed"
        )
        raise BadRequest(message, [Violation("search", message)])
    groups = []
    for group in search.split("|"):
        words = [w.strip() for w in group.split("&") if w.strip()]
        if words:
            groups.append(and_(*(_word(w) for w in words)))
    if not groups:
        return None
    return or_(*groups)


def _word(word: str) -> Any:
    pattern = "%" + word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        func.lower(BatchRequest.id).like(pattern, escape="\\"),
        func.lower(func.coalesce(BatchRequest.description, "")).like(pattern, escape="\\"),
    )


def list_requests(
    session: Session,
    account_id: str,
    *,
    offset: int,
    limit: int,
    search: str | None = None,
    sort: str | None = None,
    api_version: str | None = None,
) -> Slice:
    """A page of the account's requests, matching `search`, ordered by `sort`."""
    key = (sort or DEFAULT_SORT).strip()
    if key not in SORTS:
        message = f"sort {sort!r} is not supported; allowed: created, created:desc, status, status:desc"
        raise BadRequest(message, [Violation("sort", message)])
    query = select(BatchRequest).where(BatchRequest.account_id == account_id)
    if api_version:
        query = query.where(BatchRequest.api_version == api_version)
    if search and search.strip():
        clause = search_clause(search)
        if clause is not None:
            query = query.where(clause)
    rows = session.execute(query.order_by(*SORTS[key]).offset(offset).limit(limit + 1)).scalars().all()
    return Slice([request_record(r) for r in rows[:limit]], len(rows) > limit)


def update_request(
    session: Session,
    account_id: str,
    request_id: str,
    *,
    output: dict[str, Any] | None = None,
    description: str | None = None,
    replan: Replan | None = None,
) -> RequestRecord:
    """Change `output` (merged into the stored one) and/or `description` with the request locked;
    Conflict while analysing or processing. A non-empty `output` needs `replan(request, merged output)`
    -> (new plan, key pairs or KEEP_CREDENTIALS), called in this transaction."""
    request = request_row(session, account_id, request_id, lock=True)
    check_editable(request)
    if output:
        if replan is None:
            raise ValueError("changing the output needs a replan")
        merged = {**(request.output or {}), **output}
        plan, credentials = replan(request_record(request), merged)
        request.output = merged
        request.plan, request.plan_version = plan.to_json(), plan.version
        if credentials is not KEEP_CREDENTIALS:
            request.delivery_credentials = credentials
    if description is not None:
        request.description = description
    request.last_updated = utcnow()
    return request_record(request)


def describe_request(
    session: Session,
    account_id: str,
    request_id: str,
    description: str | None,
    *,
    check: Callable[[RequestRecord], None] | None = None,
) -> RequestRecord:
    """Set the description (None keeps it) and mark the request updated, with the request locked;
    `check(request)` may refuse the change first (by raising)."""
    request = request_row(session, account_id, request_id, lock=True)
    if check is not None:
        check(request_record(request))
    if description is not None:
        request.description = description
    request.last_updated = utcnow()
    return request_record(request)


def check_editable(request: BatchRequest) -> None:
    """Conflict while the request is analysing or processing."""
    status = RequestStatus(request.status)
    if status in NOT_EDITABLE:
        raise Conflict(
            f"Batch request {request.id} cannot be updated while its status is {status.value}; "
            "wait until it is finished or cancel it"
        )


def delete_request(session: Session, account_id: str, request_id: str) -> None:
    """Delete a request and its tiles (locked first); Conflict while analysing/processing or once tiles
    were processed."""
    request = request_row(session, account_id, request_id, lock=True)
    status = RequestStatus(request.status)
    if status in NOT_DELETABLE:
        raise Conflict(f"Batch request {request.id} is {status.value}; it must be canceled before deletion")
    processed = session.execute(
        select(func.count())
        .select_from(Tile)
        .where(Tile.request_id == request.id, Tile.status == TileStatus.PROCESSED.value)
    ).scalar_one()
    if processed:
        raise Conflict(f"Batch request {request.id} has {processed} processed tile(s) and cannot be deleted")
    if request.reserved_pu > 0:
        from eobatch.store import ledger

        ledger.release(session, request)
    tile_pks = select(Tile.pk).where(Tile.request_id == request.id)
    session.execute(delete(TileEvent).where(TileEvent.tile_pk.in_(tile_pks)))
    session.execute(delete(Tile).where(Tile.request_id == request.id))
    session.delete(request)
    session.flush()


def list_tiles(session: Session, request_id: str, *, offset: int, limit: int, status: str | None = None) -> Slice:
    """A page of a request's tiles in grid-id order, optionally of one status."""
    query = select(Tile).where(Tile.request_id == request_id)
    if status:
        query = query.where(Tile.status == check_tile_status(status))
    rows = session.execute(query.order_by(Tile.tile_id).offset(offset).limit(limit + 1)).scalars().all()
    return Slice([tile_record(t) for t in rows[:limit]], len(rows) > limit)


def get_tile(session: Session, request_id: str, tile_id: int) -> TileRecord:
    if not -(2**63) <= tile_id < 2**63:  # beyond BIGINT: no such tile (and the database would refuse it)
        raise NotFound(f"Tile {tile_id} of batch request {request_id} not found")
    tile = session.execute(
        select(Tile).where(Tile.request_id == request_id, Tile.tile_id == tile_id)
    ).scalar_one_or_none()
    if tile is None:
        raise NotFound(f"Tile {tile_id} of batch request {request_id} not found")
    return tile_record(tile)


def delivery_credentials(session: Session, account_id: str, request_id: str) -> dict[str, Any] | None:
    """The key pairs the account's request writes with (the `delivery_credentials` column)."""
    return request_row(session, account_id, request_id).delivery_credentials


def check_tile_status(status: str) -> str:
    try:
        return TileStatus(status.upper()).value
    except ValueError:
        allowed = ", ".join(s.value for s in TileStatus)
        message = f"tile status {status!r} is unknown; allowed: {allowed}"
        raise BadRequest(message, [Violation("status", message)]) from None


def reservations(session: Session, account_id: str) -> list[tuple[str, float]]:
    """(request id, PU held) for each of the account's requests holding a reservation."""
    rows = session.execute(
        select(BatchRequest.id, BatchRequest.reserved_pu)
        .where(BatchRequest.account_id == account_id, BatchRequest.reserved_pu > 1e-9)
        .order_by(BatchRequest.created)
    ).all()
    return [(r[0], float(r[1])) for r in rows]


def count_rows(session: Session) -> dict[str, int]:
    """Row counts of the request-related tables (used by tests to prove nothing was written)."""
    return {
        model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (BatchRequest, Tile, LedgerEntry)
    }


def tile_status_counts(session: Session, request_id: str) -> dict[str, int]:
    """{tile status: count} of one request's tiles (statuses without tiles are absent)."""
    rows = session.execute(
        select(Tile.status, func.count()).where(Tile.request_id == request_id).group_by(Tile.status)
    ).all()
    return {status: int(count) for status, count in rows}


def finished_tile_counts(session: Session, request_ids: Sequence[str]) -> dict[str, int]:
    """PROCESSED + FAILED tiles per request (the v2 completionPercentage)."""
    if not request_ids:
        return {}
    rows = session.execute(
        select(Tile.request_id, func.count())
        .where(Tile.request_id.in_(list(request_ids)), Tile.status.in_([s.value for s in TILES_FINISHED]))
        .group_by(Tile.request_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}
