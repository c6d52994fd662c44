"""Fixtures shared by every test package: databases on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eobatch.settings import Settings
from eobatch.store.db import Database
from tests.support.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'eobatch.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults inside a temporary data folder."""
    return Settings(data_dir=tmp_path / "data", workers=2)


def pytest_configure(config: pytest.Config) -> None:
    """Every test runs with the lifecycle's invariant checks on (domain.states validate mode)."""
    from eobatch.domain.states import VALIDATION

    VALIDATION.enabled = True
