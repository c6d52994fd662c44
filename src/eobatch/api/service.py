"""What the v1 routes do, one method per operation, each in one transaction (routers hold no sessions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eobatch.api.pagination import PageParams
from eobatch.domain.spec import parse_v1
from eobatch.domain.states import UserAction
from eobatch.errors import BadRequest, Violation
from eobatch.settings import Settings
from eobatch.storage.tenancy import Tenant, acting_for
from eobatch.store import accounts, ledger, requests, webhooks
from eobatch.store.actions import apply_action
from eobatch.store.db import Database
from eobatch.store.models import BatchRequest, Tile
from eobatch.webhooks.spec import split_webhook


@dataclass
class BatchService:
    settings: Settings
    database: Database
    api_version: str = "v1"

    def create(self, account_id: str, body: Any) -> BatchRequest:
        body, webhook = split_webhook(body)  # the eobatch `webhook` extension field (docs/events.md)
        with self.database.session() as session:
            account = accounts.get_account(session, account_id)
            with acting_for(Tenant(account_id, tuple(account.allowed_buckets or ())), self.settings):
                spec = parse_v1(body, self.settings, allowed_buckets=account.allowed_buckets or ())
            row = requests.create_request(session, account_id, spec)
            if webhook is not None:
                webhooks.register(session, row.id, account_id, webhook.url, webhook.secret)
            return row

    def get(self, account_id: str, request_id: str) -> BatchRequest:
        with self.database.session() as session:
            return requests.get_request(session, account_id, request_id)

    def list(self, account_id: str, params: PageParams, *, search: str | None, sort: str | None) -> requests.Slice:
        with self.database.session() as session:
            return requests.list_requests(
                session, account_id, offset=params.offset, limit=params.limit, search=search, sort=sort
            )

    def update(self, account_id: str, request_id: str, body: Any) -> BatchRequest:
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
        with self.database.session() as session:
            row = requests.get_request(session, account_id, request_id, lock=True)
            requests.check_editable(row)
            if output:
                merged = {**(row.output or {}), **output}
                from eobatch.domain.spec import parse_output, parse_responses

                account = accounts.get_account(session, account_id)
                ids, formats = parse_responses(dict(row.process_request))
                with acting_for(Tenant(account_id, tuple(account.allowed_buckets or ())), self.settings):
                    parse_output(
                        {"output": merged, "bucketName": row.bucket_name},
                        ids,
                        formats,
                        self.settings,
                        account.allowed_buckets or (),
                    )
            return requests.update_request(session, row, output=output, description=description)

    def delete(self, account_id: str, request_id: str) -> None:
        with self.database.session() as session:
            row = requests.get_request(session, account_id, request_id, lock=True)
            requests.delete_request(session, row)

    def act(self, account_id: str, request_id: str, action: UserAction) -> None:
        """Apply a user action with the request row locked (SELECT ... FOR UPDATE)."""
        with self.database.session() as session:
            row = requests.get_request(session, account_id, request_id, lock=True)
            apply_action(session, row, action, api=self.api_version)

    def tiles(self, account_id: str, request_id: str, params: PageParams, status: str | None) -> requests.Slice:
        with self.database.session() as session:
            requests.get_request(session, account_id, request_id)
            return requests.list_tiles(session, request_id, offset=params.offset, limit=params.limit, status=status)

    def tile(self, account_id: str, request_id: str, tile_id: int) -> Tile:
        with self.database.session() as session:
            requests.get_request(session, account_id, request_id)
            return requests.get_tile(session, request_id, tile_id)

    def account_summary(self, account_id: str) -> dict[str, Any]:
        with self.database.session() as session:
            account = accounts.get_account(session, account_id)
            balance = ledger.balance(session, account_id)
            held = requests.reservations(session, account_id)
            return {
                "id": account.id,
                "name": account.name,
                "created": account.created.isoformat().replace("+00:00", "Z"),
                "balance": {"available": balance.available, "reserved": balance.reserved, "spent": balance.spent},
                "reservations": [{"requestId": rid, "reservedPU": pu} for rid, pu in held],
                "allowedBuckets": account.allowed_buckets or [],
            }
