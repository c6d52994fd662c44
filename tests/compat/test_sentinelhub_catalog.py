"""The real sentinelhub-py (3.11.1 and 3.12.0, each in its own virtualenv) against eobatch's Catalog API
and Process API, over the real Sentinel-2 L1C sample scenes configured by examples/collections-real.yaml."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database
from tests.api.helpers import live_server
from tests.support.venvs import venv_python

HERE = Path(__file__).parent
REAL_COLLECTIONS = HERE.parents[1] / "examples" / "collections-real.yaml"
CLIENT_SCRIPT = HERE / "sh_catalog_client.py"
VERSIONS = {"sh3111": "sentinelhub==3.11.1", "sh3120": "sentinelhub==3.12.0"}
# the five real scenes and their cloud cover (from their STAC items in shared/data)
SCENES = {
    "S2L1C_20150909T100017": 0.0,
    "S2L1C_20150830T100547": 0.0,
    "S2L1C_20150820T100728": 100.0,
    "S2L1C_20150731T100009": 100.0,
    "S2L1C_20150711T100008": 0.0,
}


@pytest.mark.slow
@pytest.mark.parametrize("venv", sorted(VERSIONS))
def test_sentinelhub_catalog_search_and_process_get_data(venv, tmp_path):
    python = venv_python(venv, VERSIONS[venv])
    settings = Settings(data_dir=tmp_path / "data", workers=1, collections_file=REAL_COLLECTIONS)
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.session() as session:
        _, client_id, secret = create_account(session, "catalog-user", settings)
    env = {**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1", "HOME": str(tmp_path)}
    with live_server(create_app(settings, database)) as base:
        direct = _direct_window(base, client_id, secret)
        run = subprocess.run(
            [str(python), str(CLIENT_SCRIPT), base, client_id, secret],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    database.dispose()
    assert run.returncode == 0, run.stderr[-4000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])

    assert {"self", "conformance", "data", "search"} <= set(out["info_links"])
    assert any(c.endswith("item-search") for c in out["conforms"])
    assert "sentinel-2-l1c" in out["collections"] and out["collection"] == "sentinel-2-l1c"
    newest_first = sorted(SCENES, reverse=True)
    assert out["all_ids"] == newest_first  # five items fetched in pages of two, newest first
    assert out["all_timestamps"][0].startswith("2015-09-09T10:00:17")
    clear = [scene for scene in newest_first if SCENES[scene] < 30]
    assert [row[0] for row in out["clear"]] == clear
    assert all(row[1] < 30 for row in out["clear"])
    assert all(row[2] == ["id", "properties", "stac_version", "type"] for row in out["clear"])
    assert out["by_geometry"] == ["S2L1C_20150830T100547", "S2L1C_20150820T100728"]
    assert out["json_filter"] == [scene for scene in newest_first if SCENES[scene] >= 50]
    assert [t[:10] for t in out["timestamps_maxcc"]] == ["2015-07-11", "2015-08-30", "2015-09-09"]
    assert out["far_away"] == []

    # SentinelHubRequest.get_data(): the same pixels as eobatch's own answer, as arrays (H, W, bands)
    assert out["tiff"]["shape"] == [20, 20, 3] and out["tiff"]["dtype"] == "uint16"
    assert np.array_equal(np.array(out["tiff"]["values"]), direct.transpose(1, 2, 0)) and direct.any()
    assert out["png"]["shape"] == [20, 20, 3]  # decoded by the client (its PNG reader gives 8 bits)
    assert out["multi"]["names"] == ["default.tif", "userdata.json"]
    assert out["multi"]["userdata"] == {"script": "rgb"}
    assert out["multi"]["same"] == out["tiff"]["values"]


def _direct_window(base: str, client_id: str, secret: str) -> np.ndarray:
    """The window of the client script, asked for with plain HTTP and decoded with rasterio."""
    import io

    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    token = httpx.post(f"{base}/oauth/token", data=form).json()["access_token"]
    body = {
        "input": {
            "bounds": {
                "bbox": [465400, 5079400, 465800, 5079800],
                "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/32633"},
            },
            "data": [
                {
                    "type": "sentinel-2-l1c",
                    "dataFilter": {
                        "timeRange": {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T23:59:59Z"},
                        "maxCloudCoverage": 50,
                    },
                }
            ],
        },
        "output": {"width": 20, "height": 20},
        "evalscript": (CLIENT_SCRIPT.read_text().split('EVALSCRIPT = """')[1].split('"""')[0]),
    }
    response = httpx.post(
        f"{base}/api/v1/process", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120
    )
    assert response.status_code == 200, response.text
    with rasterio.open(io.BytesIO(response.content)) as window:
        return window.read()
