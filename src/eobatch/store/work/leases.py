"""Scheduler leases: who runs, and on SQLite that only one does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from eobatch.errors import Conflict
from eobatch.store.models import SchedulerLease

SQLITE_LEASE = "singleton"


def acquire_scheduler_lease(
    session: Session,
    owner: str,
    now: datetime,
    ttl_s: float,
    *,
    singleton: bool,
    owner_is_dead: Callable[[str], bool] = lambda _: False,
) -> None:
    """Register a live scheduler. With `singleton` (SQLite) a live lease of another owner is a Conflict,
    unless `owner_is_dead(other)` says its process is gone (then the lease is taken over at once)."""
    name = SQLITE_LEASE if singleton else owner
    row = session.get(SchedulerLease, name, with_for_update=True)
    expires = now + timedelta(seconds=ttl_s)
    if row is None:
        session.add(SchedulerLease(name=name, owner=owner, expires=expires, started=now))
        return
    if singleton and row.owner != owner and row.expires > now and not owner_is_dead(row.owner):
        raise Conflict(
            f"Another scheduler ({row.owner}) is running against this SQLite database (its lease runs "
            f"until {row.expires.isoformat()}); with SQLite only one scheduler may run. Stop the other "
            "one, wait for its lease to expire, or use PostgreSQL (EOBATCH_DATABASE_URL) to run several."
        )
    row.owner, row.expires, row.started = owner, expires, now


def renew_scheduler_lease(session: Session, owner: str, now: datetime, ttl_s: float, *, singleton: bool) -> bool:
    """Push the lease deadline; False when the lease was lost to another scheduler."""
    name = SQLITE_LEASE if singleton else owner
    result = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.owner == owner)
        .values(expires=now + timedelta(seconds=ttl_s))
    )
    return result.rowcount == 1


def drop_scheduler_lease(session: Session, owner: str) -> None:
    session.execute(delete(SchedulerLease).where(SchedulerLease.owner == owner))
