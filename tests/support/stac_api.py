"""A real STAC API server for tests (infra-notes.md §6.1): stac-fastapi-pgstac on the test PostgreSQL,
items loaded with pypgstac, in a throwaway virtualenv (its pins differ from eobatch's). The server
counts the searches it answers (`searches()`), so tests can check "one search per collection"."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.postgres import PostgresServer
from tests.support.venvs import venv_python

REQUIREMENTS = ("stac-fastapi-pgstac==7.2.0", "pypgstac[psycopg]==0.10.0", "uvicorn==0.54.0")
APP = Path(__file__).with_name("stac_api_app.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StacApiServer:
    url: str
    dsn: str
    python: Path
    process: subprocess.Popen
    folder: Path

    def load(self, collection: dict, items: list[dict]) -> None:
        """Insert a collection and its items (dicts with absolute asset hrefs) with pypgstac."""
        (self.folder / "collection.json").write_text(json.dumps(collection))
        with open(self.folder / "items.ndjson", "w") as f:
            for item in items:
                f.write(json.dumps({**item, "collection": collection["id"]}) + "\n")
        for kind, name in (("collections", "collection.json"), ("items", "items.ndjson")):
            self._pypgstac("load", kind, str(self.folder / name), "--method", "insert_ignore")

    def searches(self) -> dict[str, int]:
        """{"searches": n, "pages": m} answered since the start."""
        return httpx.get(f"{self.url}/_test/searches", timeout=10).json()

    def _pypgstac(self, *args: str) -> None:
        subprocess.run(
            [str(self.python.parent / "pypgstac"), *args, "--dsn", self.dsn], check=True, capture_output=True
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_stac_api(pg: PostgresServer, timeout_s: float = 60.0) -> StacApiServer:
    """A new database on `pg`, migrated to pgstac, and the API on a free port (ready when /_mgmt/ping answers)."""
    import psycopg

    python = venv_python("stac-api", *REQUIREMENTS)
    name = "stac_" + uuid.uuid4().hex[:10]
    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"postgresql://postgres@127.0.0.1:{pg.port}/{name}"
    folder = Path(tempfile.mkdtemp(prefix="eobatch-stac-"))
    subprocess.run([str(python.parent / "pypgstac"), "migrate", "--dsn", dsn], check=True, capture_output=True)
    port = _free_port()
    env = os.environ | {
        "PGUSER": "postgres",
        "PGPASSWORD": "unused",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(pg.port),
        "PGDATABASE": name,
    }
    with open(folder / "api.log", "wb") as log:  # the server keeps its own copy of the handle
        process = subprocess.Popen([str(python), str(APP), str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    server = StacApiServer(f"http://127.0.0.1:{port}", dsn, python, process, folder)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{server.url}/_mgmt/ping", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    output = (folder / "api.log").read_text(errors="replace")[-2000:]
    server.stop()
    raise RuntimeError(f"stac-fastapi-pgstac did not start within {timeout_s} s:\n{output}")
