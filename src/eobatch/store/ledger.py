"""The processing-unit ledger: every movement of PU is an entry; account sums move in the same transaction.

Callers pass an open session; these functions never commit, so a movement lands together with the
state change it belongs to (or not at all). Amounts are given in PU and moved as whole micro-PU
(`domain.cost.to_micro`): every sum is exact, and `discrepancies` compares to the micro-PU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eobatch.domain.cost import from_micro, to_micro
from eobatch.errors import InsufficientUnits, NotFound
from eobatch.store.models import Account, BatchRequest, LedgerEntry, Tile


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


def _add(pu: float, micro: int) -> float:
    """`pu` + `micro` micro-PU, exactly."""
    return from_micro(to_micro(pu or 0.0) + micro)


def _entry(
    session: Session,
    account: Account,
    kind: str,
    available: int,
    reserved: int,
    *,
    request_id: str | None = None,
    tile_pk: int | None = None,
    note: str | None = None,
) -> None:
    """One ledger entry of `available` / `reserved` micro-PU, with the account's running sums."""
    account.available_pu = _add(account.available_pu, available)
    account.reserved_pu = _add(account.reserved_pu, reserved)
    session.add(
        LedgerEntry(
            account_id=account.id,
            request_id=request_id,
            tile_pk=tile_pk,
            kind=kind,
            available_delta=from_micro(available),
            reserved_delta=from_micro(reserved),
            note=note,
        )
    )


def grant(session: Session, account_id: str, amount: float, *, kind: str = "GRANT", note: str | None = None) -> None:
    """Add PU to an account (GRANT for new accounts, TOPUP by an operator)."""
    micro = to_micro(amount)
    if micro <= 0:
        raise ValueError("a grant must be positive")
    _entry(session, _account(session, account_id), kind, micro, 0, note=note)


def reserve(session: Session, request: BatchRequest, amount: float) -> None:
    """Hold `amount` PU for a request; InsufficientUnits when the account cannot cover it."""
    account = _account(session, request.account_id)
    micro = to_micro(amount)
    if micro > to_micro(account.available_pu):
        raise InsufficientUnits(
            f"Not enough processing units: the request needs {amount:.2f} PU reserved, "
            f"the account has {account.available_pu:.2f} PU available"
        )
    _entry(session, account, "RESERVE", -micro, micro, request_id=request.id)
    request.reserved_pu = _add(request.reserved_pu, micro)


def charge(
    session: Session, request: BatchRequest, amount: float, *, tile_pk: int | None = None, note: str | None = None
) -> None:
    """Consume `amount` PU for processed work, first from the request's reservation, then from available.

    Nothing is written for a zero amount, except for a tile (`tile_pk`): its entry records that it was
    charged (once), for nothing when the request minimum already covered it."""
    micro = to_micro(amount)
    if micro < 0 or (micro == 0 and tile_pk is None):
        return
    account = _account(session, request.account_id)
    from_reserved = min(micro, max(to_micro(request.reserved_pu), 0))
    _entry(
        session,
        account,
        "CHARGE",
        -(micro - from_reserved),
        -from_reserved,
        request_id=request.id,
        tile_pk=tile_pk,
        note=note,
    )
    request.reserved_pu = _add(request.reserved_pu, -from_reserved)
    request.charged_pu = _add(request.charged_pu, micro)


def _tiles_charged(session: Session) -> dict[str, int]:
    """By request, the micro-PU its processed tiles were charged on their own (before any request minimum)."""
    return {
        request_id: to_micro(total)
        for request_id, total in session.execute(
            select(Tile.request_id, func.sum(Tile.charged_pu))
            .where(Tile.status == "PROCESSED")
            .group_by(Tile.request_id)
        )
    }


def can_cover(session: Session, request: BatchRequest, amount: float) -> bool:
    """Whether `amount` fits in what is left of the request's reservation plus the account's available PU.

    The engine's out-of-PU rule: a processed tile whose charge does not fit is still charged in full
    (the work is delivered), and the request is stopped with OUT_OF_PU. Other requests' reservations
    are theirs and never count here.
    """
    account = _account(session, request.account_id)
    return to_micro(amount) <= max(to_micro(request.reserved_pu), 0) + to_micro(account.available_pu)


def release(session: Session, request: BatchRequest) -> float:
    """Return what is left of a request's reservation to the account; returns the amount."""
    rest = to_micro(request.reserved_pu or 0.0)
    if rest <= 0:
        request.reserved_pu = 0.0
        return 0.0
    _entry(session, _account(session, request.account_id), "RELEASE", rest, -rest, request_id=request.id)
    request.reserved_pu = 0.0
    return from_micro(rest)


def balance(session: Session, account_id: str) -> Balance:
    """The account's PU: available and reserved (running sums) and spent (all CHARGE entries), exact."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Account {account_id} not found")
    spent = from_micro(_charges(session, LedgerEntry.account_id == account_id))
    return Balance(available=account.available_pu, reserved=account.reserved_pu, spent=spent)


def discrepancies(session: Session) -> list[str]:
    """Every way the ledger and the running sums disagree, to the micro-PU; empty when all reconcile."""
    problems: list[str] = []
    sums = {
        row[0]: (to_micro(row[1] or 0), to_micro(row[2] or 0))
        for row in session.execute(
            select(
                LedgerEntry.account_id, func.sum(LedgerEntry.available_delta), func.sum(LedgerEntry.reserved_delta)
            ).group_by(LedgerEntry.account_id)
        )
    }
    for account in session.execute(select(Account)).scalars():
        available, reserved = sums.get(account.id, (0, 0))
        if to_micro(account.available_pu) != available:
            problems.append(f"account {account.id}: available {account.available_pu} != ledger {from_micro(available)}")
        if to_micro(account.reserved_pu) != reserved:
            problems.append(f"account {account.id}: reserved {account.reserved_pu} != ledger {from_micro(reserved)}")
        if account.reserved_pu < 0:
            problems.append(f"account {account.id}: negative reservation {account.reserved_pu}")
    tiles_charged = _tiles_charged(session)
    for request in session.execute(select(BatchRequest)).scalars():
        if to_micro(request.tiles_charged_pu) != tiles_charged.get(request.id, 0):
            problems.append(
                f"request {request.id}: its tiles' charges sum to {from_micro(tiles_charged.get(request.id, 0))}, "
                f"its running sum says {request.tiles_charged_pu}"
            )
        held = session.execute(
            select(func.coalesce(func.sum(LedgerEntry.reserved_delta), 0)).where(LedgerEntry.request_id == request.id)
        ).scalar_one()
        if to_micro(request.reserved_pu) != to_micro(held):
            problems.append(f"request {request.id}: reserved {request.reserved_pu} != ledger {held}")
        charges = _charges(session, LedgerEntry.request_id == request.id)
        if to_micro(request.charged_pu) != charges:
            problems.append(f"request {request.id}: charged {request.charged_pu} != ledger {from_micro(charges)}")
    return problems


def charge_process(session: Session, account_id: str, amount: float, note: str) -> None:
    """Charge a Process API call: `amount` PU from available (no request, no reservation);
    InsufficientUnits when the account does not have them."""
    micro = to_micro(amount)
    if micro <= 0:
        return
    account = _account(session, account_id)
    if micro > to_micro(account.available_pu):
        raise InsufficientUnits(
            f"Not enough processing units: this Process API request costs {amount:.3f} PU, "
            f"the account has {account.available_pu:.3f} PU available"
        )
    _entry(session, account, "CHARGE", -micro, 0, note=note)


def _charges(session: Session, where: Any) -> int:
    """The micro-PU consumed by the CHARGE entries matching `where`."""
    return -sum(
        to_micro(
            session.execute(
                select(func.coalesce(func.sum(column), 0)).where(where, LedgerEntry.kind == "CHARGE")
            ).scalar_one()
        )
        for column in (LedgerEntry.available_delta, LedgerEntry.reserved_delta)
    )
