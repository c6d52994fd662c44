"""Batch v2 end to end: a real eobatch `Service` (API + scheduler + process pool) writing to a real
SeaweedFS, driven by the current sentinelhub-py `BatchProcessClient` (in its own virtualenv) and by
plain HTTP for Zarr output and for a delivery location the credentials cannot write to.

One SeaweedFS, one service and one demo archive (generated on the first search, ~15 s) for the module.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from pyproj import Transformer
from rasterio.io import MemoryFile

from eobatch import grids
from eobatch.service import Service, free_port
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from tests.support.seaweed import Seaweed, start_seaweed
from tests.support.venvs import venv_python
from tests.v2.gpkg import write_gpkg

pytestmark = pytest.mark.slow

CLIENT_SCRIPT = Path(__file__).with_name("sh_v2_client.py")
SENTINELHUB = "sentinelhub==3.12.0"  # the current release, as pip resolves it
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
BBOX = [11.90, 45.10, 11.93, 45.12]  # in the demo area, west of 12°E (UTM zone 32)
MAY = {"from": "2024-05-01T00:00:00Z", "to": "2024-05-31T23:59:59Z"}
NDVI = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {id: "ndvi", bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) { return {ndvi: [s.dataMask ? (s.B08 - s.B04) / (s.B08 + s.B04) : NaN]}; }
"""


class Live:
    """The running service, its SeaweedFS and an account's credentials."""

    def __init__(self, service: Service, weed: Seaweed, client_id: str, secret: str):
        self.service, self.weed, self.client_id, self.secret = service, weed, client_id, secret
        self._token: str | None = None

    @property
    def url(self) -> str:
        return self.service.url

    def headers(self) -> dict[str, str]:
        if self._token is None:
            answer = httpx.post(
                f"{self.url}/oauth/token",
                data={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.secret},
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/v2/batch{path}", json=body if body is not None else {}, headers=self.headers(), timeout=30
        )

    def task(self, task_id: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/api/v2/batch/process/{task_id}", headers=self.headers(), timeout=30)
        answer.raise_for_status()
        return answer.json()

    def wait(self, task_id: str, statuses: set[str], timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(task_id)
            if task["status"] in statuses:
                return task
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {task['status']} after {timeout} s: {task}")
            time.sleep(0.1)

    def keys(self, prefix: str) -> list[str]:
        listed = self.weed.client().list_objects_v2(Bucket=self.weed.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.weed.client().get_object(Bucket=self.weed.bucket, Key=key)["Body"].read()


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    weed = start_seaweed()
    data_dir = tmp_path_factory.mktemp("v2-live")
    settings = Settings(
        data_dir=data_dir,
        workers=2,
        poll_interval_s=0.05,
        s3_endpoint=weed.endpoint,
        s3_access_key=weed.access_key,
        s3_secret_key=weed.secret_key,
        execution_db_interval_s=0.2,
    )
    service = Service(settings, port=free_port())
    with service.database.session() as session:
        _account, client_id, secret = create_account(session, "sentinelhub-py-v2", settings)
    try:
        service.start_in_thread()
        yield Live(service, weed, client_id, secret)
    finally:
        service.stop()
        weed.stop()


def _features_gpkg(path: Path) -> list[dict[str, Any]]:
    """Two fields in UTM zone 32N inside the demo area, with their own output sizes."""
    to_utm = Transformer.from_crs(4326, 32632, always_xy=True)
    x, y = to_utm.transform(11.95, 45.15)
    x, y = round(x / 20) * 20, round(y / 20) * 20
    rows = [
        {
            "id": 11,
            "identifier": "field-a",
            "width": 100,
            "height": 100,
            "geometry": shapely.box(x, y, x + 2000, y + 2000),
        },
        {
            "id": 12,
            "identifier": "field-b",
            "width": 80,
            "height": 50,
            "geometry": shapely.box(x + 3000, y, x + 4600, y + 1000),
        },
    ]
    write_gpkg(path, rows, epsg=32632)
    return rows


def _tiff(live: Live, key: str) -> dict[str, Any]:
    with MemoryFile(live.read(key)) as mem, mem.open() as src:
        return {
            "crs": src.crs.to_epsg(),
            "size": (src.width, src.height),
            "count": src.count,
            "dtype": src.dtypes[0],
            "transform": src.transform,
            "data": src.read(),
        }


def _manifest(live: Live, key: str) -> dict[str, list[dict[str, Any]]]:
    """The manifest's tables: layer name -> rows (without geometry)."""
    path = live.service.settings.data_dir / f"manifest-{time.monotonic_ns()}.gpkg"
    path.write_bytes(live.read(key))
    tables = {}
    for layer, _kind in pyogrio.list_layers(path):
        meta, _fids, _geometry, values = pyogrio.raw.read(path, layer=layer)[:4]
        tables[str(layer)] = [dict(zip(meta["fields"], row, strict=True)) for row in zip(*values, strict=True)]
    return tables


def _execution(live: Live, key: str) -> list[tuple]:
    path = live.service.settings.data_dir / f"execution-{time.monotonic_ns()}.sqlite"
    path.write_bytes(live.read(key))
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT id, name, status, error, delivered FROM features ORDER BY id").fetchall()
    connection.close()
    return rows


def test_sentinelhub_py_v2_client_full_flow(live, tmp_path):
    python = venv_python("sh3120", SENTINELHUB)
    features = _features_gpkg(tmp_path / "fields.gpkg")
    live.weed.client().upload_file(str(tmp_path / "fields.gpkg"), live.weed.bucket, "inputs/fields.gpkg")
    s3 = {
        "endpoint": live.weed.endpoint,
        "bucket": live.weed.bucket,
        "access_key": live.weed.access_key,
        "secret_key": live.weed.secret_key,
        "features_url": f"s3://{live.weed.bucket}/inputs/fields.gpkg",
    }
    env = {**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1", "HOME": str(tmp_path)}
    run = subprocess.run(
        [str(python), str(CLIENT_SCRIPT), live.url, live.client_id, live.secret, json.dumps(s3)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])

    # tiling-grid request: analysed, processed, delivered with the request's keys
    grid_id = out["grid_created"]["id"]
    assert out["grid_created"]["status"] == "CREATED" and out["grid_created"]["masked"] == "***"
    assert out["grid_analysed"] == "ANALYSIS_DONE"
    assert out["grid_done"]["status"] == "DONE" and out["grid_done"]["completion"] == 100
    assert out["grid_done"]["cost"] >= 100  # the request minimum
    expected_tiles = grids.tiles_for_area(1, grids.area_from_bounds({"bbox": BBOX, "properties": {"crs": CRS84}}))
    names = sorted(t.name for t in expected_tiles)
    tiffs = [k for k in live.keys(f"v2out/{grid_id}/") if k.endswith(".tif")]
    assert tiffs == [f"v2out/{grid_id}/{name}/default.tif" for name in names]
    for key, tile in zip(tiffs, sorted(expected_tiles, key=lambda t: t.name), strict=True):
        tiff = _tiff(live, key)
        assert (tiff["crs"], tiff["size"], tiff["count"], tiff["dtype"]) == (tile.epsg, (500, 500), 2, "uint16")
        assert (tiff["transform"].c, tiff["transform"].f) == (tile.bounds[0], tile.bounds[3])
        assert tiff["data"].max() > 0
    manifest = _manifest(live, f"v2out/featureManifest-{grid_id}.gpkg")
    assert set(manifest) == {f"feature_{t.epsg}" for t in expected_tiles}
    rows = [r for table in manifest.values() for r in table]
    assert sorted(r["identifier"] for r in rows) == names
    assert {r["path"] for r in rows} == {f"s3://{live.weed.bucket}/{k}" for k in tiffs}
    assert {(r["outputId"], r["width"], r["height"]) for r in rows} == {("default", 500, 500)}
    execution = _execution(live, f"v2out/execution-{grid_id}.sqlite")
    assert [(r[1], r[2], r[3], r[4]) for r in execution] == [
        (t.name, "DONE", None, 1) for t in sorted(expected_tiles, key=lambda t: t.id)
    ]

    # GeoPackage request: one output per feature, named by its identifier, at the feature's own size
    feature_id = out["features_created"]["id"]
    assert out["features_done"] == {"status": "DONE", "completion": 100}
    for feature in features:
        tiff = _tiff(live, f"v2out/{feature_id}/{feature['identifier']}/default.tif")
        minx, _miny, _maxx, maxy = feature["geometry"].bounds
        assert tiff["crs"] == 32632 and tiff["size"] == (feature["width"], feature["height"])
        assert (tiff["transform"].c, tiff["transform"].f) == (minx, maxy)
        assert tiff["data"].max() > 0
    manifest = _manifest(live, f"v2out/featureManifest-{feature_id}.gpkg")
    assert list(manifest) == ["feature_32632"]
    assert sorted((r["identifier"], r["width"], r["height"]) for r in manifest["feature_32632"]) == [
        ("field-a", 100, 100),
        ("field-b", 80, 50),
    ]
    assert _execution(live, f"v2out/execution-{feature_id}.sqlite") == [
        (11, "field-a", "DONE", None, 1),
        (12, "field-b", "DONE", None, 1),
    ]

    # the stopped request: analysed (manifest written), never processed
    stopped = out["stopped"]
    assert (stopped["status"], stopped["reason"], stopped["user_action"]) == ("STOPPED", "USER_ACTION", "STOP")
    assert live.keys(f"v2out/{stopped['id']}/") == []
    assert live.keys(f"v2out/featureManifest-{stopped['id']}.gpkg")
    assert out["renamed"] == "sh-v2 stopped"

    assert {grid_id, feature_id, stopped["id"]} <= set(out["listed"])
    assert out["searched"] == [feature_id]
    assert {0, 1, 2, 3, 6, 7} <= set(out["grid_ids"]) and out["grid_7"] == "LAEA 20km grid"


def _zarr_body(live: Live, url: str, secret: str | None = None) -> dict[str, Any]:
    return {
        "processRequest": {
            "input": {
                "bounds": {"bbox": BBOX, "properties": {"crs": CRS84}},
                "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": MAY}}],
            },
            "output": {"responses": [{"identifier": "ndvi", "format": {"type": "zarr/array"}}]},
            "evalscript": NDVI,
        },
        "input": {"type": "tiling-grid", "id": 7, "resolution": 20.0},
        "output": {
            "type": "zarr",
            "delivery": {
                "s3": {"url": url, "accessKey": live.weed.access_key, "secretAccessKey": secret or live.weed.secret_key}
            },
            "group": {"zarr_format": 2},
            "arrayParameters": {"dtype": "float32", "order": "C", "chunks": [1, 500, 500], "fill_value": "NaN"},
        },
        "description": "zarr on LAEA",
    }


def test_zarr_output_on_the_laea_grid_opens_with_xarray(live):
    import xarray as xr

    from eobatch.artifacts import zarr_store

    created = live.post("/process", _zarr_body(live, f"s3://{live.weed.bucket}/zarr/<requestId>"))
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    assert live.post(f"/process/{task_id}/start").status_code == 204
    task = live.wait(task_id, {"DONE", "FAILED", "STOPPED"})
    assert task["status"] == "DONE", task

    tiles = grids.tiles_for_area(7, grids.area_from_bounds({"bbox": BBOX, "properties": {"crs": CRS84}}))
    assert {t.epsg for t in tiles} == {3035}
    minx = min(t.bounds[0] for t in tiles)
    maxx = max(t.bounds[2] for t in tiles)
    miny = min(t.bounds[1] for t in tiles)
    maxy = max(t.bounds[3] for t in tiles)
    store = zarr_store(f"s3://{live.weed.bucket}/zarr/{task_id}", live.service.settings)
    ds = xr.open_zarr(store, consolidated=False)
    assert ds["ndvi"].dims == ("time", "y", "x")
    assert ds["ndvi"].shape == (1, round((maxy - miny) / 20), round((maxx - minx) / 20))
    np.testing.assert_allclose(ds["x"].values, minx + 10 + 20 * np.arange(ds.sizes["x"]))
    np.testing.assert_allclose(ds["y"].values, maxy - 10 - 20 * np.arange(ds.sizes["y"]))
    assert str(ds["time"].values[0]).startswith("2024-05-01")
    values = ds["ndvi"].values
    assert values.dtype == np.float32
    valid = values[np.isfinite(values)]
    assert valid.size > 0 and valid.min() >= -1 and valid.max() <= 1
    # the AOI (a small field) is inside the demo area: its pixels have data
    to_laea = Transformer.from_crs(4326, 3035, always_xy=True)
    cx, cy = to_laea.transform((BBOX[0] + BBOX[2]) / 2, (BBOX[1] + BBOX[3]) / 2)
    assert np.isfinite(ds["ndvi"].sel(x=cx, y=cy, method="nearest").values).all()
    keys = live.keys(f"zarr/{task_id}/")
    assert f"zarr/{task_id}/.zgroup" in keys and f"zarr/{task_id}/ndvi/.zarray" in keys
    assert live.keys(f"zarr/featureManifest-{task_id}.gpkg") and live.keys(f"zarr/execution-{task_id}.sqlite")


def test_delivery_credentials_that_cannot_write_fail_the_analysis(live):
    body = _zarr_body(live, "unused")
    body["output"] = {
        "type": "raster",
        "delivery": {
            "s3": {
                "url": f"s3://{live.weed.bucket}/denied/<requestId>/<tileName>/<outputId>.<format>",
                "accessKey": live.weed.access_key,
                "secretAccessKey": "wrong-secret",
            }
        },
    }
    body["processRequest"]["output"] = {"responses": [{"identifier": "ndvi", "format": {"type": "image/tiff"}}]}
    body["input"] = {"type": "tiling-grid", "id": 1, "resolution": 20.0}
    created = live.post("/process", body)
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    assert live.post(f"/process/{task_id}/start").status_code == 204
    task = live.wait(task_id, {"FAILED", "DONE", "PROCESSING", "ANALYSIS_DONE"})
    assert task["status"] == "FAILED", task
    url = f"s3://{live.weed.bucket}/denied/featureManifest-{task_id}.gpkg"
    assert url in task["error"] and "credentials" in task["error"]
    assert "SignatureDoesNotMatch" in task["error"] or "403" in task["error"]
    assert task["costPU"] == 0
    assert live.keys("denied/") == []
