"""v1 batch collections through the API (batch-api.md §3.9), on SQLite and PostgreSQL: the Sentinel Hub
shapes with the `{"data": ...}` wrapping, paging and search, per-account isolation, 409 while in use, and
bad bodies as 400s in the Sentinel Hub error format."""

from __future__ import annotations

import pytest

from eobatch.domain.batch_collections import CollectionUse
from eobatch.store import batch_collections
from tests.api.conftest import Caller
from tests.api.helpers import body, set_request

URL = "/api/v1/batch/collections"


def new_collection(client, caller: Caller, name: str = "ndvi", bucket: str = "results") -> dict:
    response = client.post(URL, json={"name": name, "s3Bucket": bucket}, headers=caller.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_create_get_list_update_delete(client, alice: Caller):
    created = new_collection(client, alice, "first collection")
    assert created["name"] == "first collection" and created["s3Bucket"] == "results"
    assert created["accountId"] == alice.account_id and created["created"].endswith("Z")
    assert created["additionalData"] == {"bands": {}} and created["batchData"] == {"tilingGridId": None}
    assert created["type"] == f"batch-{created['id']}" and created["tileCount"] == 0

    got = client.get(f"{URL}/{created['id']}", headers=alice.headers)
    assert got.status_code == 200 and got.json() == {"data": created}

    listed = client.get(URL, headers=alice.headers).json()
    assert created["id"] in [c["id"] for c in listed["data"]] and isinstance(listed["links"], dict)

    renamed = client.put(f"{URL}/{created['id']}", json={"name": "renamed"}, headers=alice.headers)
    assert renamed.status_code == 204 and renamed.content == b""
    assert client.get(f"{URL}/{created['id']}", headers=alice.headers).json()["data"]["name"] == "renamed"

    assert client.delete(f"{URL}/{created['id']}", headers=alice.headers).status_code == 204
    gone = client.get(f"{URL}/{created['id']}", headers=alice.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "COMMON_NOT_FOUND"


def test_the_tiling_grid_and_unknown_keys_of_a_client_body_are_accepted(client, alice: Caller):
    # sentinelhub-py's BatchCollection.to_dict() sends every field, unset ones as null
    sent = {
        "id": None,
        "userId": None,
        "name": "g",
        "s3Bucket": "results",
        "created": None,
        "noData": None,
        "batchData": {"tilingGridId": 1},
        "additionalData": None,
    }
    response = client.post(URL, json=sent, headers=alice.headers)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["batchData"] == {"tilingGridId": 1}


def test_paging_and_search(client, db, api_settings):
    from tests.api.conftest import new_caller

    carol = new_caller(client, db, api_settings, "carol-collections")
    ids = [new_collection(client, carol, f"coll-{i}-{'odd' if i % 2 else 'even'}")["id"] for i in range(5)]
    seen, params = [], {"count": "2"}
    while True:
        page = client.get(URL, params=params, headers=carol.headers).json()
        seen += [c["id"] for c in page["data"]]
        token = page["links"].get("nextToken")
        if not token:
            break
        params = {"count": "2", "viewtoken": token}
    assert seen == ids
    odd = client.get(URL, params={"search": "odd"}, headers=carol.headers).json()["data"]
    assert [c["name"] for c in odd] == ["coll-1-odd", "coll-3-odd"]
    both = client.get(URL, params={"search": "coll-0|coll-4"}, headers=carol.headers).json()["data"]
    assert [c["name"] for c in both] == ["coll-0-even", "coll-4-even"]


def test_another_account_gets_404_everywhere(client, alice: Caller, bob: Caller):
    theirs = new_collection(client, alice, "alice only")
    for method, kwargs in (("get", {}), ("put", {"json": {"name": "x"}}), ("delete", {})):
        response = getattr(client, method)(f"{URL}/{theirs['id']}", headers=bob.headers, **kwargs)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"]["status"] == 404
    assert theirs["id"] not in [c["id"] for c in client.get(URL, headers=bob.headers).json()["data"]]
    assert client.get(f"{URL}/{theirs['id']}", headers=alice.headers).json()["data"]["name"] == "alice only"


@pytest.mark.parametrize(
    ("sent", "parameter"),
    [
        ({"s3Bucket": "results"}, "name"),
        ({"name": "x"}, "s3Bucket"),
        ({"name": "", "s3Bucket": "results"}, "name"),
        ({"name": 5, "s3Bucket": "results"}, "name"),
        ({"name": "x" * 201, "s3Bucket": "results"}, "name"),
        ({"name": "x", "s3Bucket": "Bad_Bucket!"}, "s3Bucket"),
        ({"name": "x", "s3Bucket": "results/key"}, "s3Bucket"),
        ({"name": "x", "s3Bucket": ["results"]}, "s3Bucket"),
        ({"name": "x", "s3Bucket": "results", "batchData": {"tilingGridId": "one"}}, "batchData.tilingGridId"),
        ({"name": "x", "s3Bucket": "results", "batchData": {"tilingGridId": 999}}, "batchData.tilingGridId"),
        ({"name": "x", "s3Bucket": "results", "batchData": []}, "batchData"),
        (["name"], "body"),
    ],
)
def test_bad_create_bodies_are_400s(client, alice: Caller, sent, parameter):
    response = client.post(URL, json=sent, headers=alice.headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "COMMON_BAD_PAYLOAD" and error["errors"][0]["parameter"] == parameter


def test_malformed_json_and_bad_updates_are_400s(client, alice: Caller):
    raw = client.post(URL, content=b"{not json", headers={**alice.headers, "Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["status"] == 400
    created = new_collection(client, alice, "to update")
    for sent in ({"name": ""}, {"s3Bucket": "NO"}, "text", {"name": None, "s3Bucket": 3}):
        response = client.put(f"{URL}/{created['id']}", json=sent, headers=alice.headers)
        assert response.status_code == 400, (sent, response.text)
    assert client.get(f"{URL}/{created['id']}", headers=alice.headers).json()["data"]["name"] == "to update"


def test_a_bucket_the_account_may_not_use_is_refused(client, db, api_settings):
    from tests.api.conftest import new_caller

    limited = new_caller(client, db, api_settings, "limited-collections", allowed_buckets=["mine"])
    assert client.post(URL, json={"name": "x", "s3Bucket": "mine"}, headers=limited.headers).status_code == 201
    refused = client.post(URL, json={"name": "x", "s3Bucket": "results"}, headers=limited.headers)
    assert refused.status_code == 400 and refused.json()["error"]["errors"][0]["parameter"] == "s3Bucket"


def test_delete_answers_409_while_a_request_uses_it(client, db, alice: Caller):
    collection = new_collection(client, alice, "in use")
    created = client.post("/api/v1/batch/process", json=body(), headers=alice.headers)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    with db.session() as session:
        batch_collections.record_uses(session, request_id, [CollectionUse(collection["id"], "input")])
    busy = client.delete(f"{URL}/{collection['id']}", headers=alice.headers)
    assert busy.status_code == 409, busy.text
    assert request_id in busy.json()["error"]["message"]
    set_request(db, request_id, status="DONE")
    assert client.delete(f"{URL}/{collection['id']}", headers=alice.headers).status_code == 204


SINGLE_BAND = """//VERSION=3
function setup() { return {input: ["B04", "B08"], output: {bands: 1, sampleType: "FLOAT32", nodataValue: -9}}; }
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }
"""


def test_a_request_creates_its_collection_at_create(client, alice: Caller):
    sent = body(description="d" * 300)
    sent["processRequest"]["evalscript"] = SINGLE_BAND
    sent["output"] = {**sent["output"], "createCollection": True}
    created = client.post("/api/v1/batch/process", json=sent, headers=alice.headers)
    assert created.status_code == 201, created.text
    collection_id = created.json()["output"]["collectionId"]
    collection = client.get(f"{URL}/{collection_id}", headers=alice.headers).json()["data"]
    assert collection["name"] == "d" * 200 and collection["s3Bucket"] == "results"
    assert collection["additionalData"]["bands"] == {
        "default": {"bandIndex": 1, "bitDepth": 32, "sampleFormat": "FLOAT", "source": "default", "noData": -9}
    }
    assert client.delete(f"{URL}/{collection_id}", headers=alice.headers).status_code == 409
    # a second request may add the same bands to it; other bands are refused
    sent.pop("description")
    sent["output"] = {**sent["output"], "createCollection": None, "collectionId": collection_id}
    assert client.post("/api/v1/batch/process", json=sent, headers=alice.headers).status_code == 201
    sent["processRequest"]["evalscript"] = SINGLE_BAND.replace("FLOAT32", "UINT16")
    refused = client.post("/api/v1/batch/process", json=sent, headers=alice.headers)
    assert refused.status_code == 400 and "UINT16" in refused.json()["error"]["message"]
