"""Cluster acceptance: the production layout in separate processes, with a worker and a scheduler killed.

Two `eobatch serve` processes (API + scheduler each, EOBATCH_EXECUTOR=dask) share one PostgreSQL; a
`dask scheduler` and two `dask worker` processes run the tiles. The workers get nothing from eobatch
but the installed package and what travels in the tasks: they run in their own empty folders, read the
real Sentinel-2 archive (../shared/data) and write every output to SeaweedFS. A request of 210 tiles
(grid 2 at 360 m, 278 x 278 px) is created through one API and started through the other; once tiles
are being processed one Dask worker and one eobatch server are SIGKILLed. The request must end DONE
with every tile PROCESSED and charged exactly once, one object per tile in the bucket, and an exact
ledger.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rasterio
from sqlalchemy import func, select

from eobatch.service import free_port
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database
from eobatch.store.models import Tile
from tests.engine.helpers import check_invariants, processed_events, request_row, tile_charges, wait_for
from tests.support.dask_processes import DaskProcesses, start_dask
from tests.support.seaweed import Seaweed, start_seaweed

REPO = Path(__file__).resolve().parents[2]
EOBATCH = Path(sys.executable).parent / "eobatch"
COLLECTIONS = REPO / "examples" / "collections-real.yaml"
BBOX = [7.5, 40.0, 22.0, 52.0]  # 210 tiles of grid 2; one of them holds the real scenes near Ljubljana
TILES = 210
JWT_SECRET = "cluster-test-secret-0123456789abcdef"
TRUE_COLOUR = """//VERSION=3
function setup() { return {input: ["B02", "B03", "B04", "dataMask"], output: {bands: 4, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [255 * s.B04, 255 * s.B03, 255 * s.B02, 255 * s.dataMask]; }
"""


@pytest.fixture
def seaweed() -> Iterator[Seaweed]:
    weed = start_seaweed()
    try:
        yield weed
    finally:
        weed.stop()


@pytest.fixture
def dask_cluster() -> Iterator[DaskProcesses]:
    cluster = start_dask(2)
    try:
        yield cluster
    finally:
        cluster.stop()


class Server:
    """`eobatch serve` (API + scheduler on the Dask executor) in its own process and folder."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.port = free_port()
        self.folder = folder
        folder.mkdir(parents=True)
        self.log = folder / "serve.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(EOBATCH), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                    "--data-dir", str(folder / "data"), "--collections", str(COLLECTIONS),
                ],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
            )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                httpx.get(f"{self.url}/api/v1/batch/process", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"eobatch serve did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _token(url: str, client_id: str, secret: str) -> dict[str, str]:
    response = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=30,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _processed(database: Database, request_id: str) -> int:
    with database.session() as s:
        query = select(func.count()).where(Tile.request_id == request_id, Tile.status == "PROCESSED")
        return s.execute(query).scalar_one()


def test_a_cluster_survives_a_lost_worker_and_a_lost_scheduler(
    postgres_server, seaweed: Seaweed, dask_cluster: DaskProcesses, tmp_path: Path
):
    url = postgres_server.new_database()
    database = Database(url)
    database.migrate()
    env = os.environ | {
        "EOBATCH_DATABASE_URL": url,
        "EOBATCH_EXECUTOR": "dask",
        "EOBATCH_DASK_ADDRESS": dask_cluster.address,
        "EOBATCH_S3_ENDPOINT": seaweed.endpoint,
        "EOBATCH_S3_ACCESS_KEY": seaweed.access_key,
        "EOBATCH_S3_SECRET_KEY": seaweed.secret_key,
        "EOBATCH_JWT_SECRET": JWT_SECRET,
        "EOBATCH_TILE_HEARTBEAT_TIMEOUT_S": "4",
        "EOBATCH_POLL_INTERVAL_S": "0.05",
        "EOBATCH_CLEANUP_FAILED_AFTER_S": "0",
        "EOBATCH_CLEANUP_UNSTARTED_AFTER_S": "0",
        "EOBATCH_CLEANUP_FINISHED_AFTER_S": "0",
    }
    servers = [Server(tmp_path / name, env) for name in ("a", "b")]
    try:
        for server in servers:
            server.wait_ready()
        with database.session() as s:
            _, client_id, secret = create_account(s, "cluster", Settings(data_dir=tmp_path))
        a, b = servers
        headers = _token(a.url, client_id, secret)
        body = {
            "processRequest": {
                "input": {
                    "bounds": {"bbox": BBOX},
                    "data": [
                        {
                            "type": "sentinel-2-l1c",
                            "dataFilter": {"timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-07-31T23:59:59Z"}},
                        }
                    ],
                },
                "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
                "evalscript": TRUE_COLOUR,
            },
            "tilingGrid": {"id": 2, "resolution": 360.0},
            "output": {
                "defaultTilePath": f"s3://{seaweed.bucket}/<requestId>/<tileName>.<format>",
                "overwrite": True,
            },
        }
        created = httpx.post(f"{a.url}/api/v1/batch/process", json=body, headers=headers, timeout=30)
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        started = httpx.post(f"{b.url}/api/v1/batch/process/{request_id}/start", headers=headers, timeout=30)
        assert started.status_code < 300, started.text

        wait_for(lambda: _processed(database, request_id) >= 30, timeout=300, what="30 tiles processed")
        dask_cluster.kill_worker(0)
        a.kill()

        wait_for(lambda: request_row(database, request_id).status == "DONE", timeout=600, what="request DONE")
        final = httpx.get(f"{b.url}/api/v1/batch/process/{request_id}", headers=headers, timeout=30).json()
        assert (final["status"], final["tileCount"]) == ("DONE", TILES)

        names = set(processed_events(database, request_id))
        assert len(names) == TILES
        assert processed_events(database, request_id) == dict.fromkeys(names, 1)  # each tile processed once
        charges = tile_charges(database, request_id)
        assert len(charges) == TILES and set(charges.values()) == {1}  # and charged once
        check_invariants(database)

        s3 = seaweed.client()
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=seaweed.bucket, Prefix=f"{request_id}/")
            for o in page.get("Contents", [])
        ]
        assert sorted(keys) == sorted(f"{request_id}/{name}.tif" for name in names)
        with database.session() as s:
            with_data = s.execute(
                select(Tile.name).where(Tile.request_id == request_id, Tile.no_data.is_(False))
            ).scalars()
            with_data = list(with_data)
        assert with_data  # the tile over the real scenes got pixels
        data = s3.get_object(Bucket=seaweed.bucket, Key=f"{request_id}/{with_data[0]}.tif")["Body"].read()
        with rasterio.open(io.BytesIO(data)) as tif:
            assert (tif.count, tif.width, tif.height) == (4, 278, 278)
            assert tif.read(4).max() == 255
        local = [p for p in tmp_path.rglob("*.tif")] + [p for p in dask_cluster.scratch.rglob("*.tif")]
        assert local == []  # nothing was written to a local folder
    finally:
        for server in servers:
            server.stop()
        database.dispose()
