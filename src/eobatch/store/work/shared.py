"""What the engine's repository modules share: the transaction, in-flight statuses, the halting rule,
the request row lock."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.orm import Session, defer

from eobatch.domain.states import TILES_IN_FLIGHT, StoppedReason, UserAction
from eobatch.store.db import Database
from eobatch.store.models import BatchRequest, Tile, TileEvent

IN_FLIGHT = tuple(s.value for s in TILES_IN_FLIGHT)
HALTING_ACTIONS = (UserAction.CANCEL.value, UserAction.STOP.value)
OUT_OF_PU = StoppedReason.OUT_OF_PU.value


def halting():
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


def lock_request_row(session: Session, request_id: str) -> BatchRequest | None:
    """The request row, locked and fresh, without its documents (they load if read)."""
    return session.get(
        BatchRequest,
        request_id,
        with_for_update=True,
        populate_existing=True,
        options=[defer(column) for column in _DOCUMENTS],
    )


def delete_tiles(session: Session, request_ids: Sequence[str]) -> None:
    pks = select(Tile.pk).where(Tile.request_id.in_(request_ids))
    session.execute(delete(TileEvent).where(TileEvent.tile_pk.in_(pks)))
    session.execute(delete(Tile).where(Tile.request_id.in_(request_ids)))
