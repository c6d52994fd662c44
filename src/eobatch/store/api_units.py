"""The API's units of work that take more than one repository call: each function runs in the one
session `Database.run` gives it, so that what the API reads together is read in one transaction and
what it changes together commits together. What they return are read models (`domain/records.py`,
`domain/batch_collections.py`, `ledger.Balance`), never rows or sessions.

A create checks and writes in one transaction: the caller's `attach` (create-time collection rules) and
`check_balance` (the v2 minimum) run inside it, on store objects bound to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from eobatch.domain.batch_collections import BatchCollection, uses_of
from eobatch.domain.records import AccountRecord, RequestRecord, TileRecord
from eobatch.store import accounts, events, ledger, overview, requests, webhooks
from eobatch.store.batch_collections import AccountCollections, collections_with_bands, record_uses
from eobatch.store.requests import Slice

Attach = Callable[[AccountCollections, Any], Any]


@dataclass(frozen=True)
class IntakeFacts:
    """What create-time intake needs to know of the account, read together."""

    buckets: tuple[str, ...]  # the account's allowed buckets
    collections: list[BatchCollection]  # its batch collections that have bands
    available_pu: float | None  # read only when asked for (the sum of its charges is a query of its own)


@dataclass(frozen=True)
class AccountSummary:
    account: AccountRecord
    balance: ledger.Balance
    reservations: list[tuple[str, float]]  # (request id, PU held)


def intake_facts(session: Session, account_id: str, *, with_balance: bool = False) -> IntakeFacts:
    buckets = tuple(accounts.get_account(session, account_id).allowed_buckets or ())
    available = ledger.balance(session, account_id).available if with_balance else None
    return IntakeFacts(buckets, collections_with_bands(session, account_id), available)


def create_request(
    session: Session,
    account_id: str,
    intake: Any,
    *,
    api_version: str = "v1",
    attach: Attach | None = None,
    check_balance: Callable[[float], None] | None = None,
    webhook: Any = None,
) -> RequestRecord:
    """Store a parsed request (an `api.intake.Intake`) in one transaction: `check_balance(available PU)`
    may refuse it, `attach(collections, intake)` creates or checks its batch collection and returns the
    intake with it; then the row, the collections it uses and its `webhook` (url, secret)."""
    if check_balance is not None:
        check_balance(ledger.balance(session, account_id).available)
    if attach is not None:
        intake = attach(AccountCollections(session, account_id), intake)
    created = requests.create_request(session, account_id, intake, api_version=api_version)
    record_uses(session, created.id, uses_of(intake.plan))
    if webhook is not None:
        webhooks.register(session, created.id, account_id, webhook.url, webhook.secret)
    return created


def account_summary(session: Session, account_id: str) -> AccountSummary:
    account = accounts.get_account(session, account_id)
    return AccountSummary(account, ledger.balance(session, account_id), requests.reservations(session, account_id))


def request_tiles(
    session: Session, account_id: str, request_id: str, *, offset: int, limit: int, status: str | None
) -> Slice:
    """A page of the account's request's tiles (NotFound for another account's request)."""
    requests.get_request(session, account_id, request_id)
    return requests.list_tiles(session, request_id, offset=offset, limit=limit, status=status)


def request_tile(session: Session, account_id: str, request_id: str, tile_id: int) -> TileRecord:
    requests.get_request(session, account_id, request_id)
    return requests.get_tile(session, request_id, tile_id)


def _with_finished(session: Session, found: Sequence[RequestRecord]) -> list[tuple[RequestRecord, int]]:
    counts = requests.finished_tile_counts(session, [r.id for r in found])
    return [(r, counts.get(r.id, 0)) for r in found]


def get_with_progress(session: Session, account_id: str, request_id: str) -> tuple[RequestRecord, int]:
    """The request and its PROCESSED + FAILED tile count."""
    return _with_finished(session, [requests.get_request(session, account_id, request_id)])[0]


def list_with_progress(
    session: Session, account_id: str, *, offset: int, limit: int, search: str | None, sort: str | None
) -> Slice:
    """A page of (request, finished tiles) of the account's requests."""
    found = requests.list_requests(session, account_id, offset=offset, limit=limit, search=search, sort=sort)
    return Slice(_with_finished(session, found.items), found.has_more)


def describe_with_progress(
    session: Session,
    account_id: str,
    request_id: str,
    description: str | None,
    *,
    check: Callable[[RequestRecord], None] | None = None,
) -> tuple[RequestRecord, int]:
    """`requests.describe_request`, then the request's finished tiles, in one transaction."""
    described = requests.describe_request(session, account_id, request_id, description, check=check)
    return _with_finished(session, [described])[0]


def event_snapshot(session: Session, account_id: str, request_id: str) -> tuple[int, RequestRecord, dict[str, int]]:
    """(the newest event id, the request, its tiles by status): the request as it is at that event."""
    cursor = events.latest_id(session)
    return (
        cursor,
        requests.get_request(session, account_id, request_id),
        requests.tile_status_counts(session, request_id),
    )


@dataclass(frozen=True)
class Dashboard:
    """The dashboard's first view: the account, its PU, its newest requests and their tiles by status."""

    account: AccountRecord
    balance: ledger.Balance
    requests: Slice
    tile_counts: dict[str, dict[str, int]]


def dashboard(session: Session, account_id: str, *, limit: int) -> Dashboard:
    found = requests.list_requests(session, account_id, offset=0, limit=limit, sort="created:desc")
    counts = overview.tile_counts(session, [r.id for r in found.items])
    account = accounts.get_account(session, account_id)
    return Dashboard(account, ledger.balance(session, account_id), found, counts)


def dashboard_request(
    session: Session, account_id: str, request_id: str
) -> tuple[RequestRecord, list[TileRecord], dict[str, int]]:
    """The request, its tiles (as many as the map draws) and its tiles by status."""
    record = requests.get_request(session, account_id, request_id)
    tiles = overview.request_tiles(session, request_id)
    return record, tiles, overview.tile_counts(session, [request_id]).get(request_id, {})


def tile_preview(
    session: Session, account_id: str, request_id: str, tile_id: int
) -> tuple[dict[str, Any] | None, TileRecord]:
    """(the key pairs the request writes with, the tile): what reading a tile's output needs."""
    keys = requests.delivery_credentials(session, account_id, request_id)
    return keys, requests.get_tile(session, request_id, tile_id)
