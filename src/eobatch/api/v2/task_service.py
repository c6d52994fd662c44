"""What the v2 routes do, each one unit of work of the store (`Database.run`), on the same tables and
state machine as v1."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eobatch.api import collection_intake
from eobatch.api.intake import FetchFeatures, IntakeContext
from eobatch.api.pagination import PageParams
from eobatch.api.v2.intake import parse_v2
from eobatch.domain.records import RequestRecord
from eobatch.domain.states import RequestStatus, StoppedReason, UserAction
from eobatch.errors import BadRequest, Conflict, InsufficientUnits, Violation
from eobatch.settings import Settings
from eobatch.storage.tenancy import Tenant, acting_for
from eobatch.store import api_units, requests
from eobatch.store.actions import act_on_request
from eobatch.store.db import Database

MIN_PU_TO_CREATE = 1000.0  # "creating a v2 task requires the account to hold at least 1000 PU"


@dataclass(frozen=True)
class TaskView:
    """A stored request and how many of its tiles have finished (for completionPercentage)."""

    task: RequestRecord
    finished_tiles: int


@dataclass
class TaskService:
    settings: Settings
    database: Database
    fetch_features: FetchFeatures | None = None
    max_features: int | None = None
    restart_wait_s: float = 0.0  # Sentinel Hub refuses a restart for 30 min after a user STOP
    min_pu_to_create: float = MIN_PU_TO_CREATE

    def create(self, account_id: str, body: Any) -> TaskView:
        facts = self.database.run(api_units.intake_facts, account_id, with_balance=True)
        self._check_balance(facts.available_pu or 0.0)
        buckets = facts.buckets
        extra = collection_intake.input_collections(facts.collections, self.settings)
        context = IntakeContext(
            self.settings,
            buckets,
            fetch_features=self.fetch_features,
            max_features=self.max_features,
            extra_collections=extra,
        )
        with acting_for(Tenant(account_id, buckets), self.settings):
            intake = parse_v2(body, context)  # reads the GeoPackage: outside any transaction
        intake = collection_intake.bind_inputs(intake, extra)
        created = self.database.run(
            api_units.create_request,
            account_id,
            intake,
            api_version="v2",
            attach=collection_intake.attach_collection,
            check_balance=self._check_balance,
        )
        return TaskView(created, 0)

    def _check_balance(self, available: float) -> None:
        """InsufficientUnits below the PU a v2 create needs (`available`: the account's available PU)."""
        if available < self.min_pu_to_create:
            raise InsufficientUnits(
                f"Creating a batch v2 task needs at least {self.min_pu_to_create:g} PU "
                f"available; the account has {available:g}"
            )

    def get(self, account_id: str, task_id: str) -> TaskView:
        return TaskView(*self.database.run(api_units.get_with_progress, account_id, task_id))

    def list(self, account_id: str, params: PageParams, *, search: str | None, sort: str | None) -> requests.Slice:
        found = self.database.run(
            api_units.list_with_progress,
            account_id,
            offset=params.offset,
            limit=params.limit,
            search=search,
            sort=_sort(sort),
        )
        return requests.Slice([TaskView(*pair) for pair in found.items], found.has_more)

    def update(self, account_id: str, task_id: str, body: Any) -> TaskView:
        if not isinstance(body, dict):
            raise BadRequest(
                'Request body must be a JSON object {"description": "..."}', [Violation("body", "must be an object")]
            )
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise BadRequest("description must be a string", [Violation("description", "must be a string")])

        def check(row: RequestRecord) -> None:
            if RequestStatus(row.status) is RequestStatus.PROCESSING:
                raise Conflict(f"Batch task {task_id} cannot be updated while it is PROCESSING")

        return TaskView(
            *self.database.run(api_units.describe_with_progress, account_id, task_id, description, check=check)
        )

    def act(self, account_id: str, task_id: str, action: UserAction) -> None:
        check = self._check_restart_wait if action is UserAction.START else None
        self.database.run(act_on_request, account_id, task_id, action, api="v2", check=check)

    def _check_restart_wait(self, row: RequestRecord) -> None:
        if self.restart_wait_s <= 0 or RequestStatus(row.status) is not RequestStatus.STOPPED:
            return
        if row.stopped_reason not in (None, StoppedReason.USER_ACTION.value) or row.user_action_updated is None:
            return
        ready = row.user_action_updated + timedelta(seconds=self.restart_wait_s)
        if datetime.now(UTC) < ready:
            raise BadRequest(
                f"Batch task {row.id} was stopped by the user; it can be started again after "
                f"{ready.isoformat()} ({self.restart_wait_s:g} s after the stop)"
            )


def _sort(sort: str | None) -> str | None:
    return sort.strip() if sort else sort
