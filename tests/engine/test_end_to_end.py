"""The whole engine with the real parts: grids, evalscript validation, catalog search, process_tile
on the demo archive, in a local process pool, from START on a CREATED request to DONE."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import rasterio
from sqlalchemy import select

from eobatch.api.stored_plans import plan_for_stored
from eobatch.collections import DEMO_BBOX
from eobatch.domain import cost
from eobatch.domain.states import UserAction
from eobatch.engine import LocalExecutor, Scheduler
from eobatch.settings import Settings
from eobatch.store.actions import apply_action
from eobatch.store.models import BatchRequest, Tile
from tests.engine.factory import make_account
from tests.engine.helpers import check_invariants, request_row

NDVI = """//VERSION=3
function setup() { return {input: ["B04", "B08"], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }
"""


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """One data folder (and demo archive, generated on first search) for the module."""
    return tmp_path_factory.mktemp("demo")


def demo_process_request() -> dict:
    """The processRequest of a request over the demo area in May 2024 (without its evalscript)."""
    return {
        "input": {
            "bounds": {"bbox": list(DEMO_BBOX), "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {"timeRange": {"from": "2024-05-01T00:00:00Z", "to": "2024-05-31T00:00:00Z"}},
                }
            ],
        },
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
    }


TEMPLATE_OUTPUT = {"defaultTilePath": "s3://out/<requestId>/<tileName>/<outputId>.<format>"}


def _create(
    database, account: str, evalscript: str, output: dict | None = TEMPLATE_OUTPUT, bucket_name: str | None = None
) -> str:
    request_id = str(uuid.uuid4())
    process_request = {**demo_process_request(), "evalscript": evalscript}
    with database.session() as s:
        request = BatchRequest(
            id=request_id,
            account_id=account,
            status="CREATED",
            body={},
            process_request=process_request,
            grid_id=0,
            resolution=60.0,
            output=output,
            bucket_name=bucket_name,
        )
        request.plan = plan_for_stored(
            {"process_request": process_request, "grid_id": 0, "resolution": 60.0, "output": output}
            | {"bucket_name": bucket_name}
        )
        s.add(request)
        s.flush()
        apply_action(s, request, UserAction.START)
    return request_id


def test_a_real_request_is_analysed_processed_and_charged(database, demo_dir):
    settings = Settings(
        data_dir=demo_dir,
        workers=2,
        poll_interval_s=0.01,
        cleanup_failed_after_s=0,
        cleanup_unstarted_after_s=0,
        cleanup_finished_after_s=0,
    )
    account = make_account(database)
    request_id = _create(database, account, NDVI)
    broken_id = _create(database, account, NDVI.replace("B08", "B99"))
    legacy_id = _create(database, account, NDVI, output=None, bucket_name="legacy")  # v1 `bucketName` only
    scheduler = Scheduler(settings, database, LocalExecutor(2), lease_s=60.0)
    try:
        assert scheduler.run_until_idle(120)
    finally:
        scheduler.stop()
    request = request_row(database, request_id)
    assert request.status == "DONE", request.error
    # the demo area straddles the 12°E zone edge: grid 0 (20 km) tiles of 334 x 334 px at 60 m, two zones
    assert (request.tile_count, request.tile_width_px, request.tile_height_px) == (4, 334, 334)
    # 334² / 512² * 2 bands / 3 * FLOAT32 x2 per tile, no discount in the estimate
    assert request.value_estimate == pytest.approx(4 * 334 * 334 / 512**2 * 2 / 3 * 2)
    assert request.cost_estimate["scenes_per_tile"]["min"] > 0
    assert request.charged_pu == pytest.approx(100.0)  # far below the minimum
    with database.session() as s:
        tiles = s.execute(select(Tile).where(Tile.request_id == request_id)).scalars().all()
    assert {t.epsg for t in tiles} == {32632, 32633}
    for tile in tiles:
        assert tile.status == "PROCESSED" and tile.cost > 0 and tile.bytes_written > 0
        assert tile.evaluation == "compiled" or tile.evaluation.startswith("v8: ")  # shown on the tile object
        assert cost.charged_pu(tile.width_px, tile.height_px, tile.cost) == pytest.approx(tile.cost / 3)
        # stored in the ledger's micro-PU
        assert tile.charged_pu == cost.from_micro(cost.to_micro(cost.charged_pu(334, 334, tile.cost)))
        (url,) = tile.outputs
        with rasterio.open(settings.buckets_dir / url.removeprefix("s3://")) as src:
            assert (src.width, src.height, src.crs.to_epsg()) == (334, 334, tile.epsg)
    broken = request_row(database, broken_id)
    assert broken.status == "FAILED" and "B99" in broken.error
    assert request_row(database, legacy_id).status == "DONE"
    with database.session() as s:
        legacy = s.execute(select(Tile).where(Tile.request_id == legacy_id)).scalars().all()
    for tile in legacy:  # bucketName "legacy" means s3://legacy/<requestId>/<tileName>/<outputId>.<format>
        assert tile.outputs == [f"s3://legacy/{legacy_id}/{tile.name}/default.tif"]
        assert (settings.buckets_dir / "legacy" / legacy_id / tile.name / "default.tif").is_file()
    check_invariants(database)
