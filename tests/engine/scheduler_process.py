"""A scheduler in its own process, for tests that SIGKILL it: python -m tests.engine.scheduler_process URL DIR LEASE."""

from __future__ import annotations

import sys
from pathlib import Path

from eobatch.settings import Settings
from eobatch.store.db import Database
from tests.engine.helpers import local_scheduler


def main(url: str, data_dir: str, lease_s: str) -> None:
    settings = Settings(
        data_dir=Path(data_dir),
        workers=2,
        poll_interval_s=0.01,
        cleanup_failed_after_s=0,
        cleanup_unstarted_after_s=0,
        cleanup_finished_after_s=0,
    )
    local_scheduler(settings, Database(url), lease_s=float(lease_s)).run_forever()


if __name__ == "__main__":
    main(*sys.argv[1:4])
