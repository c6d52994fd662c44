"""The engine writes a finished request's STAC: a PARTIAL request's collection names its failed tiles
(and it and its items pass the offline STAC schema check);
a STAC that cannot be written is logged and changes nothing about the request; on SeaweedFS it is
written with the request's own delivery keys."""

from __future__ import annotations

import json
import logging

from eobatch.engine.request_stac import write_stac_for
from eobatch.store.db import Database
from tests.engine.factory import make_account, make_request
from tests.engine.helpers import local_scheduler, request_row
from tests.support.seaweed import start_seaweed
from tests.support.stac_validation import validate_stac


def test_a_partial_requests_collection_names_its_failed_tiles(database, engine_settings, out_dir):
    account = make_account(database)
    output = {"dir": str(out_dir), "fatal": ["T0001"], "defaultTilePath": "s3://out/<requestId>/<tileName>.tif"}
    request_id = make_request(database, account, 3, output=output)
    scheduler = local_scheduler(engine_settings, database)
    try:
        assert scheduler.run_until_idle(60)
    finally:
        scheduler.stop()
    assert request_row(database, request_id).status == "PARTIAL"
    root = engine_settings.buckets_dir / "out" / f"stac-{request_id}"
    collection = json.loads((root / "collection.json").read_text())
    assert collection["eobatch:status"] == "PARTIAL"
    ((failed),) = collection["eobatch:failed_tiles"]
    assert (failed["name"], failed["id"]) == ("T0001", 1001)
    assert "the evalscript returned no value" in failed["error"]
    assert sorted(p.name for p in (root / "items").iterdir()) == ["T0000.json", "T0002.json"]
    for path in [root / "collection.json", *(root / "items").iterdir()]:
        validate_stac(path)  # a PARTIAL request's STAC is valid STAC too


def test_a_stac_that_cannot_be_written_is_logged_and_changes_nothing(database, engine_settings, out_dir, caplog):
    account = make_account(database)
    output = {"dir": str(out_dir), "defaultTilePath": "s3://blocked/<requestId>/<tileName>.tif"}
    request_id = make_request(database, account, 2, output=output)
    engine_settings.buckets_dir.mkdir(parents=True, exist_ok=True)
    (engine_settings.buckets_dir / "blocked").write_text("a file where the bucket folder would be")
    scheduler = local_scheduler(engine_settings, database)
    with caplog.at_level(logging.WARNING, logger="eobatch.engine"):
        try:
            assert scheduler.run_until_idle(60)
        finally:
            scheduler.stop()
    assert request_row(database, request_id).status == "DONE"
    assert any(f"request {request_id}: could not write its STAC" in r.getMessage() for r in caplog.records)
    assert write_stac_for(database, engine_settings, request_id, "FAILED") is None  # only DONE/PARTIAL get STAC


def test_the_stac_goes_to_seaweedfs_with_the_requests_own_delivery_keys(tmp_path, engine_settings, out_dir):
    """The service itself has no keys for the endpoint: only the request's delivery keys can write."""
    weed = start_seaweed()
    try:
        weed.create_bucket("delivered")
        settings = engine_settings.model_copy(update={"s3_endpoint": weed.endpoint})
        database = Database(f"sqlite:///{tmp_path / 'eobatch.sqlite'}")
        database.migrate()
        account = make_account(database)
        s3 = {"url": "s3://delivered/<requestId>/<tileName>.tif", "accessKey": weed.access_key}
        output = {"dir": str(out_dir), "delivery": {"s3": {**s3, "secretAccessKey": weed.secret_key}}}
        request_id = make_request(database, account, 2, output=output)
        scheduler = local_scheduler(settings, database)
        try:
            assert scheduler.run_until_idle(60)
        finally:
            scheduler.stop()
        assert request_row(database, request_id).status == "DONE"
        key = f"stac-{request_id}/collection.json"
        collection = json.loads(weed.client().get_object(Bucket="delivered", Key=key)["Body"].read())
        assert (collection["eobatch:status"], collection["eobatch:failed_tiles"]) == ("DONE", [])
        items = [link["href"] for link in collection["links"] if link["rel"] == "item"]
        assert sorted(items) == ["./items/T0000.json", "./items/T0001.json"]
        database.dispose()
    finally:
        weed.stop()
