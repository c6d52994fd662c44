"""Counts for monitoring, read at scrape time: tiles and requests by status, analyses running, PU charged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from eobatch.domain.states import RequestStatus
from eobatch.store.models import BatchRequest, Tile


@dataclass(frozen=True)
class Gauges:
    tiles_by_status: dict[str, int]
    requests_by_status: dict[str, int]
    analyses_running: int
    pu_charged: float


def read_gauges(session: Session, now: datetime) -> Gauges:
    tiles = {s: n for s, n in session.execute(select(Tile.status, func.count()).group_by(Tile.status))}
    requests = {
        s: n for s, n in session.execute(select(BatchRequest.status, func.count()).group_by(BatchRequest.status))
    }
    analysing = session.execute(
        select(func.count())
        .select_from(BatchRequest)
        .where(BatchRequest.status == RequestStatus.ANALYSING.value, BatchRequest.lease_expires > now)
    ).scalar_one()
    charged = session.execute(select(func.coalesce(func.sum(BatchRequest.charged_pu), 0.0))).scalar_one()
    return Gauges(tiles, requests, int(analysing), float(charged))


def ping(session: Session) -> None:
    """A round trip to the database (raises when it cannot be reached)."""
    session.execute(text("SELECT 1")).scalar_one()
