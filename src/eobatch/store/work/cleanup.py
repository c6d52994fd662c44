"""Stale requests deleted after their age; results in a collection are kept, outputs never touched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from eobatch.domain.states import RequestStatus
from eobatch.store import ledger
from eobatch.store.models import BatchRequest
from eobatch.store.work.shared import delete_tiles


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
        delete_tiles(session, ids)
        session.execute(delete(BatchRequest).where(BatchRequest.id.in_(ids)))
    return [Deletion(i, reasons[i]) for i in ids]
