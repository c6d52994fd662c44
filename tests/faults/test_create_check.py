"""The create-time check of PNG/JPEG/COG outputs against the evalscript's setup() runs the script's top level
in a confined worker: a typed-array bomb there fails only its own create (400 with the reason), while the
server, its memory and other accounts' creates are untouched, and ordinary format errors stay precise."""

from __future__ import annotations

import signal

import httpx
import psutil

from tests.faults.serve import Serve, alive, request_body

SETUP = 'function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "%s"}}; }\n'
PIXEL = "function evaluatePixel(s) { return [s.B04]; }\n"
BOMB = "var keep = []; while (true) { keep.push(new Float64Array(1 << 24).fill(1)); }\n"


def _png_body(evalscript: str, bucket: str) -> dict:
    body = request_body(evalscript, bucket)
    body["processRequest"]["output"]["responses"] = [{"identifier": "default", "format": {"type": "image/png"}}]
    return body


def _create(serve: Serve, account, body: dict) -> httpx.Response:
    return httpx.post(f"{serve.url}/api/v1/batch/process", json=body, headers=account.headers, timeout=120)


def test_a_bomb_in_setup_fails_its_own_create_and_the_server_stays_small(tmp_path):
    serve = Serve(tmp_path / "data", {"EOBATCH_WORKER_MEMORY_MB": "512"})
    hostile, good = serve.add_account("hostile"), serve.add_account("good")
    try:
        serve.start()
        serve.login(hostile)
        serve.login(good)

        bombed = _create(serve, hostile, _png_body("//VERSION=3\n" + BOMB + SETUP % "UINT8" + PIXEL, "hostile"))
        assert bombed.status_code == 400, bombed.text
        error = bombed.json()["error"]
        assert error["status"] == 400 and "512 MiB memory limit" in error["message"], error

        assert httpx.get(f"{serve.url}/healthz").status_code == 200
        assert psutil.Process(serve.process.pid).memory_info().rss < 1 << 30  # the bomb went off elsewhere

        ok = _create(serve, good, _png_body("//VERSION=3\n" + SETUP % "UINT8" + PIXEL, "good"))
        assert ok.status_code == 201, ok.text
        float_png = _create(serve, good, _png_body("//VERSION=3\n" + SETUP % "FLOAT32" + PIXEL, "good"))
        assert float_png.status_code == 400 and "FLOAT32" in float_png.json()["error"]["message"], float_png.text
        broken = _create(serve, good, _png_body("//VERSION=3\nfunction setup( {\n" + PIXEL, "good"))
        assert broken.status_code == 400, broken.text
        assert broken.json()["error"]["code"] == "RENDERER_EXCEPTION", broken.text

        listed = httpx.get(f"{serve.url}/api/v1/batch/process", headers=hostile.headers).json()["data"]
        assert listed == []  # the refused create stored nothing

        assert serve.signal(signal.SIGTERM) == 0
        assert alive(serve.tree) == set()
    finally:
        serve.stop()
