"""/api/v2/batch over the shared store: create, list, get, update, actions, grids, bad input."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select

from eobatch.store.models import BatchRequest
from tests.v2.gpkg import square, write_gpkg

V2 = "/api/v2/batch"
EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B04", "B08"], output: {id: "default", bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }
"""
AOI = {
    "type": "Polygon",
    "coordinates": [[[14.50, 46.05], [14.53, 46.05], [14.53, 46.07], [14.50, 46.07], [14.50, 46.05]]],
}
DATA = [
    {
        "type": "sentinel-2-l1c",
        "dataFilter": {"timeRange": {"from": "2024-04-01T00:00:00Z", "to": "2024-04-30T23:59:59Z"}},
    }
]


def v2_body(**changes: Any) -> dict[str, Any]:
    body = {
        "processRequest": {
            "input": {"bounds": {"geometry": AOI}, "data": copy.deepcopy(DATA)},
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": EVALSCRIPT,
        },
        "input": {"type": "tiling-grid", "id": 1, "resolution": 10.0, "bufferX": 0, "bufferY": 0},
        "output": {
            "type": "raster",
            "delivery": {
                "s3": {
                    "url": "s3://results/<requestId>/<tileName>/<outputId>.<format>",
                    "accessKey": "AKIAEXAMPLE",
                    "secretAccessKey": "s3cr3t",
                    "region": "us-east-1",
                }
            },
            "overwrite": True,
            "cogOutput": True,
        },
        "instanceType": "normal",
        "description": "ndvi near Ljubljana",
    }
    body.update(changes)
    return body


def _count(database) -> int:
    with database.session() as session:
        return session.execute(select(func.count()).select_from(BatchRequest)).scalar_one()


def test_create_echoes_body_with_masked_credentials(v2_client, headers, v2_database):
    response = v2_client.post(f"{V2}/process", json=v2_body(), headers=headers)
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["status"] == "CREATED" and task["userAction"] == "NONE"
    assert task["completionPercentage"] == 0 and task["costPU"] == 0 and task["stoppedStatusReason"] is None
    s3 = task["request"]["output"]["delivery"]["s3"]
    assert s3 == {
        "url": "s3://results/<requestId>/<tileName>/<outputId>.<format>",
        "accessKey": "***",
        "secretAccessKey": "***",
        "region": "us-east-1",
    }
    assert "s3cr3t" not in response.text
    assert task["request"]["input"] == v2_body()["input"]
    with v2_database.session() as session:
        row = session.get(BatchRequest, task["id"])
        assert row.api_version == "v2" and row.grid_id == 1 and row.tile_count >= 1
        assert row.delivery_credentials == {
            "accessKey": "AKIAEXAMPLE",
            "secretAccessKey": "s3cr3t",
            "region": "us-east-1",
        }
        assert row.output["defaultTilePath"].startswith("s3://results/")
    got = v2_client.get(f"{V2}/process/{task['id']}", headers=headers).json()
    assert got["id"] == task["id"] and "s3cr3t" not in str(got)


def test_client_quirks_are_tolerated(v2_client, headers):
    body = v2_body(instance_type="normal", somethingNew={"x": 1})
    del body["instanceType"]
    response = v2_client.post(f"{V2}/process?userid=abc", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["request"]["instanceType"] == "normal"
    listed = v2_client.get(f"{V2}/process", params={"userid": "abc"}, headers=headers)
    assert listed.status_code == 200 and len(listed.json()["data"]) == 1


def test_list_paging_search_and_v1_view(v2_client, headers):
    ids = [
        v2_client.post(f"{V2}/process", json=v2_body(description=f"job {i}"), headers=headers).json()["id"]
        for i in range(3)
    ]
    first = v2_client.get(f"{V2}/process", params={"count": 2, "sort": "created:desc"}, headers=headers).json()
    assert [t["id"] for t in first["data"]] == ids[::-1][:2] and first["links"]["nextToken"] == "2"
    second = v2_client.get(
        f"{V2}/process", params={"count": 2, "sort": "created:desc", "viewtoken": "2"}, headers=headers
    ).json()
    assert [t["id"] for t in second["data"]] == [ids[0]] and "nextToken" not in second["links"]
    found = v2_client.get(f"{V2}/process", params={"search": "job 1"}, headers=headers).json()["data"]
    assert [t["id"] for t in found] == [ids[1]]
    v1 = v2_client.get(f"/api/v1/batch/process/{ids[0]}", headers=headers).json()
    assert v1["status"] == "CREATED" and v1["tilingGrid"]["id"] == 1
    assert v1["output"]["defaultTilePath"].startswith("s3://results/") and "s3cr3t" not in str(v1)


def test_v1_requests_show_in_v2(v2_client, headers):
    v1_body = {
        "processRequest": v2_body()["processRequest"],
        "tilingGrid": {"id": 1, "resolution": 10.0},
        "output": {"defaultTilePath": "s3://results/<tileName>/<outputId>.<format>"},
    }
    created = v2_client.post("/api/v1/batch/process", json=v1_body, headers=headers)
    assert created.status_code == 201, created.text
    task = v2_client.get(f"{V2}/process/{created.json()['id']}", headers=headers).json()
    assert task["request"]["input"] == {"type": "tiling-grid", "id": 1, "resolution": 10.0}
    assert task["request"]["output"]["delivery"]["s3"]["url"] == "s3://results/<tileName>/<outputId>.<format>"
    assert v2_client.post(f"/api/v1/batch/process/{task['id']}/cancel", headers=headers).status_code == 204
    task = v2_client.get(f"{V2}/process/{task['id']}", headers=headers).json()
    assert (task["status"], task["userAction"], task["stoppedStatusReason"]) == ("STOPPED", "STOP", "USER_ACTION")


def test_update_description_and_actions(v2_client, headers, v2_database):
    task_id = v2_client.post(f"{V2}/process", json=v2_body(), headers=headers).json()["id"]
    updated = v2_client.put(f"{V2}/process/{task_id}", json={"description": "renamed"}, headers=headers)
    assert updated.status_code == 200 and updated.json()["request"]["description"] == "renamed"
    stop = v2_client.post(f"{V2}/process/{task_id}/stop", headers={**headers, "Content-Type": "application/json"})
    assert stop.status_code == 400
    assert stop.json()["error"]["message"] == "Illegal to change userAction from NONE to STOP with task status CREATED"
    analyse = v2_client.post(f"{V2}/process/{task_id}/analyse", headers={**headers, "Content-Type": "application/json"})
    assert analyse.status_code == 204 and analyse.content == b""
    assert v2_client.post(f"{V2}/process/{task_id}/stop", headers=headers).status_code == 204
    task = v2_client.get(f"{V2}/process/{task_id}", headers=headers).json()
    assert (task["status"], task["userAction"]) == ("ANALYSING", "STOP")  # the analysis still finishes
    with v2_database.session() as session:  # what the engine does when the analysis ends
        row = session.get(BatchRequest, task_id)
        row.status, row.stopped_reason = "STOPPED", "USER_ACTION"
    task = v2_client.get(f"{V2}/process/{task_id}", headers=headers).json()
    assert (task["status"], task["stoppedStatusReason"]) == ("STOPPED", "USER_ACTION")
    # STOPPED can start again at once (no 30 minute wait unless configured)
    with v2_database.session() as session:
        session.get(BatchRequest, task_id).value_estimate = 3.0
    assert v2_client.post(f"{V2}/process/{task_id}/start", headers=headers).status_code == 204
    task = v2_client.get(f"{V2}/process/{task_id}", headers=headers).json()
    assert (task["status"], task["userAction"], task["stoppedStatusReason"]) == ("PROCESSING", "START", None)


def test_tiling_grids(v2_client, headers):
    grids = v2_client.get(f"{V2}/tilinggrids", headers=headers).json()
    assert {g["id"] for g in grids["data"]} >= {0, 1, 2, 3, 6, 7} and isinstance(grids["links"], dict)
    grid = v2_client.get(f"{V2}/tilinggrids/7", headers=headers).json()
    assert grid["properties"]["tileWidth"] == 20000.0
    assert v2_client.get(f"{V2}/tilinggrids/99", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "input": {
                    "type": "tiling-grid",
                    "id": 1,
                    "resolution": 10.0,
                    "features": {"s3": {"url": "s3://b/f.gpkg"}},
                }
            },
            "either a tiling-grid input or a geopackage input",
        ),
        (
            {"input": {"type": "geopackage", "id": 1, "features": {"s3": {"url": "s3://results/f.gpkg"}}}},
            "either a tiling-grid input or a geopackage input",
        ),
        ({"input": {"type": "grid"}}, "input.type: type 'grid' is not supported"),
        ({"input": {"type": "tiling-grid", "id": 1, "resolution": 7.0}}, "Resolution 7.0 is not supported"),
        (
            {"output": {"type": "raster", "delivery": {"s3": {"url": "s3://results/x", "accessKey": "k"}}}},
            "both accessKey and secretAccessKey",
        ),
        (
            {"output": {"type": "zarr", "delivery": {"s3": {"url": "s3://results/z"}}, "group": {"zarr_format": 2}}},
            "with Zarr output every response must be zarr/array",
        ),
        ({"instanceType": "huge"}, "instanceType 'huge' is not supported"),
        (
            {"input": {"type": "tiling-grid", "id": 1, "resolution": 10.0, "bufferY": 6000}},
            "input.bufferY: a tile with its buffers would be 1000 x 13000 px; at most 12000 px on a side",
        ),
        (
            {
                "processRequest": {
                    "input": {"bounds": {"geometry": AOI}, "data": DATA},
                    "output": {"responses": [{"identifier": "default", "format": {"type": "image/png"}}]},
                    "evalscript": EVALSCRIPT,
                },
                "output": {
                    "type": "raster",
                    "delivery": {"s3": {"url": "s3://results/<tileName>/<outputId>.<format>"}},
                },
            },
            "'default' has sampleType FLOAT32, which image/png cannot hold",
        ),
    ],
)
def test_bad_input_is_400_and_writes_nothing(v2_client, headers, v2_database, change, message):
    response = v2_client.post(f"{V2}/process", json=v2_body(**change), headers=headers)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert _count(v2_database) == 0


def _zarr_body(grid_id: int, resolution: float) -> dict[str, Any]:
    body = v2_body(
        input={"type": "tiling-grid", "id": grid_id, "resolution": resolution},
        output={
            "type": "zarr",
            "delivery": {"s3": {"url": "s3://results/zarr/<requestId>"}},
            "group": {"zarr_format": 2},
            "arrayParameter": {"dtype": "float32", "order": "C", "chunks": [1, 500, 500], "fill_value": "NaN"},
        },
    )
    body["processRequest"]["output"]["responses"] = [{"identifier": "ndvi", "format": {"type": "zarr/array"}}]
    return body


def test_zarr_on_laea_is_accepted_and_on_utm_refused(v2_client, headers, v2_database):
    response = v2_client.post(f"{V2}/process", json=_zarr_body(7, 20.0), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["request"]["output"]["arrayParameters"]["chunks"] == [1, 500, 500]
    with v2_database.session() as session:
        zarr = session.get(BatchRequest, response.json()["id"]).output["zarr"]
        assert zarr["group"] == {"zarr_format": 2}
    utm = v2_client.post(f"{V2}/process", json=_zarr_body(1, 10.0), headers=headers)
    assert utm.status_code == 400 and "only the WGS84 and LAEA grids" in utm.json()["error"]["message"]
    bad_chunks = _zarr_body(7, 20.0)
    bad_chunks["output"]["arrayParameter"]["chunks"] = [1, 300, 300]
    response = v2_client.post(f"{V2}/process", json=bad_chunks, headers=headers)
    assert response.status_code == 400 and "must divide the tile size 1000 x 1000" in response.text


def test_geopackage_input_reads_features_from_the_bucket(v2_client, headers, v2_settings, v2_database, tmp_path):
    rows = [
        {"id": 11, "identifier": "field-1", "width": 64, "height": 64, "geometry": square(460000, 5100000, 640)},
        {"id": 12, "identifier": "field-2", "width": 32, "height": 32, "geometry": square(470000, 5100000, 640)},
    ]
    bucket = v2_settings.buckets_dir / "inputs"
    bucket.mkdir(parents=True)
    write_gpkg(bucket / "features.gpkg", rows)
    body = v2_body(
        input={
            "type": "geopackage",
            "features": {"s3": {"url": "s3://inputs/features.gpkg", "accessKey": "k", "secretAccessKey": "hidden"}},
        }
    )
    del body["processRequest"]["input"]["bounds"]
    response = v2_client.post(f"{V2}/process", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["request"]["input"]["features"]["s3"]["secretAccessKey"] == "***"
    with v2_database.session() as session:
        row = session.get(BatchRequest, response.json()["id"])
        assert row.tile_count == 2 and row.grid_id is None
        assert row.delivery_credentials["features"] == {"accessKey": "k", "secretAccessKey": "hidden"}

    write_gpkg(
        bucket / "bad.gpkg",
        [{"id": 1, "width": 8, "height": 8, "geometry": square(0, 0, 8)}],
        columns=("id", "width", "height"),
    )
    body["input"]["features"]["s3"]["url"] = "s3://inputs/bad.gpkg"
    bad = v2_client.post(f"{V2}/process", json=body, headers=headers)
    assert bad.status_code == 400 and "lacks the column(s) identifier" in bad.json()["error"]["message"]
    body["input"]["features"]["s3"]["url"] = "s3://inputs/missing.gpkg"
    assert v2_client.post(f"{V2}/process", json=body, headers=headers).status_code == 400
    assert _count(v2_database) == 1
