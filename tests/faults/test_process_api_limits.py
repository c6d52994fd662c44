"""Hostile evalscripts through the real Process API of a real `eobatch serve`: a typed-array bomb and an
endless loop each fail their own window with a 400 that names the limit, while another account's windows
are answered; one account cannot hold more windows than its share; the server process itself stays
small; SIGTERM stops the Process API's workers with the service.

The windows run on the Process API's confined pool: 1 GiB per worker (a memory cgroup where the
machine offers one, else the resident-memory watchdog) and 5 s of CPU time per window.
"""

from __future__ import annotations

import io
import signal
import threading
import time

import httpx
import psutil
import rasterio

from tests.faults.serve import Serve, alive

UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"
WINDOW = [465400.0, 5079400.0, 465800.0, 5079800.0]  # inside the real Sentinel-2 sample scenes
SETUP = 'function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "FLOAT32"}}; }\n'
GOOD = "//VERSION=3\n" + SETUP + "function evaluatePixel(s) { return [s.B04]; }\n"
TYPED_ARRAYS = "var keep = []; while (true) { keep.push(new Float64Array(1 << 24).fill(1)); }\n"
LOOP = "function evaluatePixel(s) { while (true) {} }\n"
BOMB = "//VERSION=3\n" + SETUP + TYPED_ARRAYS + "function evaluatePixel(s) { return [1]; }\n"


def _body(evalscript: str) -> dict:
    return {
        "input": {
            "bounds": {"bbox": WINDOW, "properties": {"crs": UTM33}},
            "data": [
                {
                    "type": "sentinel-2-l1c",
                    "dataFilter": {"timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T23:59:59Z"}},
                }
            ],
        },
        "output": {"resx": 20, "resy": 20, "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": evalscript,
    }


def _post(serve: Serve, account, evalscript: str) -> httpx.Response:
    return httpx.post(f"{serve.url}/api/v1/process", json=_body(evalscript), headers=account.headers, timeout=300)


def _error(response: httpx.Response) -> str:
    error = response.json()["error"]
    assert error["status"] == response.status_code and error["code"]
    return error["message"]


def _pixels(response: httpx.Response):
    with rasterio.open(io.BytesIO(response.content)) as window:
        return window.read()


def _restarts(serve: Serve) -> dict[str, float]:
    return {
        line.split('"')[1]: float(line.split()[-1])
        for line in httpx.get(f"{serve.url}/metrics").text.splitlines()
        if line.startswith("eobatch_worker_restarts_total{")
    }


def test_bombs_and_loops_through_the_process_api_fail_only_their_own_window(tmp_path):
    serve = Serve(
        tmp_path / "data",
        {
            "EOBATCH_WORKERS": "1",
            "EOBATCH_WORKER_MEMORY_MB": "1024",
            "EOBATCH_PROCESS_API_WORKERS": "2",
            "EOBATCH_PROCESS_API_CPU_LIMIT_S": "5",  # CPU time: what a busy machine does not stretch
            "EOBATCH_PROCESS_API_TIME_LIMIT_S": "300",
            "EOBATCH_PROCESS_API_PER_ACCOUNT": "1",
            "EOBATCH_EVALSCRIPT_TIMEOUT_S": "300",  # the worker's limit, not V8's, ends the loop
        },
    )
    hostile, good = serve.add_account("hostile"), serve.add_account("good")
    try:
        serve.start()
        serve.login(hostile)
        serve.login(good)
        first = _post(serve, good, GOOD)
        assert first.status_code == 200, first.text
        serve.remember_tree()  # serve and the Process API's workers

        bomb = _post(serve, hostile, BOMB)
        assert bomb.status_code == 400, bomb.text
        assert "exceeded the 1 GiB memory limit" in _error(bomb) and "Process API window" in _error(bomb)

        looped: list[httpx.Response] = []

        def send_the_loop() -> None:  # until it is admitted (the probes below may hold the account's slot)
            while not looped or looped[-1].status_code == 429:
                time.sleep(0.1 if looped else 0)
                looped.append(_post(serve, hostile, "//VERSION=3\n" + SETUP + LOOP))

        loop = threading.Thread(target=send_the_loop)
        loop.start()
        refused = None
        while loop.is_alive() and refused is None:  # until the loop is admitted, a probe window just runs
            time.sleep(0.5)
            probe = _post(serve, hostile, GOOD)
            if probe.status_code == 429:
                refused = probe
        beside = _post(serve, good, GOOD)  # the other worker answers the other account meanwhile
        loop.join()

        assert refused is not None, "the hostile account's second window was never refused"
        assert "already has 1 Process API window" in _error(refused) and refused.headers["Retry-After"]
        assert beside.status_code == 200 and beside.headers["content-type"] == "image/tiff", beside.text
        assert looped[-1].status_code == 400, looped[-1].text
        assert "exceeded the CPU time limit of 5 s" in _error(looped[-1])

        after = _post(serve, good, GOOD)  # replaced workers answer as before
        assert after.status_code == 200 and _pixels(after).tolist() == _pixels(first).tolist()
        assert httpx.get(f"{serve.url}/healthz").status_code == 200
        restarts = _restarts(serve)
        assert restarts.get("memory", 0) >= 1 and restarts.get("cpu", 0) >= 1, restarts
        server = psutil.Process(serve.process.pid)
        assert server.memory_info().rss < 1 << 30  # the bombs never grew the server itself

        serve.remember_tree()
        assert serve.signal(signal.SIGTERM) == 0, serve.tail()
        assert alive(serve.tree) == set()  # the Process API's workers stopped with the service
    finally:
        serve.stop()
