"""The engine writes a finished request's STAC: a PARTIAL request's collection names its failed tiles;
a STAC that cannot be written is logged and changes nothing about the request."""

from __future__ import annotations

import json
import logging

from eobatch.engine.request_stac import write_stac_for
from tests.engine.factory import make_account, make_request
from tests.engine.helpers import local_scheduler, request_row


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
