"""Run by test_sentinelhub_v2.py inside a virtualenv with the current sentinelhub-py (not imported by pytest).

Drives an eobatch server through the v2 flow with the real `BatchProcessClient` and prints one JSON
object with what it observed. Arguments: base URL, client id, client secret, then a JSON object with
the S3 settings {"endpoint", "bucket", "access_key", "secret_key", "features_url"}.
"""

import json
import sys
import time
from unittest import mock

from sentinelhub import CRS, BBox, DataCollection, MimeType, SentinelHubRequest, SHConfig
from sentinelhub.api.batch import BatchProcessClient, monitor_batch_process_analysis, monitor_batch_process_job

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 2, sampleType: "UINT16"}};
}
function evaluatePixel(s) { return [s.B04 * 10000, s.B08 * 10000]; }
"""
# a small field in the demo area, west of 12°E: one tile of grid 1 (UTM 10 km) at 20 m
BBOX = BBox((11.90, 45.10, 11.93, 45.12), CRS.WGS84)
_real_sleep = time.sleep


def short_sleep(seconds):
    _real_sleep(min(seconds, 0.2))


def main(base_url, client_id, client_secret, s3_json):
    s3 = json.loads(s3_json)
    config = SHConfig(
        use_defaults=True,
        sh_client_id=client_id,
        sh_client_secret=client_secret,
        sh_base_url=base_url,
        sh_token_url=f"{base_url}/auth/realms/main/protocol/openid-connect/token",
        max_download_attempts=2,
        download_sleep_time=0.2,
    )
    client = BatchProcessClient(config=config)
    process_request = SentinelHubRequest(
        evalscript=EVALSCRIPT,
        input_data=[
            SentinelHubRequest.input_data(DataCollection.SENTINEL2_L2A, time_interval=("2024-05-01", "2024-05-31"))
        ],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        bbox=BBOX,
        config=config,
    )
    delivery = BatchProcessClient.s3_specification(
        url=f"s3://{s3['bucket']}/v2out/<requestId>/<tileName>/<outputId>.<format>",
        access_key=s3["access_key"],
        secret_access_key=s3["secret_key"],
    )
    output = BatchProcessClient.raster_output(delivery, overwrite=True)
    out = {}

    grid_request = client.create(
        process_request,
        input=BatchProcessClient.tiling_grid_input(1, 20.0),
        output=output,
        description="sh-v2 tiling grid",
    )
    out["grid_created"] = {
        "id": grid_request.request_id,
        "status": grid_request.status.value,
        "masked": grid_request.request["output"]["delivery"]["s3"]["secretAccessKey"],
    }
    with mock.patch("time.sleep", short_sleep):
        client.start_analysis(grid_request)
        analysed = monitor_batch_process_analysis(grid_request, client, sleep_time=5)
        out["grid_analysed"] = analysed.status.value
        client.start_job(grid_request)
        done = monitor_batch_process_job(grid_request, client, sleep_time=60, analysis_sleep_time=5)
    out["grid_done"] = {"status": done.status.value, "completion": done.completion_percentage, "cost": done.cost_PU}

    features = BatchProcessClient.s3_specification(
        url=s3["features_url"], access_key=s3["access_key"], secret_access_key=s3["secret_key"]
    )
    feature_pr = (
        SentinelHubRequest(
            evalscript=EVALSCRIPT,
            input_data=[
                SentinelHubRequest.input_data(DataCollection.SENTINEL2_L2A, time_interval=("2024-05-01", "2024-05-31"))
            ],
            responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
            bbox=BBOX,
            config=config,
        )
        .download_list[0]
        .post_values
    )
    feature_pr["input"].pop("bounds")  # without bounds every feature is processed
    feature_request = client.create(
        feature_pr, input=BatchProcessClient.geopackage_input(features), output=output, description="sh-v2 geopackage"
    )
    out["features_created"] = {"id": feature_request.request_id, "status": feature_request.status.value}
    with mock.patch("time.sleep", short_sleep):
        client.start_job(feature_request)
        done = monitor_batch_process_job(feature_request, client, sleep_time=60, analysis_sleep_time=5)
    out["features_done"] = {"status": done.status.value, "completion": done.completion_percentage}

    third = client.create(
        process_request, input=BatchProcessClient.tiling_grid_input(1, 20.0), output=output, description="sh-v2 to stop"
    )
    with mock.patch("time.sleep", short_sleep):
        client.start_analysis(third)
        monitor_batch_process_analysis(third, client, sleep_time=5)
    client.stop_job(third)
    stopped = client.get_request(third)
    out["stopped"] = {
        "id": stopped.request_id,
        "status": stopped.status.value,
        "reason": stopped.stopped_status_reason.value if stopped.stopped_status_reason else None,
        "user_action": stopped.user_action.value,
    }
    client.update_request(third, description="sh-v2 stopped")
    out["renamed"] = client.get_request(third).request.get("description")

    out["listed"] = [r.request_id for r in client.iter_requests()]
    out["searched"] = [r.request_id for r in client.iter_requests(search="geopackage")]
    out["grid_ids"] = [g["id"] for g in client.iter_tiling_grids()]
    out["grid_7"] = client.get_tiling_grid(7)["name"]
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:5])
