"""The per-tile memory estimate follows the block-wise pipeline (processing/memory.py): the largest tiles
the grids allow fit a worker, and what cannot fit the configured worker memory is refused at analysis,
with the estimate and the setting named."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eobatch.api import create_app
from eobatch.engine import LocalExecutor, Scheduler
from eobatch.engine.execution import noop
from eobatch.errors import BadRequest
from eobatch.processing.memory import TileFootprint, block_rows, check_tile_memory, tile_memory_bytes
from eobatch.settings import Settings
from eobatch.store.db import Database
from tests.api.conftest import new_caller

REPO = Path(__file__).resolve().parents[2]
FOUR_BANDS = """//VERSION=3
function setup() { return {input: ["B02", "B03", "B04", "B08"], output: {bands: 4, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B02, s.B03, s.B04, s.B08]; }
"""


def test_the_estimate_grows_with_pixels_bands_and_samples():
    tile = TileFootprint(1000, 1000, input_bands=5, samples=1, output_bands=4)
    bigger = tile_memory_bytes(TileFootprint(2000, 2000, 5, 1, 4))
    assert tile_memory_bytes(tile) < bigger
    assert tile_memory_bytes(tile) < tile_memory_bytes(TileFootprint(1000, 1000, 5, 3, 4))
    assert tile_memory_bytes(tile) < tile_memory_bytes(TileFootprint(1000, 1000, 5, 1, 13))


def test_blocks_bound_the_estimate_of_the_largest_tiles_and_what_cannot_fit_is_a_bad_request():
    one_degree = TileFootprint(10_000, 10_000, input_bands=5, samples=1, output_bands=4)  # WGS84 1° at 0.0001°
    assert block_rows(one_degree) < 10_000
    assert tile_memory_bytes(one_degree) < 1536 * 2**20
    assert tile_memory_bytes(TileFootprint(3336, 3336, 14, 1, 13)) < 1536 * 2**20  # 100 km at 30 m, 13 bands
    check_tile_memory(one_degree, 4096)
    check_tile_memory(one_degree, 1536)
    # even the thinnest block of a wide tile with many samples cannot fit
    many_samples = TileFootprint(10_000, 10_000, input_bands=14, samples=400, output_bands=13)
    refused = r"10000 x 10000 px .* 400 sample\(s\).*16 rows at a time.*EOBATCH_WORKER_MEMORY_MB"
    with pytest.raises(BadRequest, match=refused):
        check_tile_memory(many_samples, 4096)
    with pytest.raises(BadRequest, match=r"more than the 800 MiB"):
        check_tile_memory(TileFootprint(1000, 1000, 5, 1, 4), 800)
    check_tile_memory(many_samples, 0)


def _analysed(client: TestClient, headers: dict, database: Database, settings: Settings, resolution: float) -> dict:
    """Create and analyse a request over one grid-3 tile; the scheduler runs with `settings`."""
    body = {
        "processRequest": {
            "input": {
                "bounds": {"bbox": [14.50, 45.80, 14.60, 45.90]},
                "data": [
                    {
                        "type": "sentinel-2-l1c",
                        "dataFilter": {"timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-07-31T23:59:59Z"}},
                    }
                ],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": FOUR_BANDS,
        },
        "tilingGrid": {"id": 3, "resolution": resolution},
        "output": {"defaultTilePath": "s3://out/<requestId>/<tileName>.<format>"},
    }
    created = client.post("/api/v1/batch/process", json=body, headers=headers)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert client.post(f"/api/v1/batch/process/{request_id}/analyse", headers=headers).status_code < 300
    scheduler = Scheduler(settings, database, LocalExecutor(1, task=noop), lease_s=30.0)
    try:
        scheduler.run_until_idle(120)
    finally:
        scheduler.stop()
    return client.get(f"/api/v1/batch/process/{request_id}", headers=headers).json()


def test_analysis_accepts_a_one_degree_tile_at_0_0001_degrees_and_refuses_it_with_too_little_memory(tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path,
        workers=1,
        poll_interval_s=0.01,
        collections_file=REPO / "examples" / "collections-real.yaml",
    )
    assert settings.worker_memory_mb == 4096  # the default
    database = Database(settings.resolved_database_url())
    database.migrate()
    try:
        with TestClient(create_app(settings, database)) as client:
            headers = new_caller(client, database, settings, "memory").headers
            accepted = _analysed(client, headers, database, settings, 0.0001)
            assert accepted["status"] == "ANALYSIS_DONE", accepted.get("error")
            assert (accepted["tileCount"], accepted["tileWidthPx"]) == (1, 10000)
            small = settings.model_copy(update={"worker_memory_mb": 800})
            refused = _analysed(client, headers, database, small, 0.0001)
            assert refused["status"] == "FAILED"
            assert "10000 x 10000 px" in refused["error"] and "800 MiB" in refused["error"]
            assert "EOBATCH_WORKER_MEMORY_MB" in refused["error"]
    finally:
        database.dispose()
