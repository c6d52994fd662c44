"""Status changes of stored rows, each checked against the lifecycle in `domain.states`: a tile move is
always checked and recorded as a tile event; a request status change is checked in validate mode."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from eobatch.domain.states import RequestStatus, TileStatus, check_request_transition, check_tile_transition
from eobatch.store.models import BatchRequest, Tile, TileEvent


def move_tile(session: Session, tile: Tile, new: TileStatus, now: datetime, note: str | None = None) -> None:
    """Apply one checked transition to a loaded tile and record it."""
    check_tile_transition(TileStatus(tile.status), new)
    tile.status = new.value
    tile.updated = now
    session.add(TileEvent(tile_pk=tile.pk, status=new.value, at=now, note=note))


def set_request_status(request: BatchRequest, new: RequestStatus) -> None:
    """Give a loaded request its new status (checked against the lifecycle in validate mode)."""
    check_request_transition(RequestStatus(request.status), new)
    request.status = new.value
