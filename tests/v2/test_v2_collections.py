"""v2 raster outputs into a collection (`createCollection` / `collectionId`) and v2 inputs that read one
(`batch-<id>` or `byoc-<id>`), checked at create through the API."""

from __future__ import annotations

import copy

from eobatch.store.accounts import create_account
from tests.v2.test_api_v2 import v2_body

URL = "/api/v2/batch/process"
COLLECTIONS = "/api/v1/batch/collections"
MULTIBAND = """//VERSION=3
function setup() { return {input: ["B04", "B08"], output: {id: "default", bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.B04, s.B08]; }
"""


def with_output(**flags) -> dict:
    body = v2_body()
    body["output"] = {**body["output"], **flags}
    return body


def reading(input_type: str) -> dict:
    body = v2_body()
    body["processRequest"]["input"]["data"][0]["type"] = input_type
    body["processRequest"]["evalscript"] = (
        body["processRequest"]["evalscript"]
        .replace('["B04", "B08"]', '["default"]')
        .replace("(s.B08 - s.B04) / (s.B08 + s.B04)", "s.default * 2")
    )
    return body


def test_create_collection_then_read_it_as_batch_or_byoc(v2_client, headers):
    created = v2_client.post(URL, json=with_output(createCollection=True), headers=headers)
    assert created.status_code == 201, created.text
    listed = v2_client.get(COLLECTIONS, headers=headers).json()["data"]
    assert len(listed) == 1
    collection = listed[0]
    assert collection["name"] == "ndvi near Ljubljana" and collection["s3Bucket"] == "results"
    assert collection["additionalData"]["bands"]["default"]["sampleFormat"] == "FLOAT"
    for kind in ("batch", "byoc"):
        second = v2_client.post(URL, json=reading(f"{kind}-{collection['id']}"), headers=headers)
        assert second.status_code == 201, second.text
        data = second.json()["request"]["processRequest"]["input"]["data"][0]
        assert data["type"] == f"{kind}-{collection['id']}"
    busy = v2_client.delete(f"{COLLECTIONS}/{collection['id']}", headers=headers)
    assert busy.status_code == 409  # the requests above use it and have not finished

    into = v2_client.post(URL, json=with_output(collectionId=collection["id"]), headers=headers)
    assert into.status_code == 201, into.text


def test_what_a_collection_cannot_take_is_a_clear_400(v2_client, headers, v2_database, v2_settings):
    multiband = with_output(createCollection=True)
    multiband["processRequest"]["evalscript"] = MULTIBAND
    cases = [
        (multiband, "single-band"),
        (with_output(createCollection=True, cogOutput=False), "always COGs"),
        (with_output(createCollection=True, collectionId="x"), "not both"),
        (with_output(collectionId=5), "collectionId"),
        (with_output(collectionId="0b0c3c3e-0000-4000-8000-000000000000"), "not found"),
        (reading("batch-0b0c3c3e-0000-4000-8000-000000000000"), "Unknown collection type"),
    ]
    for body, words in cases:
        response = v2_client.post(URL, json=copy.deepcopy(body), headers=headers)
        assert response.status_code == 400, (words, response.text)
        assert words in response.json()["error"]["message"], response.text
    assert v2_client.get(COLLECTIONS, headers=headers).json()["data"] == []

    # another account's collection is neither readable nor writable
    assert v2_client.post(URL, json=with_output(createCollection=True), headers=headers).status_code == 201
    (collection,) = v2_client.get(COLLECTIONS, headers=headers).json()["data"]
    collection_id = collection["id"]
    with v2_database.session() as session:
        _, client_id, secret = create_account(session, "v2-other", v2_settings)
    token = v2_client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    ).json()["access_token"]
    other = {"Authorization": f"Bearer {token}"}
    assert v2_client.post(URL, json=reading(f"byoc-{collection_id}"), headers=other).status_code == 400
    assert v2_client.post(URL, json=with_output(collectionId=collection_id), headers=other).status_code == 400
    assert v2_client.get(f"{COLLECTIONS}/{collection_id}", headers=other).status_code == 404
