"""PNG and JPEG batch outputs through the real HTTP API (v1 and v2): the files are written beside their
world file and `.aux.xml`, and GDAL opens each one at its tile's place (CRS and bounds)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio
import yaml

from eobatch import grids
from eobatch.service import Service, free_port
from eobatch.settings import Settings
from eobatch.store.accounts import create_account

# true colour with an alpha band (PNG RGBA, JPEG drops it), a 16-bit band and a FLOAT32 index
EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04", "B08", "dataMask"],
          output: [{id: "rgba", bands: 4, sampleType: "AUTO"},
                   {id: "nir", bands: 1, sampleType: "UINT16"},
                   {id: "ndvi", bands: 1, sampleType: "FLOAT32"}]};
}
function evaluatePixel(s) {
  return {rgba: [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02, s.dataMask],
          nir: [s.B08 * 10000], ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)]};
}
"""
# the real Sentinel-2 L1C sample (read in place): its ~1 km area lies in one 10 km tile of UTM zone 33
REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "s2-l1c-real"
AREA = {
    "type": "Polygon",
    "coordinates": [
        [[14.55134, 45.86589], [14.56429, 45.86589], [14.56429, 45.87503], [14.55134, 45.87503], [14.55134, 45.86589]]
    ],
}
SUMMER = {"from": "2015-07-01T00:00:00Z", "to": "2015-08-25T00:00:00Z"}
DATA = [{"type": "sentinel-2-l1c-real", "dataFilter": {"timeRange": SUMMER}}]
GRID, RESOLUTION = 1, 20.0
RESPONSES = [
    {"identifier": "rgba", "format": {"type": "image/png"}},
    {"identifier": "nir", "format": {"type": "image/png"}},
    {"identifier": "ndvi", "format": {"type": "image/tiff"}},
]
TEMPLATE = "s3://results/<requestId>/<tileName>/<outputId>.<format>"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("images")
    collections = folder / "collections.yaml"
    collections.write_text(
        yaml.safe_dump(
            {
                "collections": {
                    "sentinel-2-l1c-real": {
                        "preset": "sentinel-2-l1c",
                        "source": {"kind": "static", "href": str((REAL / "collection.json").resolve())},
                    }
                }
            }
        )
    )
    settings = Settings(data_dir=folder / "data", collections_file=collections, workers=1, poll_interval_s=0.05)
    service = Service(settings, port=free_port())
    with service.database.session() as session:
        _account, client_id, secret = create_account(session, "images", settings)
    try:
        service.start_in_thread()
        token = httpx.post(
            service.url + "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        ).json()["access_token"]
        yield service, {"Authorization": f"Bearer {token}"}
    finally:
        service.stop()


def _wait_done(url: str, headers: dict[str, str], status_key: str = "status") -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        request = httpx.get(url, headers=headers).json()
        if request[status_key] in ("DONE", "PARTIAL", "FAILED", "STOPPED"):
            return request
        time.sleep(0.2)
    raise AssertionError(f"request did not finish: {request}")


def _check_placed(path: Path, tile: grids.GridTile, *, driver: str, count: int, dtype: str) -> np.ndarray:
    """GDAL opens `path` with the CRS and bounds of `tile` (from the sidecars: PNG/JPEG hold neither)."""
    with rasterio.open(path) as src:
        assert (src.driver, src.count, src.dtypes[0]) == (driver, count, dtype)
        assert src.crs.to_epsg() == tile.epsg
        assert tuple(src.bounds) == pytest.approx(tile.bounds, abs=1e-6)
        data = src.read()
    assert data.any()  # real pixels, not an empty image
    return data


def test_v1_png_8_and_16_bit_with_alpha_beside_a_tiff(live):
    service, headers = live
    body = {
        "processRequest": {
            "input": {"bounds": {"geometry": AREA}, "data": DATA},
            "output": {"responses": RESPONSES},
            "evalscript": EVALSCRIPT,
        },
        "tilingGrid": {"id": GRID, "resolution": RESOLUTION},
        "output": {"defaultTilePath": TEMPLATE},
    }
    base = service.url + "/api/v1/batch/process"
    created = httpx.post(base, json=body, headers=headers)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert httpx.post(f"{base}/{request_id}/start", headers=headers).status_code == 204
    request = _wait_done(f"{base}/{request_id}", headers)
    assert request["status"] == "DONE", request
    tiles = httpx.get(f"{base}/{request_id}/tiles", headers=headers).json()["data"]
    assert tiles
    buckets = service.settings.buckets_dir
    for wire_tile in tiles:
        tile = grids.tile_by_id(GRID, wire_tile["id"])
        folder = buckets / "results" / request_id / tile.name
        assert sorted(p.name for p in folder.iterdir()) == [
            "ndvi.tif",
            "nir.pgw",
            "nir.png",
            "nir.png.aux.xml",
            "rgba.pgw",
            "rgba.png",
            "rgba.png.aux.xml",
        ]
        rgba = _check_placed(folder / "rgba.png", tile, driver="PNG", count=4, dtype="uint8")
        with rasterio.open(folder / "rgba.png") as src:
            assert src.colorinterp[3].name == "alpha"
        assert set(np.unique(rgba[3])) <= {0, 255} and (rgba[3] == 255).any()
        _check_placed(folder / "nir.png", tile, driver="PNG", count=1, dtype="uint16")
        with rasterio.open(folder / "ndvi.tif") as tif, rasterio.open(folder / "nir.png") as png:
            assert (tif.crs, tif.transform) == (png.crs, png.transform)


def test_v2_jpeg_with_quality_and_png_in_one_request(live):
    service, headers = live
    responses = [
        {"identifier": "rgba", "format": {"type": "image/jpeg", "quality": 95}},
        {"identifier": "nir", "format": {"type": "image/png"}},
        {"identifier": "ndvi", "format": {"type": "image/tiff"}},
    ]
    body = {
        "processRequest": {
            "input": {"bounds": {"geometry": AREA}, "data": DATA},
            "output": {"responses": responses},
            "evalscript": EVALSCRIPT,
        },
        "input": {"type": "tiling-grid", "id": GRID, "resolution": RESOLUTION},
        "output": {"type": "raster", "delivery": {"s3": {"url": TEMPLATE}}},
    }
    base = service.url + "/api/v2/batch/process"
    created = httpx.post(base, json=body, headers=headers)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert httpx.post(f"{base}/{request_id}/start", headers=headers).status_code in (200, 204)
    request = _wait_done(f"{base}/{request_id}", headers)
    assert request["status"] == "DONE", request
    tiles = httpx.get(f"{service.url}/api/v1/batch/process/{request_id}/tiles", headers=headers).json()["data"]
    for wire_tile in tiles:
        tile = grids.tile_by_id(GRID, wire_tile["id"])
        folder = service.settings.buckets_dir / "results" / request_id / tile.name
        assert {"rgba.jpg", "rgba.jgw", "rgba.jpg.aux.xml", "nir.png", "nir.pgw", "ndvi.tif"} <= {
            p.name for p in folder.iterdir()
        }
        _check_placed(folder / "rgba.jpg", tile, driver="JPEG", count=3, dtype="uint8")


def test_a_float32_png_is_refused_at_create(live):
    service, headers = live
    body = {
        "processRequest": {
            "input": {"bounds": {"geometry": AREA}, "data": DATA},
            "output": {"responses": [{**r, "format": {"type": "image/png"}} for r in RESPONSES]},
            "evalscript": EVALSCRIPT,
        },
        "tilingGrid": {"id": GRID, "resolution": RESOLUTION},
        "output": {"defaultTilePath": TEMPLATE},
    }
    base = service.url + "/api/v1/batch/process"
    before = len(httpx.get(base, headers=headers).json()["data"])
    response = httpx.post(base, json=body, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == (
        "Output 'ndvi' has sampleType FLOAT32, which image/png cannot hold; allowed: AUTO, UINT16, UINT8"
    )
    assert error["errors"][0]["parameter"] == "processRequest.output.responses[2].format.type"
    assert len(httpx.get(base, headers=headers).json()["data"]) == before
