"""Storage fixtures: one real SeaweedFS per session, settings for local buckets and for S3."""

from __future__ import annotations

import pytest

from eobatch.settings import Settings
from tests.support.seaweed import start_seaweed


@pytest.fixture(scope="session")
def seaweed():
    weed = start_seaweed()
    yield weed
    weed.stop()


@pytest.fixture
def local_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def s3_settings(seaweed, tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        s3_endpoint=seaweed.endpoint,
        s3_access_key=seaweed.access_key,
        s3_secret_key=seaweed.secret_key,
    )
