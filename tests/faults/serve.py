"""A real `eobatch serve` process for the fault suite: started with EOBATCH_* settings on the real
Sentinel-2 sample data, driven over HTTP, stopped with a signal; its whole process tree is tracked."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from eobatch.service import free_port
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database

REPO = Path(__file__).resolve().parents[2]
EOBATCH = Path(sys.executable).parent / "eobatch"
COLLECTIONS = REPO / "examples" / "collections-real.yaml"

NDVI = """//VERSION=3
function setup() { return {input: ["B04", "B08", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04 + 1e-6), s.dataMask]; }
"""

# Around the real scenes near Ljubljana (EPSG:32633): tiles of grid 1 at 20 m, 500 x 500 px.
AREA = {"bbox": [14.50, 45.84, 14.62, 45.90], "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}


def request_body(evalscript: str, bucket: str, area: dict | None = None) -> dict[str, Any]:
    return {
        "processRequest": {
            "input": {
                "bounds": area or AREA,
                "data": [
                    {
                        "type": "sentinel-2-l1c",
                        "dataFilter": {"timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T23:59:59Z"}},
                    }
                ],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": evalscript,
        },
        "tilingGrid": {"id": 1, "resolution": 20.0},
        "output": {"defaultTilePath": f"s3://{bucket}/<requestId>/<tileName>/<outputId>.<format>"},
    }


@dataclass
class Account:
    name: str
    client_id: str
    secret: str
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Serve:
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    tree: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / f"serve-{self.port}.log"

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir)

    def add_account(self, name: str) -> Account:
        database = Database(self.settings().resolved_database_url())
        database.migrate()
        with database.session() as session:
            _, client_id, secret = create_account(session, name, self.settings())
        database.dispose()
        return Account(name, client_id, secret)

    def start(self, timeout: float = 120.0) -> Serve:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = os.environ | {"EOBATCH_DATA_DIR": str(self.data_dir), "EOBATCH_LOG_FORMAT": "json"} | self.env
        cmd = [str(EOBATCH), "serve", "--port", str(self.port), "--collections", str(COLLECTIONS)]
        with self.log.open("ab") as log:  # the server keeps its own copy of the handle
            self.process = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"serve exited with {self.process.returncode}:\n{self.tail()}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"serve did not answer in {timeout} s:\n{self.tail()}"
            time.sleep(0.2)

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def login(self, account: Account) -> Account:
        response = httpx.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": account.client_id, "client_secret": account.secret},
        )
        assert response.status_code == 200, response.text
        account.token = response.json()["access_token"]
        return account

    def submit(self, account: Account, body: dict[str, Any]) -> str:
        response = httpx.post(f"{self.url}/api/v1/batch/process", json=body, headers=account.headers, timeout=30)
        assert response.status_code == 201, response.text
        request_id = response.json()["id"]
        started = httpx.post(f"{self.url}/api/v1/batch/process/{request_id}/start", headers=account.headers)
        assert started.status_code == 204, started.text
        return request_id

    def request(self, account: Account, request_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/batch/process/{request_id}", headers=account.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, account: Account, request_id: str, statuses: set[str], timeout: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.request(account, request_id)
            if found["status"] in statuses:
                return found
            assert self.process is not None and self.process.poll() is None, f"serve died:\n{self.tail()}"
            assert time.monotonic() < deadline, f"{request_id} still {found['status']} after {timeout} s"
            time.sleep(0.5)

    def remember_tree(self) -> set[int]:
        """The pids of serve and every process below it (workers), as of now."""
        assert self.process is not None
        root = psutil.Process(self.process.pid)
        self.tree |= {root.pid} | {p.pid for p in root.children(recursive=True)}
        return self.tree

    def signal(self, sig: int, timeout: float = 120.0) -> int:
        assert self.process is not None
        self.remember_tree()
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.remember_tree()
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        for pid in self.tree:  # never leave a worker behind, even when a test failed
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def alive(pids: set[int], grace_s: float = 10.0) -> set[int]:
    """Those of `pids` still running after up to `grace_s` seconds (zombies count as gone).

    A parent's death reaches its workers as a signal that the kernel delivers asynchronously, and a
    large worker takes a moment to exit, so a worker still present right after its parent was reaped
    is given a little time; one that outlives the grace is an orphan.
    """
    deadline = time.monotonic() + grace_s
    while True:
        found = set()
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    found.add(pid)
            except psutil.NoSuchProcess:
                continue
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)
