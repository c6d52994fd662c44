"""What the v1 routes do, one method per operation, each one unit of work of the store (`Database.run`:
neither the routers nor the services hold a session or a row; they get read models)."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from eobatch.api import collection_intake
from eobatch.api.intake import IntakeContext, Locations
from eobatch.api.pagination import PageParams
from eobatch.api.v1.intake import output_part, parse_v1
from eobatch.domain.plan import BatchPlan
from eobatch.domain.records import RequestRecord, TileRecord
from eobatch.domain.states import UserAction
from eobatch.errors import BadRequest, Violation
from eobatch.settings import Settings
from eobatch.storage.tenancy import Tenant, acting_for
from eobatch.store import api_units, requests
from eobatch.store.actions import act_on_request
from eobatch.store.db import Database
from eobatch.webhooks.spec import split_webhook


@dataclass
class BatchService:
    settings: Settings
    database: Database
    api_version: str = "v1"

    def context(self, account_id: str) -> IntakeContext:
        """What intake needs to know of the account (read in a short transaction of its own)."""
        facts = self.database.run(api_units.intake_facts, account_id)
        extra = collection_intake.input_collections(facts.collections, self.settings)
        return IntakeContext(self.settings, facts.buckets, extra_collections=extra)

    def create(self, account_id: str, body: Any) -> RequestRecord:
        body, webhook = split_webhook(body)  # the eobatch `webhook` extension field (docs/events.md)
        context = self.context(account_id)
        with acting_for(Tenant(account_id, context.allowed_buckets), self.settings):
            intake = parse_v1(body, context)  # collection registry, grids: outside a transaction
        intake = collection_intake.bind_inputs(intake, context.extra_collections)
        return self.database.run(
            api_units.create_request, account_id, intake, attach=collection_intake.attach_collection, webhook=webhook
        )

    def get(self, account_id: str, request_id: str) -> RequestRecord:
        return self.database.run(requests.get_request, account_id, request_id)

    def list(self, account_id: str, params: PageParams, *, search: str | None, sort: str | None) -> requests.Slice:
        return self.database.run(
            requests.list_requests, account_id, offset=params.offset, limit=params.limit, search=search, sort=sort
        )

    def update(self, account_id: str, request_id: str, body: Any) -> RequestRecord:
        if not isinstance(body, dict):
            raise BadRequest(
                "Request body must be a JSON object with output and/or description",
                [Violation("body", "must be an object")],
            )
        output, description = body.get("output"), body.get("description")
        if output is not None and not isinstance(output, dict):
            raise BadRequest("output must be an object", [Violation("output", "must be an object")])
        if description is not None and not isinstance(description, str):
            raise BadRequest("description must be a string", [Violation("description", "must be a string")])
        context = self.context(account_id)

        def replan(row: RequestRecord, merged: dict[str, Any]) -> tuple[BatchPlan, Any]:
            with acting_for(Tenant(account_id, context.allowed_buckets), self.settings):
                return self._replan(row, merged, context)

        return self.database.run(
            requests.update_request, account_id, request_id, output=output, description=description, replan=replan
        )

    @staticmethod
    def _replan(row: RequestRecord, merged: dict[str, Any], context: IntakeContext) -> tuple[BatchPlan, Any]:
        """The request's plan with the outputs of a merged v1 `output` (no I/O: paths and buckets only),
        and the key pairs to store with it.

        A v2 task keeps writing with the key pair it was created with (KEEP_CREDENTIALS)."""
        locations = Locations()
        part = output_part(merged, row.bucket_name, copy.deepcopy(row.process_request), locations)
        locations.check(context.buckets)
        plan = BatchPlan.from_json(row.plan_json)
        credentials = part.credentials
        if row.api_version == "v2":
            credentials = requests.KEEP_CREDENTIALS
            ref = plan.delivery.credentials
            part = dataclasses.replace(
                part,
                outputs=tuple(
                    o.model_copy(update={"destination": o.destination.model_copy(update={"credentials": ref})})
                    for o in part.outputs
                ),
                delivery=part.delivery.model_copy(update={"credentials": ref}),
            )
        new = plan.model_copy(
            update={"outputs": part.outputs, "delivery": part.delivery, "write": part.write, "cog": part.cog}
        )
        return new, credentials

    def delete(self, account_id: str, request_id: str) -> None:
        self.database.run(requests.delete_request, account_id, request_id)

    def act(self, account_id: str, request_id: str, action: UserAction) -> None:
        """Apply a user action with the request row locked (SELECT ... FOR UPDATE)."""
        self.database.run(act_on_request, account_id, request_id, action, api=self.api_version)

    def tiles(self, account_id: str, request_id: str, params: PageParams, status: str | None) -> requests.Slice:
        return self.database.run(
            api_units.request_tiles, account_id, request_id, offset=params.offset, limit=params.limit, status=status
        )

    def tile(self, account_id: str, request_id: str, tile_id: int) -> TileRecord:
        return self.database.run(api_units.request_tile, account_id, request_id, tile_id)

    def account_summary(self, account_id: str) -> dict[str, Any]:
        summary = self.database.run(api_units.account_summary, account_id)
        account, balance = summary.account, summary.balance
        return {
            "id": account.id,
            "name": account.name,
            "created": account.created.isoformat().replace("+00:00", "Z"),
            "balance": {"available": balance.available, "reserved": balance.reserved, "spent": balance.spent},
            "reservations": [{"requestId": rid, "reservedPU": pu} for rid, pu in summary.reservations],
            "allowedBuckets": account.allowed_buckets or [],
        }
