"""API overhead over a real socket (uvicorn + httpx, SQLite): eobatch routes next to a bare FastAPI route
serving the same JSON, so the ratio is the cost of auth, the database and rendering over the framework."""

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
        *europe_rows(),
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


# -- analysis of a continental request through the API ---------------------------------------------

EUROPE_BBOX = [-10.0, 36.0, 30.0, 70.0]  # the bench_grids Europe box: about 100 000 tiles of grid 1
EUROPE_TIMEOUT_S = 120.0


def _europe_child(root: str) -> None:
    """In a fresh process: serve the API, create the Europe request, POST analyse and let a scheduler
    analyse it; print seconds from the POST to ANALYSIS_DONE, tiles, peak RSS before and after, and the
    seconds of the bare tile enumeration (grids.tiles_for_area) for reference."""
    import json

    from bench.api_request import api_client, create, post_action, wait_status
    from bench.bench_grids import _high_water_mib
    from eobatch.engine import LocalExecutor, Scheduler
    from eobatch.engine.execution import noop
    from eobatch.grids import area_from_bounds, tiles_for_area

    settings = Settings(data_dir=Path(root), workers=1, poll_interval_s=0.01, max_tiles_per_request=200_000)
    europe = body()
    europe["processRequest"]["input"]["bounds"] = {"bbox": EUROPE_BBOX}
    with api_client(settings) as (http, service):
        request_id = create(http, europe)
        scheduler = Scheduler(settings, service.database, LocalExecutor(1, task=noop), lease_s=120.0)
        scheduler.start()
        try:
            before = _high_water_mib()
            started = time.perf_counter()
            post_action(http, request_id, "analyse")
            try:
                tiles = wait_status(http, request_id, {"ANALYSIS_DONE"}, timeout_s=EUROPE_TIMEOUT_S)["tileCount"]
                seconds = time.perf_counter() - started
            except RuntimeError:  # too slow: report it instead of holding `make bench` up for minutes
                tiles, seconds = None, None
            after = _high_water_mib()
        finally:
            scheduler.stop()
    started = time.perf_counter()
    enumerated = len(tiles_for_area(1, area_from_bounds({"bbox": EUROPE_BBOX})))
    enumeration_s = time.perf_counter() - started
    print(json.dumps([seconds, tiles, before, after, enumeration_s, enumerated]))


def europe_rows() -> list[dict]:
    import json
    import os
    import subprocess
    import sys

    with tempfile.TemporaryDirectory(prefix="bench-europe-") as tmp:
        load_before = os.getloadavg()[0]
        done = subprocess.run(
            [sys.executable, "-c", f"import bench.bench_api as b; b._europe_child({tmp!r})"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=900,
        )
        load = f"{load_before:.2f}->{os.getloadavg()[0]:.2f}"
    if done.returncode != 0:
        raise RuntimeError(f"the Europe analysis failed:\n{done.stderr[-3000:]}")
    seconds, tiles, before, after, enumeration_s, enumerated = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        {
            "name": f"analysis through the API, Europe box on grid 1 ({enumerated} tiles)",
            "value": None if seconds is None else round(seconds, 2),
            "unit": "s",
            "reference": "grids.tiles_for_area alone, same box",
            "reference_value": round(enumeration_s, 2),
            "ratio": None if seconds is None else round(seconds / enumeration_s, 2),
            "target": "< 10 s",
            "rounds": 1,
            "load": load,
            "note": "POST analyse -> ANALYSIS_DONE seen by GET"
            + (f"; NOT DONE within {EUROPE_TIMEOUT_S:g} s" if seconds is None else f"; {tiles} tiles analysed"),
        },
        {
            "name": "  peak RSS of the API + scheduler process during that analysis",
            "value": round(after, 1),
            "unit": "MiB",
            "reference": "the same process before POST analyse",
            "reference_value": round(before, 1),
            "ratio": round(after / before, 2),
            "target": "< 1024 MiB",
            "rounds": 1,
            "load": load,
            "note": "VmHWM of a fresh process serving the API with its scheduler (at the end or the time-out)",
        },
    ]
