"""Results into a batch collection and back out, through the real HTTP API with the scheduler running, on
the real Sentinel-2 data: request 1 (`createCollection`) writes single-band FLOAT32 NDVI COGs into a new
collection; request 2 reads `batch-<id>` and thresholds it at 0.7, request 3 (v2) does the same reading
`byoc-<id>`. Their files equal numpy's threshold of request 1's files pixel for pixel (same grid, so
reading them back is an identity). On embedded storage and on a real SeaweedFS S3 endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from rasterio.io import MemoryFile

from eobatch.api import create_app
from eobatch.client import ApiError, Credentials, EobatchClient
from eobatch.settings import Settings
from eobatch.storage import ObjectStorage
from eobatch.store.accounts import create_account
from eobatch.store.db import Database
from tests.api.helpers import live_server

REAL_COLLECTIONS = Path(__file__).parents[2] / "examples" / "collections-real.yaml"
NODATA = -2.0

NDVI = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"],
          output: {id: "ndvi", bands: 1, sampleType: "FLOAT32", nodataValue: -2}};
}
function evaluatePixel(s) { return [s.dataMask ? (s.B08 - s.B04) / (s.B08 + s.B04 + 1e-6) : -2]; }
"""

THRESHOLD = """//VERSION=3
function setup() {
  return {input: ["ndvi", "dataMask"], output: {id: "vegetation", bands: 1, sampleType: "UINT8"}};
}
function evaluatePixel(s) { return [s.dataMask ? (s.ndvi > 0.7 ? 1 : 0) : 255]; }
"""

AREA = {"bbox": [14.545, 45.862, 14.570, 45.878], "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
TIME = {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T23:59:59Z"}


def body(data_type: str, evalscript: str, output_id: str, bucket: str, output: dict) -> dict:
    return {
        "processRequest": {
            "input": {"bounds": AREA, "data": [{"type": data_type, "dataFilter": {"timeRange": TIME}}]},
            "output": {"responses": [{"identifier": output_id, "format": {"type": "image/tiff"}}]},
            "evalscript": evalscript,
        },
        "tilingGrid": {"id": 1, "resolution": 10.0},
        "output": {"defaultTilePath": f"s3://{bucket}/chain/<requestId>/<tileName>/<outputId>.<format>", **output},
        "description": f"chain {output_id}",
    }


@pytest.fixture(params=["embedded", "seaweedfs"])
def storage_settings(request, tmp_path) -> Iterator[tuple[Settings, str]]:
    base = {"data_dir": tmp_path / "data", "workers": 1, "poll_interval_s": 0.05, "collections_file": REAL_COLLECTIONS}
    if request.param == "embedded":
        yield Settings(**base), "results"
        return
    from tests.support.seaweed import start_seaweed

    weed = start_seaweed()
    try:
        yield (
            Settings(**base, s3_endpoint=weed.endpoint, s3_access_key=weed.access_key, s3_secret_key=weed.secret_key),
            weed.bucket,
        )
    finally:
        weed.stop()


def read_tiff(storage: ObjectStorage, url: str) -> tuple[np.ndarray, object, object, dict]:
    with MemoryFile(storage.get(url)) as memory, memory.open() as src:
        return src.read(1), src.transform, src.crs, src.profile


def v2_body(data_type: str, bucket: str) -> dict:
    v1 = body(data_type, THRESHOLD, "vegetation", bucket, {})
    url = f"s3://{bucket}/chain/<requestId>/<tileName>/<outputId>.<format>"
    return {
        "processRequest": v1["processRequest"],
        "input": {"type": "tiling-grid", "id": 1, "resolution": 10.0},
        "output": {"type": "raster", "delivery": {"s3": {"url": url}}},
        "description": "chain, v2",
    }


def wait_v2(client: EobatchClient, task_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = client.call("GET", f"/api/v2/batch/process/{task_id}")
        if task["status"] in ("DONE", "FAILED", "STOPPED") or time.monotonic() > deadline:
            return task
        time.sleep(0.2)


def finish(client: EobatchClient, request_id: str) -> dict:
    client.action(request_id, "start")
    return client.wait_events(request_id, timeout=600)


@pytest.mark.slow
def test_a_request_reads_what_an_earlier_request_wrote_into_a_collection(storage_settings):
    settings, bucket = storage_settings
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.session() as session:
        _, alice_id, alice_secret = create_account(session, "alice", settings)
        _, bob_id, bob_secret = create_account(session, "bob", settings)
    try:
        with live_server(create_app(settings, database, run_scheduler=True)) as base:
            alice = EobatchClient(base, Credentials(alice_id, alice_secret))
            bob = EobatchClient(base, Credentials(bob_id, bob_secret))
            # a collection needs single-band TIFF outputs: refused before anything is stored
            with pytest.raises(ApiError) as refused:
                alice.create(
                    body(
                        "sentinel-2-l1c",
                        NDVI.replace("bands: 1", "bands: 2"),
                        "ndvi",
                        bucket,
                        {"createCollection": True},
                    )
                )
            assert refused.value.status == 400 and "single-band" in str(refused.value.body)

            first = alice.create(body("sentinel-2-l1c", NDVI, "ndvi", bucket, {"createCollection": True}))
            collection_id = first["output"]["collectionId"]
            done = finish(alice, first["id"])
            assert done["status"] == "DONE", done
            tiles = [t for t in alice.tiles(first["id"]) if t["status"] == "PROCESSED"]
            assert tiles and len(tiles) == done["tileCount"]

            collection = alice.call("GET", f"/api/v1/batch/collections/{collection_id}")["data"]
            assert collection["tileCount"] == len(tiles) and collection["s3Bucket"] == bucket
            assert collection["additionalData"]["bands"]["ndvi"]["sampleFormat"] == "FLOAT"
            assert collection["additionalData"]["bands"]["ndvi"]["noData"] == NODATA

            # another account neither sees the collection nor reads it
            with pytest.raises(ApiError) as hidden:
                bob.call("GET", f"/api/v1/batch/collections/{collection_id}")
            assert hidden.value.status == 404
            with pytest.raises(ApiError) as foreign:
                bob.create(body(f"batch-{collection_id}", THRESHOLD, "vegetation", "bobs-bucket", {}))
            assert foreign.value.status == 400 and collection_id in str(foreign.value.body)

            second = alice.create(body(f"batch-{collection_id}", THRESHOLD, "vegetation", bucket, {}))
            with pytest.raises(ApiError) as busy:  # in use by a request that has not finished
                alice.call("DELETE", f"/api/v1/batch/collections/{collection_id}")
            assert busy.value.status == 409
            done2 = finish(alice, second["id"])
            assert done2["status"] == "DONE", done2
            tiles2 = [t for t in alice.tiles(second["id"]) if t["status"] == "PROCESSED"]

            # v2 reads the same collection as byoc-<id> (the type sentinelhub-py gives it)
            third = alice.call("POST", "/api/v2/batch/process", json=v2_body(f"byoc-{collection_id}", bucket))
            alice.call("POST", f"/api/v2/batch/process/{third['id']}/start")
            done3 = wait_v2(alice, third["id"])
            assert done3["status"] == "DONE", done3
            alice.close()
            bob.close()
    finally:
        database.dispose()

    storage = ObjectStorage(settings)
    assert sorted(t["name"] for t in tiles2) == sorted(t["name"] for t in tiles)
    compared, values = 0, []
    for tile in tiles:
        prefix = f"s3://{bucket}/chain"
        ndvi, transform, crs, profile = read_tiff(storage, f"{prefix}/{first['id']}/{tile['name']}/ndvi.tif")
        assert profile["dtype"] == "float32" and profile["count"] == 1 and profile["nodata"] == NODATA
        vegetation, transform2, crs2, _ = read_tiff(storage, f"{prefix}/{second['id']}/{tile['name']}/vegetation.tif")
        assert (transform2, crs2) == (transform, crs)
        expected = np.where(ndvi == NODATA, 255, ndvi.astype(np.float64) > 0.7).astype(np.uint8)
        np.testing.assert_array_equal(vegetation, expected)
        from_v2, _, _, _ = read_tiff(storage, f"{prefix}/{third['id']}/{tile['name']}/vegetation.tif")
        np.testing.assert_array_equal(from_v2, expected)
        values.append(ndvi[ndvi != NODATA])
        compared += 1
    assert compared == len(tiles)
    values = np.concatenate(values)
    assert values.size > 5_000 and 0.05 < (values > 0.7).mean() < 0.95  # real data: both classes present
