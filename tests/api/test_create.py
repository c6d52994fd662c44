"""POST /api/v1/batch/process: the request object it returns, and every bad input refused with nothing written."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Caller, new_caller
from tests.api.helpers import EVALSCRIPT, VALID_BODY, body, row_counts

URL = "/api/v1/batch/process"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def test_create_returns_the_full_request_and_get_reads_it_back(client, alice: Caller):
    response = client.post(URL, json=VALID_BODY, headers=alice.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "CREATED" and created["userAction"] == "NONE"
    assert created["userId"] == created["accountId"] == alice.account_id
    assert created["processRequest"]["input"]["bounds"]["properties"]["crs"] == CRS84
    assert created["processRequest"]["evalscript"] == EVALSCRIPT
    assert created["tilingGrid"] == {"id": 1, "resolution": 10.0}
    assert created["output"] == VALID_BODY["output"] and created["bucketName"] is None
    assert isinstance(created["tileCount"], int) and created["tileCount"] >= 1
    assert (created["tileWidthPx"], created["tileHeightPx"]) == (1000, 1000)
    assert created["description"] == "field near Ljubljana"
    assert created["created"].endswith("Z")
    assert created["valueEstimate"] is None and created["error"] is None and created["chargedPU"] == 0.0
    fetched = client.get(f"{URL}/{created['id']}", headers=alice.headers)
    assert fetched.status_code == 200
    assert fetched.json() == created


def test_create_accepts_aliases_unknown_keys_buffers_and_bucket_name(client, alice: Caller):
    legacy = body(
        tilingGrid=None, output=None, tilingGridId=1, resolution=20, bucketName="results", somethingNew={"x": 1}
    )
    legacy["processRequest"]["input"]["bounds"]["properties"] = {"crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
    response = client.post(URL, json=legacy, headers=alice.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["tilingGrid"] == {"id": 1, "resolution": 20}
    assert created["bucketName"] == "results" and created["output"] is None
    assert created["tileWidthPx"] == 500
    assert created["processRequest"]["input"]["bounds"]["properties"]["crs"].endswith("EPSG/0/4326")
    buffered = client.post(
        URL, json=body(tilingGrid={"id": 1, "resolution": 10, "bufferX": 0, "bufferY": 7}), headers=alice.headers
    ).json()
    assert buffered["tilingGrid"] == {"id": 1, "resolution": 10, "bufferX": 0, "bufferY": 7}


def test_multipart_create_takes_the_evalscript_part(client, alice: Caller):
    request = body()
    del request["processRequest"]["evalscript"]
    response = client.post(
        URL,
        headers=alice.headers,
        files={
            "request": (None, json.dumps(request), "application/json"),
            "evalscript": (None, EVALSCRIPT, "application/javascript"),
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["processRequest"]["evalscript"] == EVALSCRIPT


def _without(path: str) -> dict:
    result = body()
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node[key]
    del node[last]
    return result


def _with(path: str, value) -> dict:
    result = body()
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return result


INT8_SCRIPT = """//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "INT8"}}; }
function evaluatePixel(s) { return [s.B04]; }
"""
L1C = {
    "type": "sentinel-2-l1c",
    "dataFilter": {"timeRange": {"from": "2024-04-01T00:00:00Z", "to": "2024-04-30T23:59:59Z"}},
}
HOLES = [
    pytest.param(
        body(
            output={"defaultTilePath": "s3://results/<tileName>/<outputId>.<format>", "cogOutput": True},
            processRequest={**VALID_BODY["processRequest"], "evalscript": INT8_SCRIPT},
        ),
        "cogOutput does not allow sampleType INT8 (output 'default')",
        id="int8-cog",
    ),
    pytest.param(
        _with("processRequest.input.data", [L1C, L1C]),
        "processRequest.input.data[0].id: with several inputs each needs its own id",
        id="two-inputs-without-id",
    ),
    pytest.param(
        _with("processRequest.input.data", [{**L1C, "processing": {"upsampling": "CUBIC"}}]),
        "processRequest.input.data[0].processing.upsampling 'CUBIC' is not supported; allowed: NEAREST",
        id="unknown-upsampling",
    ),
    pytest.param(
        _with("processRequest.input.data", [{**L1C, "processing": {"downsampling": "MODE"}}]),
        "processing.downsampling 'MODE' is not supported",
        id="unknown-downsampling",
    ),
    pytest.param(
        _with("processRequest.input.data", [{**L1C, "dataFilter": {**L1C["dataFilter"], "mosaickingOrder": "random"}}]),
        "'random' is not allowed",
        id="unknown-mosaicking-order",
    ),
    pytest.param(
        body(tilingGrid={"id": 1, "resolution": 10.0, "bufferX": 32767}),
        "a tile with its buffers would be 66534 x 1000 px; at most 12000 px on a side",
        id="buffered-tile-too-large",
    ),
    pytest.param(
        _with("processRequest.output.responses", [{"identifier": "../up", "format": {"type": "image/tiff"}}]),
        "'../up' cannot be part of an output path",
        id="identifier-dotdot",
    ),
    pytest.param(
        _with("processRequest.output.responses", [{"identifier": "a\u0000b", "format": {"type": "image/tiff"}}]),
        "cannot be part of an output path",
        id="identifier-nul",
    ),
]


BAD_BODIES = [
    pytest.param(b"{not json", "Request body is not valid JSON", id="malformed-json"),
    pytest.param(b"", "Request body should be non-empty.", id="empty-body"),
    pytest.param(b"{}", "Request body should be non-empty.", id="empty-object"),
    pytest.param(b"[1, 2]", "must be a JSON object", id="not-an-object"),
    pytest.param(body(processRequest=None), "processRequest", id="no-processRequest"),
    pytest.param(body(tilingGrid=None), "tilingGrid", id="no-tilingGrid"),
    pytest.param(body(tilingGrid={"resolution": 10}), "tilingGrid.id", id="no-grid-id"),
    pytest.param(body(tilingGrid={"id": 42, "resolution": 10}), "unknown tiling grid 42", id="unknown-grid"),
    pytest.param(body(tilingGrid={"id": 1, "resolution": 60}), "allowed: 10, 20", id="resolution-not-allowed"),
    pytest.param(
        body(tilingGrid={"id": 1, "resolution": 10, "bufferX": -1}), "tilingGrid.bufferX", id="negative-buffer"
    ),
    pytest.param(
        _with("processRequest.input.bounds.geometry", {"type": "Point", "coordinates": [14.5, 46.0]}),
        "'Point' is not supported",
        id="point-geometry",
    ),
    pytest.param(_without("processRequest.input.bounds"), "processRequest.input.bounds", id="no-bounds"),
    pytest.param(
        _with(
            "processRequest.input.data",
            [
                {
                    "type": "sentinel-9-xyz",
                    "dataFilter": {"timeRange": {"from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}},
                }
            ],
        ),
        "Unknown collection type 'sentinel-9-xyz'",
        id="unknown-collection",
    ),
    pytest.param(
        _with(
            "processRequest.input.data",
            [
                {
                    "type": "sentinel-2-l1c",
                    "dataFilter": {"timeRange": {"from": "2024-05-01T00:00:00Z", "to": "2024-04-01T00:00:00Z"}},
                }
            ],
        ),
        "reversed",
        id="reversed-time-range",
    ),
    pytest.param(
        _with(
            "processRequest.input.data",
            [{"type": "sentinel-2-l1c", "dataFilter": {"timeRange": {"from": "2024-04-01", "to": "2024-05-01"}}}],
        ),
        "timeRange.from",
        id="date-without-time",
    ),
    pytest.param(
        _with(
            "processRequest.input.data",
            [
                {
                    "type": "sentinel-2-l1c",
                    "dataFilter": {
                        "timeRange": {"from": "2024-04-01T00:00:00Z", "to": "2024-05-01T00:00:00Z"},
                        "maxCloudCoverage": 150,
                    },
                }
            ],
        ),
        "maxCloudCoverage",
        id="cloud-coverage-over-100",
    ),
    pytest.param(_without("processRequest.evalscript"), "processRequest.evalscript", id="no-evalscript"),
    pytest.param(
        body(output={"defaultTilePath": "s3://results/<requestId>/<outputId>.<format>"}),
        "<tileName> or <tileId>",
        id="template-without-tile",
    ),
    pytest.param(body(output=None), "defaultTilePath or bucketName", id="no-output"),
    pytest.param(
        body(output={"defaultTilePath": "s3://results/<tileName>/\x00<outputId>.<format>"}),
        "contains a NUL or another control character",
        id="template-with-nul",
    ),
    pytest.param(
        body(output={"defaultTilePath": "s3://results//abs/<tileName>/<outputId>.<format>"}),
        "the object key has an empty segment (an absolute path or '//')",
        id="template-absolute-key",
    ),
    pytest.param(
        body(output={"defaultTilePath": "s3://results/<tileName>/../<outputId>.<format>"}),
        "contains '.' or '..' segments",
        id="template-dotdot",
    ),
    pytest.param(
        _with("processRequest.output.responses", [{"identifier": "default", "format": {"type": "image/gif"}}]),
        "format 'image/gif' is not supported by batch processing; allowed: image/tiff, image/png, image/jpeg",
        id="gif-output",
    ),
    pytest.param(
        _with(
            "processRequest.output.responses",
            [{"identifier": "default", "format": {"type": "image/jpeg", "quality": 0}}],
        ),
        "quality must be an integer from 1 to 100, got 0",
        id="jpeg-quality-0",
    ),
    pytest.param(
        _with(
            "processRequest.output.responses",
            [{"identifier": "default", "format": {"type": "image/png", "quality": 80}}],
        ),
        "quality applies only to image/jpeg",
        id="png-with-quality",
    ),
    pytest.param(
        body(
            output={"defaultTilePath": "s3://results/<tileName>/<outputId>.<format>", "cogOutput": True},
            processRequest={
                **VALID_BODY["processRequest"],
                "output": {"responses": [{"identifier": "default", "format": {"type": "image/png"}}]},
            },
        ),
        "Cloud-Optimized GeoTIFF output needs every response to be image/tiff; 'default' is image/png",
        id="cog-png",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), BAD_BODIES + HOLES)
def test_bad_create_bodies_are_400_and_write_nothing(client, db, alice: Caller, payload, expected):
    before = row_counts(db)
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = client.post(URL, content=raw, headers={**alice.headers, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == 400 and error["reason"] == "Bad Request" and error["code"] == "COMMON_BAD_PAYLOAD"
    assert expected in error["message"]
    if payload not in (b"", b"{}"):
        assert error["errors"] and {"parameter", "violation"} <= set(error["errors"][0])
    assert row_counts(db) == before


def test_bucket_not_allowed_for_the_account(client, db, api_settings):
    restricted = new_caller(client, db, api_settings, "restricted", allowed_buckets=["mine"])
    before = row_counts(db)
    response = client.post(URL, json=VALID_BODY, headers=restricted.headers)
    assert response.status_code == 400
    assert "'results'" in response.json()["error"]["message"] and "mine" in response.json()["error"]["message"]
    assert row_counts(db) == before
    allowed = body(output={"defaultTilePath": "s3://mine/<tileName>/<outputId>.<format>"})
    assert client.post(URL, json=allowed, headers=restricted.headers).status_code == 201
