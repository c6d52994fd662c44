"""Texts a request shows tell the truth in the vocabulary of the API that shows them."""

from __future__ import annotations

from tests.api.conftest import Caller
from tests.api.helpers import add_tiles, body, set_request

V1, V2 = "/api/v1/batch/process", "/api/v2/batch/process"
STORED = "1 of 3 tiles failed. First error: Tile 33TVM_2_0 failed after 3 of 3 attempts: boom"


def _partial(client, db, caller: Caller) -> str:
    request_id = client.post(V1, json=body(), headers=caller.headers).json()["id"]
    add_tiles(db, request_id, ["PROCESSED", "PROCESSED", "FAILED"])
    set_request(db, request_id, status="PARTIAL", user_action="START", error=STORED)
    return request_id


def test_a_partial_request_says_how_many_tiles_failed_and_what_to_do_in_each_api(client, db, alice: Caller):
    request_id = _partial(client, db, alice)
    v1 = client.get(f"{V1}/{request_id}", headers=alice.headers).json()
    assert v1["status"] == "PARTIAL"
    assert v1["error"] == f"{STORED} Fix the cause, then call restartpartial to process the failed tiles again."
    v2 = client.get(f"{V2}/{request_id}", headers=alice.headers).json()
    assert v2["status"] == "DONE"
    assert v2["error"] == f"{STORED} The failed tiles are FATAL in execution-{request_id}.sqlite."
    assert "restartpartial" not in v2["error"] and "PARTIAL" not in v2["error"]


def test_illegal_actions_use_each_apis_status_and_action_names(client, db, alice: Caller):
    request_id = _partial(client, db, alice)
    v2 = client.post(f"{V2}/{request_id}/stop", headers=alice.headers)
    assert v2.status_code == 400
    assert v2.json()["error"]["message"] == "Illegal to change userAction from START to STOP with task status DONE"
    set_request(db, request_id, status="CANCELED", user_action="CANCEL")
    v2 = client.post(f"{V2}/{request_id}/analyse", headers=alice.headers)
    assert v2.json()["error"]["message"] == "Illegal to change userAction from STOP to ANALYSE with task status STOPPED"
    v1 = client.post(f"{V1}/{request_id}/analyse", headers=alice.headers)
    assert v1.json()["error"]["message"] == (
        "Illegal to change userAction from CANCEL to ANALYSE with request status CANCELED"
    )
