"""The analysis-time evalscript check evaluates a real sample of the request's data (a small window of its
first tile, through the tile pipeline, in the confined analysis worker): a script that fails only on real
values, or reads a band its scenes lack, fails at analysis with the error, its line and the window's
place; where no scene is found, the check falls back to synthetic samples. Real API, scheduler, worker
pool and Sentinel-2 sample scenes."""

from __future__ import annotations

import copy

import pytest

from eobatch.api import create_app
from eobatch.client import Credentials, EobatchClient
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database
from tests.api.helpers import live_server
from tests.api.test_events import REAL_COLLECTIONS, request_body

SHARED_DATA = (REAL_COLLECTIONS.parent / ".." / ".." / "shared" / "data").resolve()
# The real Sentinel-2 scenes, with one more band in the collection than their items have assets for.
COLLECTIONS = f"""collections:
  sentinel-2-l1c:
    preset: sentinel-2-l1c
    source: {{kind: static, href: "{SHARED_DATA}/s2-l1c-real/collection.json"}}
    harmonize: none
    bands:
      CLM: {{asset_keys: [CLM], resolution: 20, nodata: 255, unit: DN}}
"""
# Real L1C reflectances are whole multiples of 1e-4; the synthetic samples' values are not.
THROWS_ON_REAL_VALUES = """//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) {
  var dn = s.B04 * 10000;
  if (Math.abs(dn - Math.round(dn)) < 0.001) { throw new Error("a quantized value: " + dn); }
  return [s.B04];
}
"""
READS_A_MISSING_BAND = """//VERSION=3
function setup() { return {input: ["B04", "CLM"], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.CLM ? 0 : s.B04]; }
"""
NO_SCENES = {"timeRange": {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"}}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    (folder / "collections.yaml").write_text(COLLECTIONS)
    settings = Settings(data_dir=folder / "data", collections_file=folder / "collections.yaml", workers=1,
                        max_concurrent_analyses=1, poll_interval_s=0.05, events_poll_interval_s=0.05)  # fmt: skip
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.session() as session:
        _, client_id, secret = create_account(session, "sample-user", settings)
    with live_server(create_app(settings, database, run_scheduler=True)) as base:
        client = EobatchClient(base, Credentials(client_id, secret))
        yield client
        client.close()
    database.dispose()


def _analysed(client: EobatchClient, evalscript: str, data_filter: dict | None = None) -> dict:
    body = request_body(None)
    body["processRequest"]["evalscript"] = evalscript
    if data_filter is not None:
        body["processRequest"]["input"]["data"][0]["dataFilter"] = copy.deepcopy(data_filter)
    created = client.create(body)
    client.action(created["id"], "analyse")
    return client.wait_events(created["id"], until=("ANALYSIS_DONE", "FAILED"), timeout=300)


def test_a_script_that_throws_on_real_values_fails_at_analysis_with_its_line_and_the_window(client):
    found = _analysed(client, THROWS_ON_REAL_VALUES)
    assert found["status"] == "FAILED"
    error = found["error"]
    assert "a quantized value" in error and "line 5" in error, error
    assert "found on the request's data: the 6 x 6 px window at x=" in error and "(EPSG:32633) of tile" in error


def test_without_scenes_the_same_script_passes_on_synthetic_samples(client):
    found = _analysed(client, THROWS_ON_REAL_VALUES, NO_SCENES)
    assert found["status"] == "ANALYSIS_DONE", found.get("error")


def test_a_band_the_scenes_lack_fails_at_analysis(client):
    found = _analysed(client, READS_A_MISSING_BAND)
    assert found["status"] == "FAILED"
    assert "has no asset for band CLM" in found["error"] and "window at x=" in found["error"], found["error"]
