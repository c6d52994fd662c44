"""Shared helpers of the engine tests: schedulers on real executors, waiting, invariant checks."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import select

from eobatch.domain.states import TILES_IN_FLIGHT, RequestStatus, TileStatus
from eobatch.engine import LocalExecutor, RetryPolicy, Scheduler, spec_task
from eobatch.settings import Settings
from eobatch.store import ledger
from eobatch.store.db import Database
from eobatch.store.models import BatchRequest, LedgerEntry, Tile, TileEvent
from tests.engine.tasks import tile_task


def local_scheduler(
    settings: Settings, database: Database, *, workers: int = 2, lease_s: float = 5.0, backoff_s: float = 0.05, **kwargs
) -> Scheduler:
    return Scheduler(
        settings,
        database,
        LocalExecutor(workers, task=tile_task),
        task_builder=spec_task,
        lease_s=lease_s,
        retry=RetryPolicy(settings.max_tile_attempts, backoff_s=backoff_s),
        **kwargs,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def request_row(database: Database, request_id: str) -> BatchRequest:
    with database.session() as s:
        return s.get(BatchRequest, request_id)


def tile_statuses(database: Database, request_id: str) -> Counter:
    with database.session() as s:
        return Counter(s.execute(select(Tile.status).where(Tile.request_id == request_id)).scalars())


def processed_events(database: Database, request_id: str) -> Counter:
    """How many PROCESSED transitions each tile of the request went through."""
    with database.session() as s:
        rows = s.execute(
            select(Tile.name)
            .join(TileEvent, TileEvent.tile_pk == Tile.pk)
            .where(Tile.request_id == request_id, TileEvent.status == TileStatus.PROCESSED.value)
        ).scalars()
        return Counter(rows)


def tile_charges(database: Database, request_id: str) -> Counter:
    """How many CHARGE ledger entries each tile got."""
    with database.session() as s:
        return Counter(
            s.execute(
                select(LedgerEntry.tile_pk).where(
                    LedgerEntry.request_id == request_id, LedgerEntry.kind == "CHARGE", LedgerEntry.tile_pk.is_not(None)
                )
            ).scalars()
        )


def check_invariants(database: Database) -> None:
    """The ledger reconciles, and every request's status agrees with its tiles."""
    with database.session() as s:
        assert ledger.discrepancies(s) == []
        for request in s.execute(select(BatchRequest)).scalars():
            statuses = Counter(s.execute(select(Tile.status).where(Tile.request_id == request.id)).scalars())
            in_flight = sum(statuses[t.value] for t in TILES_IN_FLIGHT)
            status = RequestStatus(request.status)
            if status in (
                RequestStatus.DONE,
                RequestStatus.PARTIAL,
                RequestStatus.FAILED,
                RequestStatus.CANCELED,
                RequestStatus.STOPPED,
            ):
                assert in_flight == 0, f"{request.id} is {status} with {in_flight} tiles in flight"
                assert abs(request.reserved_pu) < 1e-9, f"{request.id} is {status} and still holds PU"
            if status is RequestStatus.DONE:
                assert set(statuses) <= {TileStatus.PROCESSED.value}, statuses
            if status is RequestStatus.PARTIAL:
                assert statuses[TileStatus.PROCESSED.value] and statuses[TileStatus.FAILED.value], statuses
            charged = s.execute(
                select(Tile.charged_pu).where(Tile.request_id == request.id, Tile.status == TileStatus.PROCESSED.value)
            ).scalars()
            assert request.charged_pu >= sum(charged) - 1e-9
