"""The per-collection report of the corpus end-to-end test, printed in pytest's terminal summary."""

from __future__ import annotations

from collections import defaultdict

import pytest

from eobatch.collections import ensure_demo_archive
from eobatch.collections.demo.archive import LEVELS
from eobatch.settings import Settings

# collection label -> {script name: "ran" or the reason it did not}
RESULTS: dict[str, dict[str, str]] = defaultdict(dict)


def pytest_terminal_summary(terminalreporter) -> None:
    if not RESULTS:
        return
    terminalreporter.section("evalscript corpus through the API, per demo collection")
    for label in sorted(RESULTS):
        runs = RESULTS[label]
        ran = sum(1 for outcome in runs.values() if outcome == "ran")
        terminalreporter.write_line(f"{label}: {ran} of {len(runs)} scripts ran end to end")
        for name, outcome in sorted(runs.items()):
            if outcome != "ran":
                terminalreporter.write_line(f"    {name}: {outcome}")


@pytest.fixture(scope="session")
def all_demo_levels(tmp_path_factory) -> Settings:
    """Settings whose archive holds the demo levels these tests use (S2 L2A, S1 GRD, Landsat L1/L2, DEM),
    generated once. S2 L1C is left out to save time: the S2 inputs of fusion scripts use L2A."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus"), workers=2, poll_interval_s=0.05)
    ensure_demo_archive(settings, tuple(level for level in LEVELS if level != "sentinel-2-l1c"))
    return settings
