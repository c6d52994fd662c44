"""Run by test_sentinelhub_v1.py inside a virtualenv with sentinelhub==3.11.1 (not imported by pytest).

Drives an eobatch server through the whole v1 flow with the real client and prints one JSON object
with what it observed. Arguments: base URL, client id, client secret.
"""

import json
import sys
import time
from unittest import mock

from sentinelhub import (
    CRS,
    BatchCollection,
    BatchRequestStatus,
    BatchSplitter,
    BatchTileStatus,
    DataCollection,
    Geometry,
    MimeType,
    SentinelHubBatch,
    SentinelHubRequest,
    SHConfig,
    monitor_batch_analysis,
    monitor_batch_job,
)
from sentinelhub.exceptions import DownloadFailedException

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 2, sampleType: "UINT16"}};
}
function evaluatePixel(s) { return [s.B04 * 10000, s.B08 * 10000]; }
"""
AREA = Geometry(
    {
        "type": "Polygon",
        "coordinates": [[[11.90, 45.10], [11.93, 45.10], [11.93, 45.12], [11.90, 45.12], [11.90, 45.10]]],
    },
    CRS.WGS84,
)
_real_sleep = time.sleep


def short_sleep(seconds):
    _real_sleep(min(seconds, 0.2))


def failure(call):
    try:
        call()
    except DownloadFailedException as exc:
        return str(exc)
    return None


def main(base_url, client_id, client_secret):
    config = SHConfig(
        use_defaults=True,
        sh_client_id=client_id,
        sh_client_secret=client_secret,
        sh_base_url=base_url,
        sh_token_url=f"{base_url}/auth/realms/main/protocol/openid-connect/token",
        max_download_attempts=2,
        download_sleep_time=0.2,
    )
    batch = SentinelHubBatch(config=config)
    process_request = SentinelHubRequest(
        evalscript=EVALSCRIPT,
        input_data=[
            SentinelHubRequest.input_data(DataCollection.SENTINEL2_L1C, time_interval=("2024-04-01", "2024-04-30"))
        ],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        geometry=AREA,
        config=config,
    )
    tiling_grid = SentinelHubBatch.tiling_grid(grid_id=1, resolution=20, buffer=(2, 3))
    output = SentinelHubBatch.output(
        default_tile_path="s3://results/<requestId>/<tileName>/<outputId>.<format>", overwrite=True
    )
    out = {}
    created = batch.create(process_request, tiling_grid=tiling_grid, output=output, description="compat run")
    out["created"] = {
        "status": created.status.value,
        "tile_count": created.tile_count,
        "tiling_grid": created.tiling_grid,
        "bbox_crs": str(created.geometry.crs.epsg),
    }
    fetched = batch.get_request(created)
    out["fetched_id_matches"] = fetched.request_id == created.request_id
    out["listed"] = created.request_id in [r.request_id for r in batch.iter_requests()]
    out["searched"] = [r.request_id for r in batch.iter_requests(search="compat", user_id="someone")]
    out["latest"] = batch.get_latest_request().request_id
    batch.update_request(created, description="compat run, renamed")
    out["description"] = batch.get_request(created).description

    with mock.patch("time.sleep", short_sleep):
        batch.start_analysis(created)
        analysed = monitor_batch_analysis(created, config=config, sleep_time=5)
    out["analysed"] = {
        "status": analysed.status.value,
        "tile_count": analysed.tile_count,
        "value_estimate": analysed.value_estimate,
        "width": analysed.tile_width_px,
    }
    tiles = list(batch.iter_tiles(created))
    out["tiles"] = [
        {"id": t["id"], "name": t["name"], "status": t["status"], "crs": t["origin"]["crs"]["properties"]["name"]}
        for t in tiles
    ]
    out["single_tile_name"] = batch.get_tile(created, tiles[0]["id"])["name"]
    splitter = BatchSplitter(batch_request=analysed, config=config)
    out["splitter"] = [[list(b), str(b.crs.epsg)] for b in splitter.get_bbox_list()]
    out["splitter_names"] = [info["name"] for info in splitter.get_info_list()]
    grid = batch.get_tiling_grid(1)
    out["grid"] = grid["properties"]
    out["grid_ids"] = [g["id"] for g in batch.iter_tiling_grids()]

    with mock.patch("time.sleep", short_sleep):
        batch.start_job(created)
        per_status = monitor_batch_job(created, config=config, sleep_time=60, analysis_sleep_time=5)
    out["job"] = {status.value: len(items) for status, items in per_status.items()}
    final = batch.get_request(created)
    out["final"] = {
        "status": final.status.value,
        "user_action": final.user_action.value,
        "tile_count": final.tile_count,
    }
    out["restart_error"] = failure(lambda: batch.restart_job(created))
    out["delete_processed_error"] = failure(lambda: batch.delete_request(created))

    second = batch.create(process_request, tiling_grid=tiling_grid, output=output, description="to cancel")
    batch.cancel_job(second)
    out["canceled"] = batch.get_request(second).status.value
    batch.delete_request(second)
    out["after_delete"] = failure(lambda: batch.get_request(second))
    out["collections"] = collections(batch)
    out["statuses_known"] = [s.value for s in BatchRequestStatus] and [s.value for s in BatchTileStatus]
    print(json.dumps(out))


def collections(batch):
    """The batch-collection methods: create (dataclass and dict), get, iterate, update, delete."""
    made = batch.create_collection(BatchCollection(name="compat collection", s3_bucket="results", additional_data=None))
    other = batch.create_collection({"name": "second", "s3Bucket": "results", "batchData": {"tilingGridId": 1}})
    got = batch.get_collection(made["id"])
    parsed = BatchCollection.from_dict(got)
    listed = [c["id"] for c in batch.iter_collections()]
    searched = [c["name"] for c in batch.iter_collections(search="second")]
    parsed.name = "compat collection, renamed"
    batch.update_collection(parsed)
    renamed = batch.get_collection(parsed.collection_id)["name"]
    batch.delete_collection(other["id"])
    batch.delete_collection(parsed)
    return {
        "made": made,
        "parsed_id": parsed.collection_id,
        "parsed_bucket": parsed.s3_bucket,
        "grid": other["batchData"],
        "listed": listed,
        "searched": searched,
        "renamed": renamed,
        "after_delete": failure(lambda: batch.get_collection(made["id"])),
        "bad_create": failure(lambda: batch.create_collection({"name": "no bucket"})),
    }


if __name__ == "__main__":
    main(*sys.argv[1:4])
