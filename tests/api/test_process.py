"""The Process API on the real Sentinel-2 sample scenes: a window equals the same window of a batch tile,
formats and multi-part answers, PU charged through the ledger, limits and bad input as clear 400s."""

from __future__ import annotations

import copy
import io
import json
import tarfile

import httpx
import numpy as np
import pytest
import rasterio
from rasterio.windows import from_bounds

from eobatch.api import create_app
from eobatch.client import Credentials, EobatchClient
from eobatch.settings import Settings
from eobatch.store import ledger
from eobatch.store.accounts import create_account
from eobatch.store.db import Database
from tests.api.helpers import live_server
from tests.api.test_events import REAL_COLLECTIONS, request_body

UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"
WINDOW = [465400.0, 5079400.0, 465800.0, 5079800.0]  # inside the real scenes and the test area, 20 m aligned
DATA = [
    {
        "type": "sentinel-2-l1c",
        "dataFilter": {
            "timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T23:59:59Z"},
            "maxCloudCoverage": 50,
        },
    }
]
EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "UINT16"}};
}
function evaluatePixel(s) { return [10000 * s.B04, 10000 * s.B03, 10000 * s.B02]; }
"""
TWO_OUTPUTS = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"],
          output: [{id: "ndvi", bands: 1, sampleType: "FLOAT32"}, {id: "rgb", bands: 3, sampleType: "AUTO"}]};
}
function evaluatePixel(s) {
  return {ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)], rgb: [3 * s.B04, 3 * s.B04, 3 * s.B04]};
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {script: "two outputs"};
}
"""


def process_body(**output) -> dict:
    return {
        "input": {"bounds": {"bbox": WINDOW, "properties": {"crs": UTM33}}, "data": copy.deepcopy(DATA)},
        "output": {"resx": 20, "resy": 20, **output},
        "evalscript": EVALSCRIPT,
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("process"), collections_file=REAL_COLLECTIONS, workers=1,
                        poll_interval_s=0.05, events_poll_interval_s=0.05)  # fmt: skip
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.session() as session:
        account, client_id, secret = create_account(session, "process-user", settings)
        account_id = account.id
    with live_server(create_app(settings, database, run_scheduler=True)) as base:
        client = EobatchClient(base, Credentials(client_id, secret))
        yield settings, database, client, account_id
        client.close()
    database.dispose()


def post(client: EobatchClient, body, accept: str | None = None) -> httpx.Response:
    headers = {**client._auth(), **({"Accept": accept} if accept else {})}
    return httpx.post(f"{client.base_url}/api/v1/process", json=body, headers=headers, timeout=180)


def test_a_window_equals_the_same_window_of_a_batch_tile(live):
    settings, _, client, _ = live
    body = request_body(None)
    body["processRequest"]["evalscript"] = EVALSCRIPT
    created = client.create(body)
    client.action(created["id"], "analyse")
    client.wait_events(created["id"], until=("ANALYSIS_DONE",))
    client.action(created["id"], "start")
    assert client.wait_events(created["id"])["status"] == "DONE"
    tile = next(t for t in client.tiles(created["id"]) if t["name"].endswith("_6_2"))  # the southern tile
    path = settings.buckets_dir / "results" / created["id"] / tile["name"] / "default.tif"
    with rasterio.open(path) as batch:
        expected = batch.read(window=from_bounds(*WINDOW, transform=batch.transform))
        batch_dtype = batch.dtypes[0]

    response = post(client, process_body(responses=[{"identifier": "default", "format": {"type": "image/tiff"}}]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/tiff"
    with rasterio.open(io.BytesIO(response.content)) as window:
        got = window.read()
        assert window.crs.to_epsg() == 32633 and tuple(window.bounds) == tuple(WINDOW)
        assert window.dtypes[0] == batch_dtype
    assert got.shape == expected.shape == (3, 20, 20)
    assert got.any() and np.array_equal(got, expected)


def test_formats_multipart_and_the_pu_charge(live):
    _, database, client, account_id = live
    with database.session() as session:
        before = ledger.balance(session, account_id).available
    png = post(client, process_body(responses=[{"identifier": "default", "format": {"type": "image/png"}}]))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    spent = float(png.headers["X-ProcessingUnits-Spent"])
    with database.session() as session:
        after = ledger.balance(session, account_id).available
        assert ledger.discrepancies(session) == []
    assert spent > 0 and before - after == pytest.approx(spent)

    responses = [
        {"identifier": "ndvi", "format": {"type": "image/tiff"}},
        {"identifier": "rgb", "format": {"type": "image/jpeg"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    body = process_body(responses=responses) | {"evalscript": TWO_OUTPUTS}
    tarred = post(client, body, accept="application/tar")
    assert tarred.status_code == 200 and tarred.headers["content-type"] == "application/tar"
    with tarfile.open(fileobj=io.BytesIO(tarred.content)) as archive:
        assert archive.getnames() == ["ndvi.tif", "rgb.jpg", "userdata.json"]
        userdata = json.loads(archive.extractfile("userdata.json").read())
        with rasterio.open(io.BytesIO(archive.extractfile("ndvi.tif").read())) as ndvi:
            values = ndvi.read(1)
    assert userdata == {"script": "two outputs"}
    assert values.dtype == np.float32 and -1 <= values.min() < values.max() <= 1
    mixed = post(client, body)
    assert mixed.headers["content-type"].startswith("multipart/mixed; boundary=")
    assert mixed.content.count(b"Content-Disposition: form-data;") == 3


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"output": {"width": 3000, "height": 20}}, "output"),
        ({"output": {"resx": 0.01, "resy": 0.01}}, "output"),
        ({"output": {"width": 20, "resx": 20}}, "output"),
        ({"output": {"responses": [{"identifier": "default", "format": {"type": "image/gif"}}]}}, None),
        ({"input": {"bounds": {"bbox": WINDOW, "properties": {"crs": "EPSG:bogus"}}, "data": DATA}}, None),
        ({"input": {"bounds": {"bbox": WINDOW, "properties": {"crs": UTM33}}, "data": []}}, "input.data"),
        ({"evalscript": ""}, "evalscript"),
        ({"evalscript": "//VERSION=3\nfunction setup() { return {input: ['B99'], output: {bands: 1}}; }"}, None),
    ],
)
def test_bad_process_requests_are_clear_400s_and_cost_nothing(live, change, parameter):
    _, database, client, account_id = live
    with database.session() as session:
        before = ledger.balance(session, account_id).available
    response = post(client, process_body() | change)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == 400 and error["message"]
    if parameter:
        assert error["errors"][0]["parameter"] == parameter
    with database.session() as session:
        assert ledger.balance(session, account_id).available == before
