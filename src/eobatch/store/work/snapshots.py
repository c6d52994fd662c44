"""A request row as the engine reads it: its typed plan and key pairs, detached from the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from eobatch.domain.plan import BatchPlan, Credentials
from eobatch.store.models import BatchRequest


@dataclass(frozen=True)
class RequestSnapshot:
    """What an analysis or a tile task needs from a request row, detached from the database: its typed
    plan and the key pairs the plan refers to."""

    id: str
    account_id: str
    plan: BatchPlan | None  # None only for a row stored before plans that migration 0007 could not convert
    user_action: str
    api_version: str = "v1"
    credentials: dict[str, Credentials] = field(default_factory=dict)  # by plan reference
    stored_output: dict[str, Any] | None = None  # the wire `output` as echoed; read by test task functions only

    @property
    def is_v2(self) -> bool:
        return self.api_version == "v2"


def snapshot(r: BatchRequest) -> RequestSnapshot:
    return RequestSnapshot(
        r.id,
        r.account_id,
        BatchPlan.from_json(r.plan) if r.plan else None,
        r.user_action,
        r.api_version or "v1",
        stored_credentials(r.delivery_credentials),
        r.output,
    )


def stored_credentials(stored: dict[str, Any] | None) -> dict[str, Credentials]:
    """The `delivery_credentials` column (delivery keys at the top level, the GeoPackage's under
    "features") as key pairs by plan reference; entries without both keys are left out."""
    stored = stored or {}
    parts = {"delivery": {k: v for k, v in stored.items() if k != "features"}, "features": stored.get("features")}
    return {
        ref: Credentials(access_key=part["accessKey"], secret_key=part["secretAccessKey"], region=part.get("region"))
        for ref, part in parts.items()
        if part and part.get("accessKey") and part.get("secretAccessKey")
    }


def load_request(session: Session, request_id: str) -> RequestSnapshot | None:
    row = session.get(BatchRequest, request_id)
    return None if row is None else snapshot(row)
