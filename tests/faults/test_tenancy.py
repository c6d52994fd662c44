"""Tenancy by default: with no configuration, account B can neither write into account A's bucket
(not even into A's request folder) nor have the service read A's objects for it, and the refusal is
the same whether the object exists or not."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.storage import ObjectStorage
from eobatch.store.db import Database
from tests.api.conftest import new_caller
from tests.api.helpers import VALID_BODY

V1 = "/api/v1/batch/process"
V2 = "/api/v2/batch/process"


def _v1(path: str) -> dict:
    body = copy.deepcopy(VALID_BODY)
    body["output"] = {"defaultTilePath": path}
    return body


def _v2_features(url: str, **keys: str) -> dict:
    body = copy.deepcopy(VALID_BODY)
    process_request = body["processRequest"]
    del process_request["input"]["bounds"]
    return {
        "processRequest": process_request,
        "input": {"type": "geopackage", "features": {"s3": {"url": url, **keys}}},
        "output": {"type": "raster", "delivery": {"s3": {"url": "s3://bob-out/<requestId>/<tileName>/<outputId>.tif"}}},
    }


@pytest.fixture
def setup(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    database = Database(f"sqlite:///{tmp_path / 'eobatch.sqlite'}")
    database.migrate()
    with TestClient(create_app(settings, database)) as client:
        alice = new_caller(client, database, settings, "alice")
        bob = new_caller(client, database, settings, "bob")
        yield client, settings, alice, bob
    database.dispose()


def test_another_account_cannot_write_into_or_read_from_a_claimed_bucket(setup):
    client, settings, alice, bob = setup
    mine = client.post(V1, json=_v1("s3://alice-out/<requestId>/<tileName>/<outputId>.<format>"), headers=alice.headers)
    assert mine.status_code == 201, mine.text
    alice_request = mine.json()["id"]
    ObjectStorage(settings).put("s3://alice-out/private/features.gpkg", b"not for bob")

    attempts = {
        "A's request folder": _v1(f"s3://alice-out/{alice_request}/<tileName>/<outputId>.<format>"),
        "A's bucket, own folder": _v1("s3://alice-out/bob/<requestId>/<tileName>/<outputId>.<format>"),
        "bucketName": {
            **_v1("s3://x/<requestId>/<tileName>/<outputId>.<format>"),
            "output": None,
            "bucketName": "alice-out",
        },
    }
    for what, body in attempts.items():
        if body.get("output") is None:
            body.pop("output")
        refused = client.post(V1, json=body, headers=bob.headers)
        assert refused.status_code == 400, (what, refused.text)
        assert "'alice-out'" in refused.json()["error"]["message"] and "not available to this account" in refused.text

    existing = client.post(V2, json=_v2_features("s3://alice-out/private/features.gpkg"), headers=bob.headers)
    missing = client.post(V2, json=_v2_features("s3://alice-out/private/nothing.gpkg"), headers=bob.headers)
    assert existing.status_code == missing.status_code == 400
    assert existing.json()["error"]["message"].replace("features.gpkg", "X") == missing.json()["error"][
        "message"
    ].replace("nothing.gpkg", "X")
    # local bucket folders have no keys: made-up credentials do not open another account's bucket
    keyed = client.post(
        V2,
        json=_v2_features("s3://alice-out/private/features.gpkg", accessKey="k", secretAccessKey="s"),
        headers=bob.headers,
    )
    assert keyed.status_code == 400 and "not available to this account" in keyed.text
    assert ObjectStorage(settings).get("s3://alice-out/private/features.gpkg") == b"not for bob"

    own = client.post(V1, json=_v1("s3://bob-out/<requestId>/<tileName>/<outputId>.<format>"), headers=bob.headers)
    assert own.status_code == 201, own.text
    again = client.post(
        V1, json=_v1("s3://alice-out/more/<requestId>/<tileName>/<outputId>.<format>"), headers=alice.headers
    )
    assert again.status_code == 201, again.text


def test_operator_can_share_buckets_or_assign_them(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", workers=1, tenancy="shared")
    database = Database(f"sqlite:///{tmp_path / 'eobatch.sqlite'}")
    database.migrate()
    with TestClient(create_app(settings, database)) as client:
        alice = new_caller(client, database, settings, "alice")
        bob = new_caller(client, database, settings, "bob")
        carol = new_caller(client, database, settings, "carol", allowed_buckets=["carol-only"])
        path = "s3://team/<requestId>/<tileName>/<outputId>.<format>"
        assert client.post(V1, json=_v1(path), headers=alice.headers).status_code == 201
        assert client.post(V1, json=_v1(path), headers=bob.headers).status_code == 201
        assert client.post(V1, json=_v1(path), headers=carol.headers).status_code == 400
        carols = "s3://carol-only/<requestId>/<tileName>/<outputId>.<format>"
        assert client.post(V1, json=_v1(carols), headers=carol.headers).status_code == 201
    database.dispose()
