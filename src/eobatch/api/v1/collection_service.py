"""What the v1 batch collection routes do, one method per operation, each one unit of work of the store
(`Database.run`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eobatch.api.pagination import PageParams
from eobatch.api.v1.collection_wire import parse_collection_body
from eobatch.domain.batch_collections import BatchCollection
from eobatch.errors import BadRequest, Violation
from eobatch.settings import Settings
from eobatch.storage.tenancy import Tenant, acting_for, check_destination
from eobatch.store import accounts
from eobatch.store import batch_collections as store
from eobatch.store.db import Database
from eobatch.store.requests import Slice


@dataclass
class CollectionService:
    settings: Settings
    database: Database

    def _check_bucket(self, account_id: str, bucket: str) -> None:
        """BadRequest unless the account may use the bucket (the same policy as output locations)."""
        own = tuple(self.database.run(accounts.get_account, account_id).allowed_buckets or ())
        allowed = list(own) or list(self.settings.allowed_buckets)
        with acting_for(Tenant(account_id, own), self.settings):
            try:
                check_destination(f"s3://{bucket}/", allowed)
            except BadRequest as exc:
                raise BadRequest(exc.message, [Violation("s3Bucket", exc.message)]) from exc

    def create(self, account_id: str, body: Any) -> BatchCollection:
        parsed = parse_collection_body(body, creating=True)
        self._check_bucket(account_id, parsed.s3_bucket or "")
        return self.database.run(
            store.create_collection,
            account_id,
            parsed.name or "",
            parsed.s3_bucket or "",
            tiling_grid_id=parsed.tiling_grid_id,
        )

    def get(self, account_id: str, collection_id: str) -> BatchCollection:
        return self.database.run(store.get_collection, account_id, collection_id)

    def list(self, account_id: str, params: PageParams, search: str | None) -> Slice:
        return self.database.run(
            store.list_collections, account_id, offset=params.offset, limit=params.limit, search=search
        )

    def update(self, account_id: str, collection_id: str, body: Any) -> BatchCollection:
        parsed = parse_collection_body(body, creating=False)
        if parsed.s3_bucket is not None:
            self._check_bucket(account_id, parsed.s3_bucket)
        return self.database.run(
            store.update_collection, account_id, collection_id, name=parsed.name, s3_bucket=parsed.s3_bucket
        )

    def delete(self, account_id: str, collection_id: str) -> None:
        self.database.run(store.delete_collection, account_id, collection_id)
