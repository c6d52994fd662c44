"""Repository of batch collections: the account's collections, their registered tiles and the requests
that use them. Hands out `domain.batch_collections` views, never rows. Callers pass an open session;
nothing here commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from eobatch.domain.batch_collections import BatchCollection, CollectionBand, CollectionTile, CollectionUse
from eobatch.domain.states import FINAL_STATUSES, RequestStatus
from eobatch.errors import BadRequest, Conflict, NotFound, Violation
from eobatch.store.models import BatchCollectionRow, BatchCollectionTile, BatchCollectionUse, BatchRequest, utcnow
from eobatch.store.requests import Slice

SETTLED = frozenset(s.value for s in FINAL_STATUSES) | {RequestStatus.STOPPED.value}


def _view(row: BatchCollectionRow, tile_count: int) -> BatchCollection:
    return BatchCollection(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        s3_bucket=row.s3_bucket,
        bands=tuple(CollectionBand.from_json(b) for b in row.bands or []),
        created=row.created,
        tiling_grid_id=row.tiling_grid_id,
        tile_count=tile_count,
    )


def _tile_count(session: Session, collection_id: str) -> int:
    return session.execute(
        select(func.count()).select_from(BatchCollectionTile).where(BatchCollectionTile.collection_id == collection_id)
    ).scalar_one()


def _row(session: Session, account_id: str, collection_id: str, *, lock: bool = False) -> BatchCollectionRow:
    query = select(BatchCollectionRow).where(
        BatchCollectionRow.id == collection_id, BatchCollectionRow.account_id == account_id
    )
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Batch collection {collection_id} not found")
    return row


def create_collection(
    session: Session,
    account_id: str,
    name: str,
    s3_bucket: str,
    *,
    bands: Sequence[CollectionBand] = (),
    tiling_grid_id: int | None = None,
) -> BatchCollection:
    row = BatchCollectionRow(
        id=str(uuid.uuid4()),
        account_id=account_id,
        name=name,
        s3_bucket=s3_bucket,
        bands=[b.to_json() for b in bands],
        tiling_grid_id=tiling_grid_id,
        created=utcnow(),
    )
    session.add(row)
    session.flush()
    return _view(row, 0)


def get_collection(session: Session, account_id: str, collection_id: str) -> BatchCollection:
    """The account's collection; NotFound also for another account's id."""
    row = _row(session, account_id, collection_id)
    return _view(row, _tile_count(session, row.id))


def list_collections(session: Session, account_id: str, *, offset: int, limit: int, search: str | None = None) -> Slice:
    """A page of the account's collections, oldest first; `search` words (| or, & and) match id or name."""
    query = select(BatchCollectionRow).where(BatchCollectionRow.account_id == account_id)
    clause = _search(search) if search and search.strip() else None
    if clause is not None:
        query = query.where(clause)
    rows = (
        session.execute(
            query.order_by(BatchCollectionRow.created, BatchCollectionRow.id).offset(offset).limit(limit + 1)
        )
        .scalars()
        .all()
    )
    counts = _tile_counts(session, [r.id for r in rows[:limit]])
    return Slice([_view(r, counts.get(r.id, 0)) for r in rows[:limit]], len(rows) > limit)


def _tile_counts(session: Session, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(BatchCollectionTile.collection_id, func.count())
        .where(BatchCollectionTile.collection_id.in_(ids))
        .group_by(BatchCollectionTile.collection_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def _search(search: str):
    from sqlalchemy import and_

    if len(search) > 1000:
        message = "search is longer than 1000 characters"
        raise BadRequest(message, [Violation("search", message)])
    groups = []
    for group in search.split("|"):
        words = [w.strip().lower() for w in group.split("&") if w.strip()]
        if words:
            groups.append(and_(*(_word(w) for w in words)))
    return or_(*groups) if groups else None


def _word(word: str):
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        func.lower(BatchCollectionRow.id).like(pattern, escape="\\"),
        func.lower(BatchCollectionRow.name).like(pattern, escape="\\"),
    )


def update_collection(
    session: Session, account_id: str, collection_id: str, *, name: str | None = None, s3_bucket: str | None = None
) -> BatchCollection:
    """Rename it; a new s3Bucket only while it holds no tile (Conflict otherwise)."""
    row = _row(session, account_id, collection_id, lock=True)
    count = _tile_count(session, row.id)
    if s3_bucket is not None and s3_bucket != row.s3_bucket:
        if count:
            raise Conflict(
                f"Batch collection {collection_id} holds {count} tile(s) in bucket {row.s3_bucket}; "
                "its s3Bucket cannot change"
            )
        row.s3_bucket = s3_bucket
    if name is not None:
        row.name = name
    session.flush()
    return _view(row, count)


def set_bands(session: Session, account_id: str, collection_id: str, bands: Sequence[CollectionBand]) -> None:
    """Give a collection without bands the bands of the first request that writes into it."""
    row = _row(session, account_id, collection_id, lock=True)
    if not row.bands:
        row.bands = [b.to_json() for b in bands]
        session.flush()


def requests_using(session: Session, collection_id: str) -> list[str]:
    """The ids of the unfinished requests that write into or read the collection."""
    rows = session.execute(
        select(BatchRequest.id)
        .join(BatchCollectionUse, BatchCollectionUse.request_id == BatchRequest.id)
        .where(BatchCollectionUse.collection_id == collection_id, BatchRequest.status.not_in(SETTLED))
        .order_by(BatchRequest.id)
    ).all()
    return [r[0] for r in rows]


def delete_collection(session: Session, account_id: str, collection_id: str) -> None:
    """Delete a collection and its tile records (never its files); Conflict while a request uses it."""
    row = _row(session, account_id, collection_id, lock=True)
    users = requests_using(session, row.id)
    if users:
        raise Conflict(
            f"Batch collection {collection_id} is in use by batch request(s) {', '.join(users)}; "
            "wait until they finish or cancel them"
        )
    session.execute(delete(BatchCollectionTile).where(BatchCollectionTile.collection_id == row.id))
    session.execute(delete(BatchCollectionUse).where(BatchCollectionUse.collection_id == row.id))
    session.delete(row)
    session.flush()


def collections_with_bands(session: Session, account_id: str) -> list[BatchCollection]:
    """Every collection of the account that has bands (what a request can read as `batch-<id>`)."""
    found, offset = [], 0
    while True:
        page = list_collections(session, account_id, offset=offset, limit=1000)
        found += [c for c in page.items if c.bands]
        if not page.has_more:
            return found
        offset += len(page.items)


@dataclass(frozen=True)
class AccountCollections:
    """The account's batch collections inside one open transaction: what create-time intake looks up and
    changes (the caller holds the transaction; the session stays in here)."""

    session: Session
    account_id: str

    def get(self, collection_id: str) -> BatchCollection:
        return get_collection(self.session, self.account_id, collection_id)

    def create(
        self, name: str, s3_bucket: str, *, bands: Sequence[CollectionBand], tiling_grid_id: int | None
    ) -> BatchCollection:
        return create_collection(
            self.session, self.account_id, name, s3_bucket, bands=bands, tiling_grid_id=tiling_grid_id
        )

    def set_bands(self, collection_id: str, bands: Sequence[CollectionBand]) -> None:
        set_bands(self.session, self.account_id, collection_id, bands)


def record_uses(session: Session, request_id: str, uses: Iterable[CollectionUse]) -> None:
    """Remember which collections a request writes into or reads (for DELETE's in-use check)."""
    for use in {(u.collection_id, u.role) for u in uses}:
        session.add(BatchCollectionUse(request_id=request_id, collection_id=use[0], role=use[1]))
    session.flush()


def register_tiles(session: Session, collection_id: str, tiles: Iterable[CollectionTile]) -> int:
    """Add tiles to a collection (a tile already registered by the same request is replaced); their count."""
    count = 0
    for tile in tiles:
        session.execute(
            delete(BatchCollectionTile).where(
                BatchCollectionTile.collection_id == collection_id,
                BatchCollectionTile.request_id == tile.request_id,
                BatchCollectionTile.tile_id == tile.tile_id,
            )
        )
        minx, miny, maxx, maxy = tile.bounds
        session.add(
            BatchCollectionTile(
                collection_id=collection_id,
                request_id=tile.request_id,
                tile_id=tile.tile_id,
                name=tile.name,
                epsg=tile.epsg,
                minx=minx,
                miny=miny,
                maxx=maxx,
                maxy=maxy,
                footprint=tile.footprint,
                time_from=tile.time_from,
                time_to=tile.time_to,
                assets=dict(tile.assets),
                created=utcnow(),
            )
        )
        count += 1
    session.flush()
    return count


def collection_tiles(session: Session, collection_id: str) -> list[CollectionTile]:
    """Every tile registered in a collection, oldest first."""
    rows = (
        session.execute(
            select(BatchCollectionTile)
            .where(BatchCollectionTile.collection_id == collection_id)
            .order_by(BatchCollectionTile.pk)
        )
        .scalars()
        .all()
    )
    return [
        CollectionTile(
            request_id=r.request_id,
            tile_id=r.tile_id,
            name=r.name,
            epsg=r.epsg,
            bounds=(r.minx, r.miny, r.maxx, r.maxy),
            footprint=r.footprint,
            time_from=r.time_from,
            time_to=r.time_to,
            assets=dict(r.assets),
        )
        for r in rows
    ]


def output_collection(session: Session, request_id: str) -> str | None:
    """The collection a request writes into, if any."""
    return session.execute(
        select(BatchCollectionUse.collection_id).where(
            BatchCollectionUse.request_id == request_id, BatchCollectionUse.role == "output"
        )
    ).scalar_one_or_none()
