"""Database connection: one `Database` per process, built from a URL; schema via Alembic migrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from eobatch.store.events import record_events

P = ParamSpec("P")
T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"
# what a database that cannot be reached raises (connection refused or lost, pool exhausted, SQLite locked)
OUTAGES: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine with settings that suit the backend (WAL and a busy timeout on SQLite)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class Database:
    """Engine plus session factory; `session()` is a unit of work that commits or rolls back."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", record_events)  # request events, see store/events.py

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to `revision` (the newest migration by default)."""
        self._alembic(command.upgrade, revision)

    def downgrade(self, revision: str) -> None:
        """Take the schema back down to `revision` (tests of a migration start from the one before it)."""
        self._alembic(command.downgrade, revision)

    def _alembic(self, step: Callable[[Config, str], None], revision: str) -> None:
        """Run an Alembic command on one connection. On SQLite foreign keys are off meanwhile: a migration
        that changes a column rebuilds the table (copy, DROP, rename), and with them on the DROP would
        delete every row referencing it (tiles, events, requests) through ON DELETE CASCADE. The keys
        are checked before the migration commits; a dangling one rolls it back."""
        config = alembic_config(self.url)
        with self.engine.connect() as connection:
            if self.is_sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
                connection.commit()
            try:
                with connection.begin():
                    config.attributes["connection"] = connection
                    step(config, revision)
                    if self.is_sqlite:
                        dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if dangling:
                            raise RuntimeError(f"migration to {revision} left dangling foreign keys: {dangling[:5]}")
            finally:
                if self.is_sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(session, *args, **kwargs)` in one unit of work (committed, or rolled back when it raises):
        how the API calls a store function without holding a session itself."""
        with self.session() as session:
            return work(session, *args, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()
