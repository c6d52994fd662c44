"""API overhead over a real socket (uvicorn + httpx, SQLite): eobatch routes next to a bare FastAPI route
serving the same JSON, so the ratio is the cost of auth, the database and rendering over the framework.
The analysis of a continental request through the API is bench/bench_analysis.py."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from tests.api.helpers import body, live_server

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database

ROUNDS = 200


def _median_ms(call, rounds: int = ROUNDS) -> float:
    for _ in range(10):
        call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _row(name, value, reference, reference_value, target, note):
    return {
        "name": name,
        "value": round(value, 3),
        "unit": "ms (median)",
        "reference": reference,
        "reference_value": round(reference_value, 3),
        "ratio": round(value / reference_value, 2),
        "target": target,
        "note": note,
    }


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), workers=1)
        database = Database(settings.resolved_database_url())
        database.migrate()
        with database.session() as session:
            _, client_id, secret = create_account(session, "bench", settings)
        app = create_app(settings, database)
        with live_server(app) as base, httpx.Client(base_url=base) as http:
            token = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            ).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            created = http.post("/api/v1/batch/process", json=body()).json()
            for _ in range(99):
                http.post("/api/v1/batch/process", json=body())
            get_ms = _median_ms(lambda: http.get(f"/api/v1/batch/process/{created['id']}"))
            list_ms = _median_ms(lambda: http.get("/api/v1/batch/process", params={"count": 100}), 50)
            create_ms = _median_ms(lambda: http.post("/api/v1/batch/process", json=body()), 50)
            token_ms = _median_ms(
                lambda: http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
                ),
                30,
            )
        bare = FastAPI()
        bare.get("/object")(lambda: created)
        bare.get("/page")(lambda: {"data": [created] * 100, "links": {}})
        with live_server(bare) as base, httpx.Client(base_url=base) as http:
            bare_get = _median_ms(lambda: http.get("/object"))
            bare_list = _median_ms(lambda: http.get("/page"), 50)
        database.dispose()
    return [
        _row(
            "GET /process/{id}",
            get_ms,
            "bare FastAPI route, same JSON",
            bare_get,
            "ratio < 3",
            "token check + one SELECT + rendering over the framework floor",
        ),
        _row(
            "GET /process?count=100",
            list_ms,
            "bare FastAPI route, same 100 objects",
            bare_list,
            "ratio < 3",
            "one paged SELECT of 101 rows",
        ),
        _row(
            "POST /process (create)",
            create_ms,
            "GET /process/{id}",
            get_ms,
            "< 50 ms",
            "validation (grids, collections, templates) + INSERT",
        ),
        _row(
            "POST /oauth/token",
            token_ms,
            "GET /process/{id}",
            get_ms,
            "< 100 ms",
            "dominated by the argon2 verification of the client secret",
        ),
    ]
