"""The `eobatch` command as a user runs it: real processes, a real server, real files."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyogrio.raw
import pytest
import rasterio

from eobatch import grids
from eobatch.service import free_port

REPO = Path(__file__).resolve().parents[2]
EOBATCH = [sys.executable, "-m", "eobatch.cli"]
AREA = {
    "type": "Polygon",
    "coordinates": [[[11.91, 45.095], [12.09, 45.095], [12.09, 45.185], [11.91, 45.185], [11.91, 45.095]]],
}


def run(
    *args: str, data_dir: Path, check: bool = True, timeout: float = 300, cwd: Path = REPO, **env_extra: str
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "EOBATCH_DATA_DIR": str(data_dir),
        "EOBATCH_WORKERS": "2",
        "EOBATCH_CONFIG_DIR": str(data_dir / "user-config"),  # never the real ~/.config
        **env_extra,
    }
    result = subprocess.run([*EOBATCH, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        command = " ".join(args)
        raise AssertionError(f"eobatch {command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


def test_demo_runs_a_real_request_to_done_with_outputs_in_both_utm_zones(data_dir: Path):
    result = run("demo", data_dir=data_dir, timeout=240)
    assert "status: DONE" in result.stdout
    assert "PU charged:" in result.stdout
    paths = [Path(line.strip()) for line in result.stdout.splitlines() if line.strip().endswith(".tif")]
    assert paths, result.stdout
    crs_seen = set()
    for path in paths:
        with rasterio.open(path) as ds:
            assert ds.crs.to_epsg() in (32632, 32633)
            crs_seen.add(ds.crs.to_epsg())
            assert (ds.width, ds.height) == (1000, 1000)
            assert ds.transform.a == 10.0 and ds.transform.e == -10.0
            assert ds.transform.c % 10 == 0 and ds.transform.f % 10 == 0
            if path.stem == "truecolor":
                assert ds.count == 4 and ds.dtypes[0] == "uint8"
            else:
                assert path.stem == "ndvi" and ds.count == 1 and ds.dtypes[0] == "float32"
                assert math.isnan(ds.nodata)  # the evalscript's nodataValue: NaN
    assert crs_seen == {32632, 32633}

    again = run("demo", data_dir=data_dir, timeout=240)  # the same folder again: its demo account and bucket
    assert "status: DONE" in again.stdout, again.stdout
    assert all("account: demo (client id" in r.stdout + r.stderr for r in (result, again))


def test_grids_listing_and_export_to_geopackage(tmp_path: Path, data_dir: Path):
    listed = json.loads(run("grids", "--json", data_dir=data_dir).stdout)
    assert [g["id"] for g in listed] == [g.id for g in grids.list_grids()]
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": AREA}))
    target = tmp_path / "grid.gpkg"
    run("grids", "export", "--grid", "1", "--aoi", str(aoi), "--format", "gpkg", "-o", str(target), data_dir=data_dir)
    expected = grids.tiles_for_area(1, grids.area_from_bounds({"geometry": AREA}))
    _meta, _fids, _geometry, fields = pyogrio.raw.read(target, columns=["name"])
    assert sorted(fields[0]) == sorted(t.name for t in expected)


@pytest.fixture
def server(data_dir: Path):
    port = free_port()
    # several accounts here write to the example's bucket: no bucket claims (docs/operations.md, "Tenancy")
    env = {**os.environ, "EOBATCH_DATA_DIR": str(data_dir), "EOBATCH_TENANCY": "shared"}
    log_path = data_dir / "serve.log"
    with log_path.open("ab") as log:  # the server keeps its own copy of the handle
        proc = subprocess.Popen(
            [*EOBATCH, "serve", "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/openapi.json", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise AssertionError(log_path.read_text()) from None
            time.sleep(0.2)
    yield url
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_client_commands_against_a_served_instance(server: str, data_dir: Path, tmp_path: Path):
    creds = json.loads(run("accounts", "create", "cli-user", "--json", data_dir=data_dir).stdout)
    assert set(creds) >= {"client_id", "client_secret"}
    env_args = ("--url", server)
    os.environ["EOBATCH_CLIENT_ID"], os.environ["EOBATCH_CLIENT_SECRET"] = creds["client_id"], creds["client_secret"]
    try:
        analysed = json.loads(
            run(
                "submit",
                "examples/demo-request.json",
                "--analyse-only",
                "--wait",
                "--json",
                *env_args,
                data_dir=data_dir,
            ).stdout
        )
        assert analysed["status"] == "ANALYSIS_DONE"
        assert analysed["tileCount"] == 8
        shown = json.loads(run("status", analysed["id"], "--json", *env_args, data_dir=data_dir).stdout)
        assert shown["id"] == analysed["id"] and shown["valueEstimate"] > 0
        tiles = json.loads(
            run("tiles", analysed["id"], "--json", "--status", "PENDING", *env_args, data_dir=data_dir).stdout
        )
        assert len(tiles) == 8 and {t["status"] for t in tiles} == {"PENDING"}
        cancelled = run("cancel", analysed["id"], *env_args, data_dir=data_dir)
        assert "CANCELED" in cancelled.stdout
        refused = run("restart", analysed["id"], *env_args, data_dir=data_dir, check=False)
        assert refused.returncode == 1 and "Illegal to change userAction" in refused.stderr

        # the export endpoint answers the same tiles as the CLI, and refuses an unknown format
        token = httpx.post(
            server + "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        response = httpx.post(server + "/api/v1/batch/tilinggrids/1/export?format=geojson", json=AREA, headers=headers)
        assert response.status_code == 200
        names = sorted(f["properties"]["name"] for f in response.json()["features"])
        assert names == sorted(t["name"] for t in tiles)
        bad = httpx.post(server + "/api/v1/batch/tilinggrids/1/export?format=kml", json=AREA, headers=headers)
        assert bad.status_code == 400 and "allowed" in bad.json()["error"]["message"]
    finally:
        os.environ.pop("EOBATCH_CLIENT_ID")
        os.environ.pop("EOBATCH_CLIENT_SECRET")


def test_saved_credentials_by_name_from_any_directory_and_exit_codes(server: str, data_dir: Path, tmp_path: Path):
    first = run("accounts", "create", "cli-alice", "--url", server, "--default", data_dir=data_dir)
    assert "credentials saved as 'cli-alice'" in first.stderr
    again = run("accounts", "create", "cli-alice", data_dir=data_dir, check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == "An account named 'cli-alice' already exists; choose another name"
    bob = json.loads(run("accounts", "create", "cli-bob", "--url", server, "--json", data_dir=data_dir).stdout)
    saved = json.loads((data_dir / "user-config" / "credentials.json").read_text())
    assert set(saved["accounts"]) >= {"cli-alice", "cli-bob"}
    assert saved["accounts"]["cli-bob"]["client_id"] == bob["client_id"]

    # from another folder, with neither EOBATCH_URL nor client env: the saved account (and its URL) is found
    body = json.loads((REPO / "examples" / "demo-request.json").read_text())
    body["processRequest"]["evalscript"] = body["processRequest"]["evalscript"].replace("B04", "B99")
    request_file = tmp_path / "broken.json"
    request_file.write_text(json.dumps(body))
    clean = {"EOBATCH_URL": "", "EOBATCH_CLIENT_ID": "", "EOBATCH_CLIENT_SECRET": ""}
    failed = run(
        "submit",
        str(request_file),
        "--wait",
        "--account",
        "cli-bob",
        data_dir=data_dir,
        cwd=tmp_path,
        check=False,
        **clean,
    )
    assert failed.returncode == 1, failed.stderr
    request_id = failed.stdout.split()[1]
    assert "status:      FAILED" in failed.stdout and "B99" in failed.stdout
    shown = run("status", request_id, "--account", "cli-bob", data_dir=data_dir, cwd=tmp_path, **clean)
    assert shown.stdout.startswith(f"request:     {request_id}\nstatus:      FAILED\n")
    assert "{" not in shown.stdout  # a summary, not a Python repr
    # the default account (alice, by --default) cannot see bob's request; an unknown name is a usage error
    other = run("status", request_id, data_dir=data_dir, cwd=tmp_path, check=False, **clean)
    assert other.returncode == 1 and "HTTP 404" in other.stderr
    down = run("status", request_id, "--url", "http://127.0.0.1:9", data_dir=data_dir, check=False, **clean)
    assert down.returncode == 1 and down.stderr.startswith("Cannot reach the eobatch server at http://127.0.0.1:9")
    unknown = run("status", request_id, "--account", "nobody", data_dir=data_dir, check=False, **clean)
    assert unknown.returncode == 2 and "no saved credentials for account 'nobody'" in unknown.stderr


def test_accounts_topup_and_list_show_the_balance(tmp_path: Path):
    run("accounts", "create", "cli-topup", data_dir=tmp_path)
    before = {a["name"]: a for a in json.loads(run("accounts", "list", "--json", data_dir=tmp_path).stdout)}
    topped = run("accounts", "topup", "cli-topup", "250", data_dir=tmp_path)
    assert f"available {before['cli-topup']['available'] + 250:.2f} PU" in topped.stdout
    after = {a["name"]: a for a in json.loads(run("accounts", "list", "--json", data_dir=tmp_path).stdout)}
    assert after["cli-topup"]["available"] == pytest.approx(before["cli-topup"]["available"] + 250)
    assert after["cli-topup"]["id"] == before["cli-topup"]["id"]
    unknown = run("accounts", "topup", "nobody", "1", data_dir=tmp_path, check=False)
    assert unknown.returncode != 0 and "no account named 'nobody'" in unknown.stdout + unknown.stderr
