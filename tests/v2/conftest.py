"""v2 fixtures: an app on SQLite (fast; the store's PostgreSQL behaviour is tested by its owners)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database


@pytest.fixture
def v2_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=1)


@pytest.fixture
def v2_database(v2_settings: Settings) -> Iterator[Database]:
    v2_settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(v2_settings.resolved_database_url())
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def v2_client(v2_settings: Settings, v2_database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(v2_settings, v2_database)) as client:
        yield client


@pytest.fixture
def headers(v2_client: TestClient, v2_database: Database, v2_settings: Settings) -> dict[str, str]:
    with v2_database.session() as session:
        _account, client_id, secret = create_account(session, "v2-user", v2_settings)
    token = v2_client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
