"""The processing-unit ledger: every movement of PU is an entry; account sums move in the same transaction.

Callers pass an open session; these functions never commit, so a movement lands together with the
state change it belongs to (or not at all).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eobatch.errors import InsufficientUnits, NotFound
from eobatch.store.models import Account, BatchRequest, LedgerEntry

EPSILON = 1e-9


@dataclass(frozen=True)
class Balance:
    available: float
    reserved: float
    spent: float


def _account(session: Session, account_id: str) -> Account:
    account = session.execute(select(Account).where(Account.id == account_id).with_for_update()).scalar_one_or_none()
    if account is None:
        raise NotFound(f"Account {account_id} not found")
    return account


def _entry(
    session: Session,
    account: Account,
    kind: str,
    available: float,
    reserved: float,
    *,
    request_id: str | None = None,
    tile_pk: int | None = None,
    note: str | None = None,
) -> None:
    account.available_pu += available
    account.reserved_pu += reserved
    session.add(
        LedgerEntry(
            account_id=account.id,
            request_id=request_id,
            tile_pk=tile_pk,
            kind=kind,
            available_delta=available,
            reserved_delta=reserved,
            note=note,
        )
    )


def grant(session: Session, account_id: str, amount: float, *, kind: str = "GRANT", note: str | None = None) -> None:
    """Add PU to an account (GRANT for new accounts, TOPUP by an operator)."""
    if amount <= 0:
        raise ValueError("a grant must be positive")
    _entry(session, _account(session, account_id), kind, amount, 0.0, note=note)


def reserve(session: Session, request: BatchRequest, amount: float) -> None:
    """Hold `amount` PU for a request; InsufficientUnits when the account cannot cover it."""
    account = _account(session, request.account_id)
    if amount > account.available_pu + EPSILON:
        raise InsufficientUnits(
            f"Not enough processing units: the request needs {amount:.2f} PU reserved, "
            f"the account has {account.available_pu:.2f} PU available"
        )
    _entry(session, account, "RESERVE", -amount, amount, request_id=request.id)
    request.reserved_pu += amount


def charge(session: Session, request: BatchRequest, amount: float, *, tile_pk: int | None = None) -> None:
    """Consume `amount` PU for processed work, first from the request's reservation, then from available."""
    if amount <= 0:
        return
    account = _account(session, request.account_id)
    from_reserved = min(amount, max(request.reserved_pu, 0.0))
    _entry(
        session, account, "CHARGE", -(amount - from_reserved), -from_reserved, request_id=request.id, tile_pk=tile_pk
    )
    request.reserved_pu -= from_reserved
    request.charged_pu += amount


def can_cover(session: Session, request: BatchRequest, amount: float) -> bool:
    """Whether `amount` fits in what is left of the request's reservation plus the account's available PU.

    The engine's out-of-PU rule: a processed tile whose charge does not fit is still charged in full
    (the work is delivered), and the request is stopped with OUT_OF_PU. Other requests' reservations
    are theirs and never count here.
    """
    account = _account(session, request.account_id)
    return amount <= max(request.reserved_pu, 0.0) + account.available_pu + EPSILON


def release(session: Session, request: BatchRequest) -> float:
    """Return what is left of a request's reservation to the account; returns the amount."""
    rest = request.reserved_pu
    if rest <= EPSILON:
        request.reserved_pu = 0.0
        return 0.0
    _entry(session, _account(session, request.account_id), "RELEASE", rest, -rest, request_id=request.id)
    request.reserved_pu = 0.0
    return rest


def balance(session: Session, account_id: str) -> Balance:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Account {account_id} not found")
    spent = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.available_delta + LedgerEntry.reserved_delta), 0.0)).where(
            LedgerEntry.account_id == account_id, LedgerEntry.kind == "CHARGE"
        )
    ).scalar_one()
    return Balance(available=account.available_pu, reserved=account.reserved_pu, spent=-float(spent))


def discrepancies(session: Session, tolerance: float = 1e-6) -> list[str]:
    """Every way the ledger and the running sums disagree; empty when all reconcile."""
    problems: list[str] = []
    sums = dict(
        (row[0], (row[1], row[2]))
        for row in session.execute(
            select(
                LedgerEntry.account_id, func.sum(LedgerEntry.available_delta), func.sum(LedgerEntry.reserved_delta)
            ).group_by(LedgerEntry.account_id)
        )
    )
    for account in session.execute(select(Account)).scalars():
        available, reserved = sums.get(account.id, (0.0, 0.0))
        if abs(account.available_pu - (available or 0.0)) > tolerance:
            problems.append(f"account {account.id}: available {account.available_pu} != ledger {available}")
        if abs(account.reserved_pu - (reserved or 0.0)) > tolerance:
            problems.append(f"account {account.id}: reserved {account.reserved_pu} != ledger {reserved}")
        if account.reserved_pu < -tolerance:
            problems.append(f"account {account.id}: negative reservation {account.reserved_pu}")
    for request in session.execute(select(BatchRequest)).scalars():
        held = session.execute(
            select(func.coalesce(func.sum(LedgerEntry.reserved_delta), 0.0)).where(LedgerEntry.request_id == request.id)
        ).scalar_one()
        if abs(request.reserved_pu - float(held)) > tolerance:
            problems.append(f"request {request.id}: reserved {request.reserved_pu} != ledger {held}")
    return problems
