"""Accounts and their OAuth2 clients. Client secrets are stored only as argon2 hashes."""

from __future__ import annotations

import secrets
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from eobatch.domain.records import AccountRecord
from eobatch.errors import BadRequest, NotFound, Unauthorized
from eobatch.settings import Settings
from eobatch.store import ledger
from eobatch.store.models import Account, Client
from eobatch.store.records import account_record

# OWASP's recommended argon2id floor (19 MiB, 2 passes): client secrets are 256-bit random tokens, so a
# heavier hash would only slow every token request (about 19 ms here instead of 104 ms with the defaults).
# Hashes made with other parameters still verify: argon2 stores them in the hash.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def create_account(
    session: Session, name: str, settings: Settings, *, allowed_buckets: list[str] | None = None
) -> tuple[AccountRecord, str, str]:
    """A new account granted `settings.initial_pu_grant` PU (a GRANT ledger entry), with one OAuth client.

    Returns (account, client_id, client_secret); the secret is shown only here.
    """
    initial_pu = settings.initial_pu_grant
    name = (name or "").strip()
    if not name:
        raise BadRequest("An account needs a non-empty name")
    if session.execute(select(Account.id).where(Account.name == name)).first() is not None:
        raise BadRequest(f"An account named {name!r} already exists; choose another name")
    account = Account(id=str(uuid.uuid4()), name=name, allowed_buckets=allowed_buckets)
    session.add(account)
    session.flush()
    if initial_pu > 0:
        ledger.grant(session, account.id, initial_pu, note="initial grant")
    client_id, secret = add_client(session, account.id)
    return account_record(account), client_id, secret


def add_client(session: Session, account_id: str) -> tuple[str, str]:
    """Another client-credentials pair for an existing account; returns (client_id, client_secret)."""
    if session.get(Account, account_id) is None:
        raise NotFound(f"Account {account_id} not found")
    client_id = str(uuid.uuid4())
    secret = secrets.token_urlsafe(32)
    session.add(Client(client_id=client_id, account_id=account_id, secret_hash=_HASHER.hash(secret)))
    session.flush()
    return client_id, secret


_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(32))


def verify_client(session: Session, client_id: str, client_secret: str) -> AccountRecord:
    """The account owning these client credentials; Unauthorized when either is wrong.

    An unknown client id costs the same hash verification as a known one with a wrong secret, so the
    answer's timing does not tell which client ids exist."""
    client = session.get(Client, client_id) if client_id else None
    try:
        _HASHER.verify(client.secret_hash if client is not None else _DUMMY_HASH, client_secret or "-")
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthorized("Invalid client credentials") from exc
    if client is None or not client_secret:
        raise Unauthorized("Invalid client credentials")
    account = session.get(Account, client.account_id)
    if account is None:
        raise Unauthorized("Invalid client credentials")
    return account_record(account)


def client_is_active(session: Session, client_id: str, account_id: str) -> bool:
    """Whether the client still exists for that account (tokens of a deleted client stop working)."""
    client = session.get(Client, client_id) if client_id else None
    return client is not None and client.account_id == account_id


def delete_client(session: Session, client_id: str) -> None:
    """Delete an OAuth client; its tokens are refused from the next request on. NotFound if unknown."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"Client {client_id} not found")
    session.delete(client)
    session.flush()


def get_account(session: Session, account_id: str) -> AccountRecord:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Account {account_id} not found")
    return account_record(account)


def find_account(session: Session, name: str) -> AccountRecord | None:
    account = session.execute(select(Account).where(Account.name == name)).scalar_one_or_none()
    return None if account is None else account_record(account)


def list_accounts(session: Session) -> list[AccountRecord]:
    """Every account, oldest first."""
    return [account_record(a) for a in session.execute(select(Account).order_by(Account.created)).scalars()]
