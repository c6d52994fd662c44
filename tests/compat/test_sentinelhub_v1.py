"""The real sentinelhub-py 3.11.1 client (in its own virtualenv) against a live eobatch server with the
engine's scheduler running: create, list, analyse, tiles, BatchSplitter, process, cancel, delete."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database
from tests.api.helpers import live_server
from tests.support.venvs import venv_python

CLIENT_SCRIPT = Path(__file__).with_name("sh_v1_client.py")
SENTINELHUB = "sentinelhub==3.11.1"


def sentinelhub_python() -> Path:
    """The interpreter of a virtualenv with sentinelhub 3.11.1 (.eobatch/ is gitignored), built when missing."""
    return venv_python("sh3111", SENTINELHUB)


@pytest.mark.slow
def test_sentinelhub_v1_client_full_flow(tmp_path):
    python = sentinelhub_python()
    settings = Settings(data_dir=tmp_path / "data", workers=1, poll_interval_s=0.05)
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.session() as session:
        _, client_id, secret = create_account(session, "sentinelhub-py", settings)
    app = create_app(settings, database, run_scheduler=True)
    env = {**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1", "HOME": str(tmp_path)}
    with live_server(app) as base:
        run = subprocess.run(
            [str(python), str(CLIENT_SCRIPT), base, client_id, secret],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    database.dispose()
    assert run.returncode == 0, run.stderr[-4000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])

    assert out["created"]["status"] == "CREATED"
    assert out["created"]["tiling_grid"] == {"id": 1, "resolution": 20, "bufferX": 2, "bufferY": 3}
    assert out["created"]["tile_count"] >= 1 and out["created"]["bbox_crs"] == "4326"
    assert out["fetched_id_matches"] and out["listed"]
    assert out["latest"] in out["searched"]
    assert out["description"] == "compat run, renamed"

    assert out["analysed"]["status"] == "ANALYSIS_DONE"
    assert out["analysed"]["value_estimate"] > 0 and out["analysed"]["width"] == 500
    tile_count = out["analysed"]["tile_count"]
    assert len(out["tiles"]) == tile_count >= 1
    assert all(t["crs"] == "urn:ogc:def:crs:EPSG::32632" for t in out["tiles"])
    assert out["single_tile_name"] == out["tiles"][0]["name"]
    assert out["grid"]["tileWidth"] == 10000.0 and out["grid_ids"][:3] == [0, 1, 2]

    assert len(out["splitter"]) == tile_count
    for (minx, miny, maxx, maxy), epsg in out["splitter"]:
        assert epsg == "32632"
        assert maxx - minx == pytest.approx(10000 + 2 * 2 * 20)  # tile + bufferX px each side
        assert maxy - miny == pytest.approx(10000 + 2 * 3 * 20)
        assert (minx + 40) % 10000 == pytest.approx(0) and (maxy - 60) % 10000 == pytest.approx(0)
    assert sorted(out["splitter_names"]) == sorted(t["name"] for t in out["tiles"])

    assert out["job"].get("PROCESSED", 0) + out["job"].get("FAILED", 0) == tile_count
    assert out["final"]["status"] in ("DONE", "PARTIAL", "FAILED")
    assert out["final"]["status"] == "DONE", out
    assert "Illegal to change userAction" in out["restart_error"]
    assert "409" in out["delete_processed_error"] or "canceled before deletion" in out["delete_processed_error"]
    assert out["canceled"] == "CANCELED"
    assert "404" in out["after_delete"]

    coll = out["collections"]  # the batch-collection methods, parsed by the client's own code
    assert coll["made"]["name"] == "compat collection" and coll["made"]["s3Bucket"] == "results"
    assert coll["parsed_id"] == coll["made"]["id"] and coll["parsed_bucket"] == "results"
    assert coll["grid"] == {"tilingGridId": 1}
    assert coll["made"]["id"] in coll["listed"] and len(coll["listed"]) == 2
    assert coll["searched"] == ["second"]
    assert coll["renamed"] == "compat collection, renamed"
    assert "404" in coll["after_delete"] and "400" in coll["bad_create"] and "s3Bucket" in coll["bad_create"]
