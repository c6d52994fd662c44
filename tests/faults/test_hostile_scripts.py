"""Hostile evalscripts against a real `eobatch serve`: typed-array and WebAssembly memory bombs in a tile
and at analysis, and an endless loop in a tile, while another account's request runs beside them.

Workers run with a 1 GiB memory limit and 5 s of CPU time per tile (a memory cgroup per worker
where the machine offers one, else the resident-memory watchdog), so the machine stays safe; every
bomb fails its own request with a clear reason, the service stays up, and the other account's
request ends DONE with every tile processed.
"""

from __future__ import annotations

import signal

import httpx
from sqlalchemy import select

from eobatch.store.db import Database
from eobatch.store.models import Tile
from tests.faults.serve import NDVI, Serve, alive, request_body

# A tile evaluates far more than the 16 pixels of the analysis-time check: the bombs go off in tiles only.
IN_TILE = "var calls = 0;\nfunction evaluatePixel(s) {{ if (++calls > 64) {{ {bomb} }} return [s.B04]; }}\n"
SETUP = 'function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "FLOAT32"}}; }\n'
TYPED_ARRAYS = "var keep = []; while (true) { keep.push(new Float64Array(1 << 24).fill(1)); }"
WASM = (
    "var memory = new WebAssembly.Memory({initial: 1}); var keep = [];"
    " while (true) { memory.grow(1024); keep.push(new Uint8Array(memory.buffer).fill(1)); }"
)
LOOP = "while (true) {}"


def _script(body: str) -> str:
    return "//VERSION=3\n" + SETUP + body


def test_bombs_and_loops_fail_their_own_requests_while_another_account_ends_done(tmp_path):
    serve = Serve(
        tmp_path / "data",
        {
            "EOBATCH_WORKERS": "2",
            "EOBATCH_WORKER_MEMORY_MB": "1024",
            "EOBATCH_TILE_CPU_LIMIT_S": "5",  # CPU time: what a busy machine does not stretch
            "EOBATCH_TILE_TIME_LIMIT_S": "300",
            "EOBATCH_EVALSCRIPT_TIMEOUT_S": "300",  # the worker's limit, not V8's, ends the loop
            "EOBATCH_ANALYSIS_TIME_LIMIT_S": "60",
            "EOBATCH_POLL_INTERVAL_S": "0.05",
        },
    )
    hostile, good = serve.add_account("hostile"), serve.add_account("good")
    try:
        serve.start()
        serve.login(hostile)
        serve.login(good)
        one_tile = {"bbox": [14.551, 45.866, 14.564, 45.875], "properties": AREA_CRS}
        hostile_ids = {
            "typed arrays in a tile": serve.submit(
                hostile, request_body(_script(IN_TILE.format(bomb=TYPED_ARRAYS)), "hostile", one_tile)
            ),
            "wasm in a tile": serve.submit(
                hostile, request_body(_script(IN_TILE.format(bomb=WASM)), "hostile", one_tile)
            ),
            "typed arrays at analysis": serve.submit(
                hostile,
                request_body(_script(TYPED_ARRAYS + "\nfunction evaluatePixel(s) { return [1]; }\n"), "hostile"),
            ),
            "wasm at analysis": serve.submit(
                hostile, request_body(_script(WASM + "\nfunction evaluatePixel(s) { return [1]; }\n"), "hostile")
            ),
            "endless loop in a tile": serve.submit(
                hostile, request_body(_script(IN_TILE.format(bomb=LOOP)), "hostile", one_tile)
            ),
        }
        good_id = serve.submit(good, request_body(NDVI, "good"))

        done = serve.wait(good, good_id, {"DONE", "PARTIAL", "FAILED"}, timeout=400)
        assert done["status"] == "DONE", done.get("error")
        good_tiles = httpx.get(
            f"{serve.url}/api/v1/batch/process/{good_id}/tiles", headers=good.headers, params={"count": 100}
        ).json()["data"]
        assert good_tiles and {t["status"] for t in good_tiles} == {"PROCESSED"}
        assert set(_attempts(serve, good_id)) == {1}  # no attempt lost to the other account's bombs

        outcomes = {
            what: serve.wait(hostile, rid, {"FAILED", "PARTIAL", "DONE"}, 400) for what, rid in hostile_ids.items()
        }
        for what, found in outcomes.items():
            assert found["status"] == "FAILED", (what, found["status"], found.get("error"))
        for what in ("typed arrays in a tile", "typed arrays at analysis"):
            assert "exceeded the 1 GiB memory limit" in _reasons(serve, hostile, hostile_ids[what], outcomes[what])
        for what in ("wasm in a tile", "wasm at analysis"):
            reason = _reasons(serve, hostile, hostile_ids[what], outcomes[what])
            assert "memory limit" in reason or "WebAssembly.Memory" in reason, reason
        loop = _reasons(serve, hostile, hostile_ids["endless loop in a tile"], outcomes["endless loop in a tile"])
        assert "exceeded the CPU time limit of 5 s" in loop and "3 of 3 attempts" in loop

        assert httpx.get(f"{serve.url}/healthz").status_code == 200
        restarts = {
            line.split('"')[1]: float(line.split()[-1])
            for line in httpx.get(f"{serve.url}/metrics").text.splitlines()
            if line.startswith("eobatch_worker_restarts_total{")
        }
        assert restarts.get("cpu", 0) >= 3 and restarts.get("memory", 0) >= 2, restarts

        assert serve.signal(signal.SIGTERM) == 0
        assert alive(serve.tree) == set()
    finally:
        serve.stop()


AREA_CRS = {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}


def _attempts(serve: Serve, request_id: str) -> list[int]:
    database = Database(serve.settings().resolved_database_url())
    try:
        with database.session() as s:
            return list(s.execute(select(Tile.attempts).where(Tile.request_id == request_id)).scalars())
    finally:
        database.dispose()


def _reasons(serve: Serve, account, request_id: str, found: dict) -> str:
    """The request's error and its tiles' errors, in one text."""
    tiles = httpx.get(
        f"{serve.url}/api/v1/batch/process/{request_id}/tiles", headers=account.headers, params={"count": 100}
    ).json()
    return " | ".join([found.get("error") or ""] + [t.get("error") or "" for t in tiles.get("data", [])])
