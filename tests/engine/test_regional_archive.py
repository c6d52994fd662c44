"""A request of more than 100 tiles over a regional archive, found through a real STAC API
(stac-fastapi-pgstac) and read from SeaweedFS with the archive's own read-only keys, ends DONE with
the same outputs as the same request over the local copy; the STAC server saw one search."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
import yaml
from rasterio.io import MemoryFile
from sqlalchemy import select

from eobatch.api.stored_plans import plan_for_stored
from eobatch.collections.demo.regional import RegionalSpec, default_dates, generate_regional_archive
from eobatch.domain.states import UserAction
from eobatch.engine import LocalExecutor, Scheduler
from eobatch.settings import Settings
from eobatch.store.actions import apply_action
from eobatch.store.db import Database
from eobatch.store.models import BatchRequest, Tile
from tests.collections.stac_archive import items_at, upload_folder
from tests.engine.factory import make_account
from tests.engine.helpers import check_invariants, request_row
from tests.support.seaweed import start_seaweed
from tests.support.stac_api import start_stac_api

SPEC = RegionalSpec(dates=default_dates(2), bands=("B01", "B09"))  # 60 m bands keep CI cheap
BOUNDS = [11.4, 44.85, 12.6, 45.55]  # 104 tiles of the 10 km grid, 52 in each UTM zone
READER = {"accessKey": "regional-reader", "secretKey": "regional-reader-secret"}
EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B01", "B09", "dataMask"], output: {bands: 3, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B01 * 10000, s.B09 * 10000, s.dataMask]; }
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return generate_regional_archive(tmp_path_factory.mktemp("regional"), SPEC)


@pytest.fixture(scope="module")
def weed(archive):
    """SeaweedFS: the archive in `archive` (read-only keys of its own), outputs in `tiles` (admin keys)."""
    weed = start_seaweed(identities=[{"name": "reader", "credentials": [READER], "actions": ["Read:archive"]}])
    weed.create_bucket("archive")
    upload_folder(weed.client(), "archive", archive.parent, "regional")
    yield weed
    weed.stop()


@pytest.fixture(scope="module")
def stac_api(postgres_server, archive):
    """The archive's items in pgstac, asset hrefs on s3://archive/regional/."""
    collection, items = items_at(archive, "s3://archive/regional")
    server = start_stac_api(postgres_server)
    server.load(collection, items)
    yield server
    server.stop()


def _create(database: Database, account: str, collection_type: str) -> str:
    request_id = str(uuid.uuid4())
    process_request = {
        "input": {
            "bounds": {"bbox": BOUNDS, "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "data": [
                {
                    "type": collection_type,
                    "dataFilter": {"timeRange": {"from": "2024-04-01T00:00:00Z", "to": "2024-04-30T00:00:00Z"}},
                }
            ],
        },
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": EVALSCRIPT,
    }
    with database.session() as s:
        request = BatchRequest(
            id=request_id,
            account_id=account,
            status="CREATED",
            body={},
            process_request=process_request,
            grid_id=1,
            resolution=20.0,
            output={"defaultTilePath": "s3://tiles/<requestId>/<tileName>/<outputId>.<format>"},
        )
        request.plan = plan_for_stored(
            {"process_request": process_request, "grid_id": 1, "resolution": 20.0, "output": request.output}
        )
        s.add(request)
        s.flush()
        apply_action(s, request, UserAction.START)
    return request_id


def _outputs(weed, database: Database, request_id: str) -> dict[str, tuple[list[str], np.ndarray]]:
    with database.session() as s:
        tiles = s.execute(select(Tile).where(Tile.request_id == request_id)).scalars().all()
    found = {}
    for tile in tiles:
        assert tile.status == "PROCESSED", tile.error
        assert tile.scene_ids and len(tile.scene_ids) == tile.scene_count  # the tile's scenes, by id
        assert all(i.startswith("S2R_MSIL1C_2024040") for i in tile.scene_ids)
        key = tile.outputs[0].removeprefix("s3://tiles/")
        body = weed.client().get_object(Bucket="tiles", Key=key)["Body"].read()
        with MemoryFile(body) as memory, memory.open() as src:
            found[tile.name] = (tile.scene_ids, src.read())
    return found


def test_a_regional_request_through_the_stac_api_and_s3_equals_the_local_copy(
    postgres_server, archive, weed, stac_api, tmp_path
):
    keys = tmp_path / "archive-keys.json"
    keys.write_text(json.dumps({"access_key_id": READER["accessKey"], "secret_access_key": READER["secretKey"]}))
    remote = {
        "preset": "sentinel-2-l1c",
        "source": {"kind": "stac-api", "url": stac_api.url, "collection": SPEC.collection_id, "page_size": 3},
        "access": {"endpoint": weed.endpoint, "credentials": {"file": str(keys)}},
    }
    local = {"preset": "sentinel-2-l1c", "source": {"kind": "static", "href": str(archive)}}
    collections = tmp_path / "collections.yaml"
    collections.write_text(yaml.safe_dump({"collections": {"regional-remote": remote, "regional-local": local}}))
    settings = Settings(
        data_dir=tmp_path / "data",
        collections_file=collections,
        s3_endpoint=weed.endpoint,
        s3_access_key=weed.access_key,
        s3_secret_key=weed.secret_key,
        workers=2,
        poll_interval_s=0.05,
        cleanup_failed_after_s=0,
        cleanup_unstarted_after_s=0,
        cleanup_finished_after_s=0,
    )
    database = Database(postgres_server.new_database())
    database.migrate()
    try:
        account = make_account(database, pu=1_000_000)
        remote_id = _create(database, account, "regional-remote")
        local_id = _create(database, account, "regional-local")
        scheduler = Scheduler(settings, database, LocalExecutor(2), lease_s=600.0)
        try:
            assert scheduler.run_until_idle(1800)
        finally:
            scheduler.stop()
        for request_id in (remote_id, local_id):
            row = request_row(database, request_id)
            assert row.status == "DONE", row.error
            assert row.tile_count >= 100
        assert stac_api.searches()["searches"] == 1  # one input collection, one search, 104 tiles
        assert stac_api.searches()["pages"] >= 1  # 4 items in pages of 3: the search was paged
        from_s3, from_disk = _outputs(weed, database, remote_id), _outputs(weed, database, local_id)
        assert sorted(from_s3) == sorted(from_disk) and len(from_s3) >= 100
        for name, (scene_ids, pixels) in from_disk.items():
            assert from_s3[name][0] == scene_ids, name  # the same scenes, found through the API
            np.testing.assert_array_equal(from_s3[name][1], pixels, err_msg=name)
        covered = sum(int(pixels[2].sum()) for _, pixels in from_disk.values())
        assert covered > 0.5 * len(from_disk) * 500 * 500
        check_invariants(database)
    finally:
        database.dispose()
