"""Listing, reading, updating, deleting and acting on v1 requests; tiles and tiling grids."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from eobatch.store.models import LedgerEntry, Tile
from tests.api.conftest import Caller, new_caller
from tests.api.helpers import add_tiles, body, row_counts, set_request

URL = "/api/v1/batch/process"


def create(client, caller: Caller, **changes) -> dict:
    response = client.post(URL, json=body(**changes), headers=caller.headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def lister(client, db, api_settings) -> Caller:
    """An account with five requests, for the listing tests."""
    caller = new_caller(client, db, api_settings, "lister")
    for text in ("alpha one", "beta two", "gamma three", "alpha beta", "delta"):
        create(client, caller, description=text)
    return caller


def all_pages(client, caller: Caller, url: str, **params) -> tuple[list[dict], int]:
    items, pages, token = [], 0, None
    while True:
        query = dict(params, **({"viewtoken": token} if token else {}))
        response = client.get(url, params=query, headers=caller.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert isinstance(page["links"], dict)
        items += page["data"]
        pages += 1
        token = page["links"].get("nextToken")
        if token is None:
            assert "next" not in page["links"]
            return items, pages
        assert page["links"]["next"].endswith(f"viewtoken={token}")


def test_paging_follows_next_token_to_the_end(client, lister: Caller):
    items, pages = all_pages(client, lister, URL, count=2)
    assert pages == 3 and len(items) == 5
    assert len({i["id"] for i in items}) == 5
    created = [i["created"] for i in items]
    assert created == sorted(created, reverse=True)  # default created:desc


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("alpha", {"alpha one", "alpha beta"}),
        ("alpha&beta", {"alpha beta"}),
        ("gamma|delta", {"gamma three", "delta"}),
        ("ALPHA&one|delta", {"alpha one", "delta"}),
        ("nothing", set()),
    ],
)
def test_search_with_or_and(client, lister: Caller, search, expected):
    items, _ = all_pages(client, lister, URL, search=search, userid="ignored")
    assert {i["description"] for i in items} == expected


def test_search_matches_the_id(client, lister: Caller):
    one = client.get(URL, params={"count": 1}, headers=lister.headers).json()["data"][0]
    found, _ = all_pages(client, lister, URL, search=one["id"][:13])
    assert [i["id"] for i in found] == [one["id"]]


def test_sorts(client, db, lister: Caller):
    ascending, _ = all_pages(client, lister, URL, sort="created")
    assert [i["created"] for i in ascending] == sorted(i["created"] for i in ascending)
    latest = client.get(URL, params={"sort": "created:desc", "count": 1}, headers=lister.headers).json()
    assert latest["data"][0]["id"] == ascending[-1]["id"] and "nextToken" in latest["links"]
    set_request(db, ascending[0]["id"], status="FAILED")
    by_status, _ = all_pages(client, lister, URL, sort="status:desc")
    assert by_status[0]["status"] == "FAILED"
    assert client.get(URL, params={"sort": "colour"}, headers=lister.headers).status_code == 400
    set_request(db, ascending[0]["id"], status="CREATED")


def test_other_accounts_requests_are_not_found(client, alice: Caller, bob: Caller, db):
    mine = create(client, alice)
    before = row_counts(db)
    for method, suffix in [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("POST", "/analyse"),
        ("POST", "/start"),
        ("POST", "/cancel"),
        ("POST", "/restartpartial"),
        ("GET", "/tiles"),
        ("GET", "/tiles/1000"),
    ]:
        response = client.request(
            method,
            f"{URL}/{mine['id']}{suffix}",
            headers=bob.headers,
            json={"description": "x"} if method == "PUT" else None,
        )
        assert response.status_code == 404, (method, suffix, response.text)
        assert response.json()["error"]["code"] == "COMMON_NOT_FOUND"
    assert row_counts(db) == before
    assert mine["id"] not in {i["id"] for i in client.get(URL, headers=bob.headers).json()["data"]}
    assert client.get(f"{URL}/{mine['id']}", headers=alice.headers).status_code == 200


def test_update_description_and_output_then_conflict_while_processing(client, db, alice: Caller):
    request = create(client, alice)
    response = client.put(
        f"{URL}/{request['id']}", headers=alice.headers, json={"description": "renamed", "output": {"overwrite": True}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "renamed"
    assert response.json()["output"]["overwrite"] is True
    assert response.json()["output"]["defaultTilePath"] == body()["output"]["defaultTilePath"]
    bad = client.put(
        f"{URL}/{request['id']}",
        headers=alice.headers,
        json={"output": {"defaultTilePath": "s3://results/<outputId>.tif"}},
    )
    assert bad.status_code == 400 and "<tileName>" in bad.json()["error"]["message"]
    set_request(db, request["id"], status="PROCESSING", user_action="START")
    conflict = client.put(f"{URL}/{request['id']}", headers=alice.headers, json={"description": "again"})
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "COMMON_CONFLICT"
    assert client.get(f"{URL}/{request['id']}", headers=alice.headers).json()["description"] == "renamed"


def test_delete_rules(client, db, alice: Caller):
    plain = create(client, alice)
    assert client.delete(f"{URL}/{plain['id']}", headers=alice.headers).status_code == 204
    assert client.get(f"{URL}/{plain['id']}", headers=alice.headers).status_code == 404
    busy = create(client, alice)
    set_request(db, busy["id"], status="PROCESSING")
    response = client.delete(f"{URL}/{busy['id']}", headers=alice.headers)
    assert response.status_code == 409 and "canceled before deletion" in response.json()["error"]["message"]
    done = create(client, alice)
    set_request(db, done["id"], status="PARTIAL")
    add_tiles(db, done["id"], ["PROCESSED", "FAILED"])
    assert client.delete(f"{URL}/{done['id']}", headers=alice.headers).status_code == 409
    failed = create(client, alice)
    set_request(db, failed["id"], status="FAILED")
    add_tiles(db, failed["id"], ["FAILED"])
    assert client.delete(f"{URL}/{failed['id']}", headers=alice.headers).status_code == 204
    with db.session() as session:
        assert session.execute(select(Tile).where(Tile.request_id == failed["id"])).first() is None


def test_actions_accept_an_empty_json_body_and_follow_the_state_machine(client, alice: Caller):
    request = create(client, alice)
    headers = {**alice.headers, "Content-Type": "application/json"}
    response = client.post(f"{URL}/{request['id']}/analyse", headers=headers, content=b"")
    assert response.status_code == 204 and response.content == b""
    state = client.get(f"{URL}/{request['id']}", headers=alice.headers).json()
    assert (state["status"], state["userAction"]) == ("ANALYSING", "ANALYSE")
    assert state["userActionUpdated"].endswith("Z")
    assert client.post(f"{URL}/{request['id']}/analyse", headers=headers).status_code == 204  # repeat is fine
    illegal = client.post(f"{URL}/{request['id']}/restartpartial", headers=headers)
    assert illegal.status_code == 400
    assert illegal.json()["error"]["message"] == (
        "Illegal to change userAction from ANALYSE to RESTART with request status ANALYSING"
    )
    other = create(client, alice)
    assert client.post(f"{URL}/{other['id']}/cancel", headers=headers).status_code == 204
    assert client.get(f"{URL}/{other['id']}", headers=alice.headers).json()["status"] == "CANCELED"


def test_start_reserves_and_restartpartial_requeues_failed_tiles(client, db, api_settings):
    caller = new_caller(client, db, api_settings, f"starter-{uuid.uuid4().hex[:6]}")
    request = create(client, caller)
    set_request(
        db, request["id"], status="ANALYSIS_DONE", value_estimate=900.0, cost_estimate={"low": 200.0, "high": 300.0}
    )
    assert client.post(f"{URL}/{request['id']}/start", headers=caller.headers).status_code == 204
    state = client.get(f"{URL}/{request['id']}", headers=caller.headers).json()
    assert (state["status"], state["userAction"]) == ("PROCESSING", "START")
    assert state["costEstimate"] == {"low": 200.0, "high": 300.0} and state["valueEstimate"] == 900.0
    me = client.get("/api/v1/accounts/me", headers=caller.headers).json()
    assert me["balance"]["reserved"] == 300.0
    assert me["reservations"] == [{"requestId": request["id"], "reservedPU": 300.0}]
    set_request(db, request["id"], status="PARTIAL", reserved_pu=300.0)
    add_tiles(db, request["id"], ["PROCESSED", "FAILED", "FAILED"])
    assert client.post(f"{URL}/{request['id']}/restartpartial", headers=caller.headers).status_code == 204
    state = client.get(f"{URL}/{request['id']}", headers=caller.headers).json()
    assert (state["status"], state["userAction"]) == ("PROCESSING", "START")
    statuses = [t["status"] for t in client.get(f"{URL}/{request['id']}/tiles", headers=caller.headers).json()["data"]]
    assert statuses == ["PROCESSED", "PENDING", "PENDING"]


def test_tiles_listing_filter_paging_and_single_tile(client, db, alice: Caller):
    request = create(client, alice)
    set_request(db, request["id"], status="PROCESSING", user_action="START")
    add_tiles(db, request["id"], ["PROCESSED", "PENDING", "FAILED", "PROCESSED", "PROCESSING"])
    tiles_url = f"{URL}/{request['id']}/tiles"
    items, pages = all_pages(client, alice, tiles_url, count=2)
    assert pages == 3 and [t["id"] for t in items] == [1000, 1001, 1002, 1003, 1004]
    processed, _ = all_pages(client, alice, tiles_url, status="PROCESSED")
    assert [t["id"] for t in processed] == [1000, 1003]
    assert client.get(tiles_url, params={"status": "DONE"}, headers=alice.headers).status_code == 400
    tile = client.get(f"{tiles_url}/1002", headers=alice.headers).json()
    assert tile["name"] == "33TVM_2_0" and tile["requestId"] == request["id"]
    assert tile["origin"] == {
        "type": "Point",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
        "coordinates": [470000.0, 5100000.0],
    }
    assert tile["status"] == "FAILED" and tile["error"] == "boom" and tile["geometry"]["type"] == "Polygon"
    assert tile["evaluation"] is None  # set once a tile is processed: "compiled" or "v8: <reason>"
    assert client.get(f"{URL}/{request['id']}", headers=alice.headers).json()["tileCount"] == 5
    missing = client.get(f"{tiles_url}/999", headers=alice.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "COMMON_NOT_FOUND"


def test_tiling_grids(client, alice: Caller):
    page = client.get("/api/v1/batch/tilinggrids", headers=alice.headers).json()
    assert page["links"] is not None and "nextToken" not in page["links"]
    ids = [g["id"] for g in page["data"]]
    assert ids[:3] == [0, 1, 2]
    grid = client.get("/api/v1/batch/tilinggrids/0", headers=alice.headers).json()
    assert grid["properties"]["tileWidth"] == 20040.0 and 60.0 in grid["properties"]["resolutions"]
    assert "data" not in grid
    missing = client.get("/api/v1/batch/tilinggrids/99", headers=alice.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "COMMON_NOT_FOUND"


def test_framework_errors_use_the_sentinel_hub_body(client, alice: Caller):
    unknown = client.get("/api/v1/batch/nothing-here", headers=alice.headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "COMMON_NOT_FOUND"
    wrong_method = client.patch(URL, headers=alice.headers)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "COMMON_METHOD_NOT_ALLOWED"
    bad_count = client.get(URL, params={"count": "many"}, headers=alice.headers)
    assert bad_count.status_code == 400 and bad_count.json()["error"]["errors"][0]["parameter"] == "count"
    bad_tile = client.get(f"{URL}/x/tiles/not-a-number", headers=alice.headers)
    assert bad_tile.status_code == 400 and bad_tile.json()["error"]["code"] == "COMMON_BAD_PAYLOAD"


def test_openapi_document_is_served(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/batch/process/{request_id}/restartpartial" in spec["paths"]
    assert "CreateRequestV1" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_no_ledger_entry_for_a_repeated_start(client, db, api_settings):
    caller = new_caller(client, db, api_settings, f"repeat-{uuid.uuid4().hex[:6]}")
    request = create(client, caller)
    set_request(db, request["id"], status="ANALYSIS_DONE", cost_estimate={"low": 100.0, "high": 150.0})
    for _ in range(3):
        assert client.post(f"{URL}/{request['id']}/start", headers=caller.headers).status_code == 204
    with db.session() as session:
        kinds = session.execute(select(LedgerEntry.kind).where(LedgerEntry.request_id == request["id"])).all()
    assert [k[0] for k in kinds] == ["RESERVE"]


def test_start_without_enough_units_is_refused_and_changes_nothing(client, db, alice: Caller):
    request = create(client, alice)
    set_request(db, request["id"], status="ANALYSIS_DONE", cost_estimate={"low": 1e9, "high": 2e9})
    before = row_counts(db)
    response = client.post(f"{URL}/{request['id']}/start", headers=alice.headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INSUFFICIENT_PROCESSING_UNITS" and "PU available" in error["message"]
    assert row_counts(db) == before
    assert client.get(f"{URL}/{request['id']}", headers=alice.headers).json()["status"] == "ANALYSIS_DONE"
