"""Tenancy of stored data: where an account may write, and read with the service's own credentials.

Policy (docs/operations.md, "Tenancy"):
- an account with its own bucket list (`Account.allowed_buckets`, set by the operator) uses exactly
  those buckets;
- otherwise a bucket belongs to the first account that uses it with the service's credentials: the
  claim is a small object `.eobatch-tenant` at the bucket's root holding the account id, written at
  the first create that names the bucket. Other accounts are refused that bucket, so no account can
  overwrite another's outputs or read its inputs through the service, with no configuration at all;
- `EOBATCH_ALLOWED_BUCKETS` restricts every account to those buckets (each still claimed by one);
- `EOBATCH_TENANCY=shared` turns claims off (a single-tenant deployment).
A request that brings its own S3 credentials is judged by the storage itself, not by claims (with an
S3 endpoint; local bucket folders have no keys, so claims always apply there).
Refusals say only that the bucket is not available to this account, never whether an object exists.

`check_destination` is the one check every output location and service-read input goes through; the
account comes from `acting_for(...)` around request intake.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eobatch.errors import BadRequest, EobatchError, NotFound, Violation
from eobatch.settings import Settings
from eobatch.storage.paths import split_s3_url

CLAIM_KEY = ".eobatch-tenant"


@dataclass(frozen=True)
class Tenant:
    """The account a request is made for, and the buckets the operator gave it (empty: none)."""

    account_id: str
    buckets: tuple[str, ...] = ()


_ACTING: contextvars.ContextVar[tuple[Tenant, Settings] | None] = contextvars.ContextVar("eobatch_tenant", default=None)


_OWN_KEYS: contextvars.ContextVar[bool] = contextvars.ContextVar("eobatch_own_keys", default=False)


@contextmanager
def own_credentials(given: bool) -> Iterator[None]:
    """Within this block, locations are used with the request's own S3 keys when `given`."""
    token = _OWN_KEYS.set(bool(given))
    try:
        yield
    finally:
        _OWN_KEYS.reset(token)


@contextmanager
def acting_for(tenant: Tenant, settings: Settings) -> Iterator[None]:
    """Within this block, `check_destination` applies `tenant`'s namespace (request intake)."""
    token = _ACTING.set((tenant, settings))
    try:
        yield
    finally:
        _ACTING.reset(token)


def _refuse(url: str, allowed: Iterable[str] = ()) -> BadRequest:
    bucket, _ = split_s3_url(url)
    listed = sorted(set(allowed))
    hint = f"; allowed buckets: {', '.join(listed)}" if listed else ""
    message = f"Bucket {bucket!r} ({url}) is not available to this account{hint}"
    return BadRequest(message, [Violation("output", message)])


def check_destination(url: str, allowed_buckets: Iterable[str] = (), *, own_credentials: bool = False) -> None:
    """BadRequest unless the acting account may use `url`.

    `allowed_buckets`: the account's (or the deployment's) bucket list; empty means any bucket, subject
    to claims when an account is acting (`acting_for`). `own_credentials`: the request brings its own
    S3 keys for this location, so only the bucket list applies.
    """
    bucket, _ = split_s3_url(url)
    allowed = sorted(set(allowed_buckets))
    if allowed and bucket not in allowed:
        raise _refuse(url, allowed)
    acting = _ACTING.get()
    if acting is None:
        return
    tenant, settings = acting
    if tenant.buckets or settings.tenancy == "shared":
        return  # operator-assigned buckets are the account's own; shared: no claims
    if (own_credentials or _OWN_KEYS.get()) and settings.s3_endpoint:
        return  # the storage judges the request's own keys (local folders have no keys to judge)
    if claim_bucket(settings, bucket, tenant.account_id) != tenant.account_id:
        raise _refuse(url)


def claim_bucket(settings: Settings, bucket: str, account_id: str) -> str:
    """The account that owns `bucket`; claims it for `account_id` when nobody has."""
    from eobatch.storage.objects import ObjectStorage

    storage = ObjectStorage(settings)
    url = f"s3://{bucket}/{CLAIM_KEY}"
    try:
        return _owner(storage.get(url))
    except NotFound:
        pass
    except EobatchError as exc:
        raise BadRequest(f"Bucket {bucket!r} cannot be used: {exc.message}") from exc
    storage.put_if_absent(url, account_id.encode())
    return _owner(storage.get(url))  # whoever won a race


def _owner(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").strip()
