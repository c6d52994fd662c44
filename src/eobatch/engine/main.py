"""Building a scheduler from settings: what `eobatch serve` embeds and `eobatch scheduler` runs alone."""

from __future__ import annotations

from eobatch.engine.execution import DEFAULT_TASK, TaskRef
from eobatch.engine.executor_factory import make_executor
from eobatch.engine.scheduler import Scheduler
from eobatch.settings import Settings
from eobatch.store.db import Database


def build_scheduler(settings: Settings, database: Database | None = None, *, task: TaskRef = DEFAULT_TASK) -> Scheduler:
    """A scheduler on `settings.executor`, against `database` (default: the settings' database, migrated)."""
    if database is None:
        database = Database(settings.resolved_database_url())
        database.migrate()
    return Scheduler(settings, database, make_executor(settings, task=task))


def run_scheduler(settings: Settings) -> None:
    """Run a scheduler alone until SIGTERM/SIGINT (`eobatch scheduler`)."""
    from eobatch.observability.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    build_scheduler(settings).run_forever()
