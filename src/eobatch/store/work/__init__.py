"""The engine's repository: every query the scheduler runs, each named for what it does, one module per
job (leases, snapshots, analyses, dispatch, outcomes, settlement, cleanup; shared: what they share).

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

from eobatch.store.work.analyses import (
    TILE_COLUMNS,
    AnalysisResult,
    PlannedTile,
    PlannedTiles,
    analyses_running,
    analyses_waiting,
    claim_analyses,
    finish_analysis,
    heartbeat_analyses,
    recover_analyses,
    release_analysis,
)
from eobatch.store.work.cleanup import CleanupAges, Deletion, delete_stale_requests, results_in_collection
from eobatch.store.work.dispatch import (
    ClaimedTile,
    accounts_with_pending_tiles,
    claim_pending_tiles,
    halted_requests,
    heartbeat_tiles,
    mark_tiles,
    tiles_in_flight_by_account,
)
from eobatch.store.work.leases import SQLITE_LEASE, acquire_scheduler_lease, drop_scheduler_lease, renew_scheduler_lease
from eobatch.store.work.outcomes import TileOutcome, record_outcome, recover_tiles, release_tiles
from eobatch.store.work.settlement import (
    active_requests,
    execution_rows,
    requests_to_settle,
    settle_request,
    stac_tile_rows,
)
from eobatch.store.work.shared import IN_FLIGHT, unit
from eobatch.store.work.snapshots import RequestSnapshot, load_request, stored_credentials

__all__ = [
    "IN_FLIGHT",
    "SQLITE_LEASE",
    "TILE_COLUMNS",
    "AnalysisResult",
    "ClaimedTile",
    "CleanupAges",
    "Deletion",
    "PlannedTile",
    "PlannedTiles",
    "RequestSnapshot",
    "TileOutcome",
    "accounts_with_pending_tiles",
    "acquire_scheduler_lease",
    "active_requests",
    "analyses_running",
    "analyses_waiting",
    "claim_analyses",
    "claim_pending_tiles",
    "delete_stale_requests",
    "drop_scheduler_lease",
    "execution_rows",
    "finish_analysis",
    "halted_requests",
    "heartbeat_analyses",
    "heartbeat_tiles",
    "load_request",
    "mark_tiles",
    "record_outcome",
    "recover_analyses",
    "recover_tiles",
    "release_analysis",
    "release_tiles",
    "renew_scheduler_lease",
    "requests_to_settle",
    "results_in_collection",
    "settle_request",
    "stac_tile_rows",
    "stored_credentials",
    "tiles_in_flight_by_account",
    "unit",
]
