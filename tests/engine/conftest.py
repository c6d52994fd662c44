"""Engine test settings: fast polling, stale-request cleanup off unless a test turns it on."""

from __future__ import annotations

from pathlib import Path

import pytest

from eobatch.settings import Settings


@pytest.fixture
def engine_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        workers=2,
        poll_interval_s=0.01,
        max_tile_attempts=3,
        cleanup_failed_after_s=0,
        cleanup_unstarted_after_s=0,
        cleanup_finished_after_s=0,
    )


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path
