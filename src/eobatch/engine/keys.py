"""A request's plan and the key pairs its destinations and sources refer to, as the engine uses them."""

from __future__ import annotations

from eobatch.domain.plan import BatchPlan
from eobatch.errors import BadRequest
from eobatch.storage import S3Credentials
from eobatch.store.work import RequestSnapshot


def plan_of(request: RequestSnapshot) -> BatchPlan:
    """The request's plan; BadRequest (the request fails with it) for a row stored without one."""
    if request.plan is None:
        raise BadRequest(
            f"Batch request {request.id} was stored before typed plans and its stored body could not be "
            "converted (see the log of migration 0007); create it again"
        )
    return request.plan


def storage_keys(request: RequestSnapshot, ref: str | None) -> S3Credentials | None:
    """The key pair a plan reference names, for `storage.ObjectStorage`; None: the service's own keys."""
    keys = request.credentials.get(ref) if ref else None
    return S3Credentials(keys.access_key, keys.secret_key, keys.region) if keys else None
