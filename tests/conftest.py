"""Fixtures shared by every test package: databases on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from eobatch.settings import Settings
from eobatch.store.db import Database
from tests.support.postgres import PostgresServer

# Property tests draw the same examples on every run (a red CI is then reproducible and never luck);
# HYPOTHESIS_PROFILE=explore draws fresh ones to search further.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

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
