"""Read-only queries for the dashboard: tiles by status for many requests, and a request's tiles."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eobatch.domain.records import TileRecord
from eobatch.store.models import Tile
from eobatch.store.records import tile_record


def tile_counts(session: Session, request_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """{request id: {tile status: count}} for the given requests (absent: no tiles)."""
    if not request_ids:
        return {}
    rows = session.execute(
        select(Tile.request_id, Tile.status, func.count())
        .where(Tile.request_id.in_(list(request_ids)))
        .group_by(Tile.request_id, Tile.status)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for request_id, status, count in rows:
        counts.setdefault(request_id, {})[status] = int(count)
    return counts


def request_tiles(session: Session, request_id: str, limit: int = 20_000) -> list[TileRecord]:
    """A request's tiles in grid-id order (at most `limit`: the map draws no more)."""
    rows = session.execute(select(Tile).where(Tile.request_id == request_id).order_by(Tile.tile_id).limit(limit))
    return [tile_record(t) for t in rows.scalars()]
