"""API fixtures. Each test module shares one app over one database per backend (SQLite and PostgreSQL),
so that migrations and password hashing run once per module; tests create their own requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database


@dataclass
class Caller:
    account_id: str
    client_id: str
    client_secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_caller(
    client: TestClient, database: Database, settings: Settings, name: str, allowed_buckets: list[str] | None = None
) -> Caller:
    with database.session() as session:
        account, client_id, secret = create_account(session, name, settings, allowed_buckets=allowed_buckets)
        account_id = account.id
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 200, response.text
    return Caller(account_id, client_id, secret, response.json()["access_token"])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One migrated database per test module and backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api-db') / 'eobatch.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory, db: Database) -> Settings:
    """One data folder per database. Accounts here share the bucket `results`, so bucket claims are off
    (`tenancy="shared"`); tenancy by default is tested in tests/faults/test_tenancy.py."""
    return Settings(data_dir=tmp_path_factory.mktemp("api-data"), workers=1, tenancy="shared")


@pytest.fixture(scope="module")
def client(api_settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, db)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def alice(client: TestClient, db: Database, api_settings: Settings) -> Caller:
    return new_caller(client, db, api_settings, "alice")


@pytest.fixture(scope="module")
def bob(client: TestClient, db: Database, api_settings: Settings) -> Caller:
    return new_caller(client, db, api_settings, "bob")
