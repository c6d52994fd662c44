"""Repository of per-request webhooks: register, claim those with events to deliver, record progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from eobatch.store.models import RequestEvent, Webhook


@dataclass(frozen=True)
class DueWebhook:
    request_id: str
    url: str
    secret: str
    delivered_event_id: int
    attempts: int


def register(session: Session, request_id: str, account_id: str, url: str, secret: str) -> None:
    session.add(Webhook(request_id=request_id, account_id=account_id, url=url, secret=secret, delivered_event_id=0))


def claim_due(session: Session, now: datetime, lease_s: float, limit: int = 20) -> list[DueWebhook]:
    """Webhooks with undelivered events, not waiting for a retry and not leased; leased to the caller."""
    pending = exists().where(
        RequestEvent.request_id == Webhook.request_id, RequestEvent.id > Webhook.delivered_event_id
    )
    rows = (
        session.execute(
            select(Webhook)
            .where(
                pending,
                or_(Webhook.next_attempt_at.is_(None), Webhook.next_attempt_at <= now),
                or_(Webhook.lease_until.is_(None), Webhook.lease_until <= now),
            )
            .limit(limit)
        )
        .scalars()
        .all()
    )
    claimed = []
    for row in rows:
        taken = session.execute(
            update(Webhook)
            .where(Webhook.request_id == row.request_id, or_(Webhook.lease_until.is_(None), Webhook.lease_until <= now))
            .values(lease_until=now + timedelta(seconds=lease_s))
        ).rowcount
        if taken:
            claimed.append(DueWebhook(row.request_id, row.url, row.secret, row.delivered_event_id, row.attempts))
    return claimed


def delivered(session: Session, request_id: str, event_id: int) -> None:
    session.execute(
        update(Webhook)
        .where(Webhook.request_id == request_id)
        .values(delivered_event_id=event_id, attempts=0, next_attempt_at=None, last_error=None)
    )


def failed(session: Session, request_id: str, attempts: int, retry_at: datetime | None, error: str) -> None:
    session.execute(
        update(Webhook)
        .where(Webhook.request_id == request_id)
        .values(attempts=attempts, next_attempt_at=retry_at, last_error=error[:2000])
    )


def release(session: Session, request_id: str) -> None:
    session.execute(update(Webhook).where(Webhook.request_id == request_id).values(lease_until=None))
