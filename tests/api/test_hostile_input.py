"""Malformed and hostile bodies over a real socket: each answers 400 (or 413) in the Sentinel Hub error
format and leaves the database as it was (row counts and every account's PU)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from eobatch.api import create_app
from eobatch.store.models import Account
from tests.api.conftest import new_caller
from tests.api.helpers import body, live_server, row_counts

V1 = "/api/v1/batch/process"
V2 = "/api/v2/batch/process"
LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def live(client, db, api_settings) -> Iterator[tuple[httpx.Client, str]]:
    caller = new_caller(client, db, api_settings, "hostile")
    settings = api_settings.model_copy(update={"max_body_bytes": LIMIT})
    with (
        live_server(create_app(settings, db)) as base,
        httpx.Client(base_url=base, timeout=60, headers=caller.headers) as http,
    ):
        created = http.post(V1, json=body())
        assert created.status_code == 201
        yield http, created.json()["id"]


def _state(db) -> tuple[dict[str, int], list[tuple[str, float, float]]]:
    with db.session() as s:
        pu = [(a.id, a.available_pu, a.reserved_pu) for a in s.execute(select(Account).order_by(Account.id)).scalars()]
    return row_counts(db), pu


def _deep(levels: int) -> str:
    return '{"processRequest": ' + "[" * levels + "]" * levels + "}"


def _json_with(text: str) -> str:
    """The valid create body with `text` spliced in raw as the description's value."""
    return json.dumps(body(description="PLACEHOLDER")).replace('"PLACEHOLDER"', text)


JSON = {"Content-Type": "application/json"}
CASES = [
    pytest.param("POST", V1, _deep(5000), "nested too deeply", id="deep-v1-create"),
    pytest.param("POST", V1, _deep(500), "at most 100 levels", id="deeper-than-the-limit"),
    pytest.param("PUT", V1 + "/{id}", _deep(5000), "nested too deeply", id="deep-v1-update"),
    pytest.param("POST", V2, _deep(5000), "nested too deeply", id="deep-v2-create"),
    pytest.param("PUT", V2 + "/{id}", _deep(5000), "nested too deeply", id="deep-v2-update"),
    pytest.param("POST", "/api/v1/batch/tilinggrids/1/export", _deep(5000), "nested too deeply", id="deep-export"),
    pytest.param("POST", V1, _json_with('"bad \\ud800"'), "description: text is not valid Unicode", id="surrogate"),
    pytest.param("PUT", V1 + "/{id}", '{"description": "\\udfff"}', "not valid Unicode", id="surrogate-update"),
    pytest.param("POST", V1, _json_with("1" * 5000), "number that cannot be read", id="int-5000-digits"),
    pytest.param("POST", V1, _json_with("9" * 40), "description: integer out of range", id="int-beyond-64-bits"),
    pytest.param("POST", V1, _json_with("1e999"), "number out of range", id="float-overflow"),
]


@pytest.mark.parametrize(("method", "path", "payload", "expected"), CASES)
def test_malformed_json_is_a_400_that_changes_nothing(live, db, method, path, payload, expected):
    http, request_id = live
    before = _state(db)
    response = http.request(method, path.format(id=request_id), content=payload.encode(), headers=JSON)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (400, "COMMON_BAD_PAYLOAD")
    assert expected in error["message"]
    assert _state(db) == before


def test_a_non_utf8_multipart_evalscript_is_a_400(live, db):
    http, _ = live
    before = _state(db)
    files = {
        "request": (None, json.dumps(body()).encode(), "application/json"),
        "evalscript": ("script.js", b"//VERSION=3\n// caf\xe9 \xff\xfe\n", "application/javascript"),
    }
    response = http.post(V1, files=files)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith("evalscript: the evalscript part must be UTF-8 text")
    assert _state(db) == before


def test_a_search_with_thousands_of_terms_is_a_400(live, db):
    http, _ = live
    for search in ("|".join(f"w{i}" for i in range(3000)), "&".join(["x"] * 3000)):
        response = http.get(V1, params={"search": search})
        assert response.status_code == 400, response.text
        assert "at most 32 words and 1000 characters" in response.json()["error"]["message"]
    assert http.get(V1, params={"search": "field|other&x"}).status_code == 200


def test_bodies_over_the_limit_are_a_413_and_not_stored(live, db):
    http, request_id = live
    before = _state(db)
    big = body(description="x" * (LIMIT + 1))
    response = http.post(V1, json=big)
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (413, "COMMON_PAYLOAD_TOO_LARGE")
    assert f"at most {LIMIT} bytes" in error["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: streamed, counted as it arrives
        payload = json.dumps({"description": "y" * (2 * LIMIT)}).encode()
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    streamed = http.put(f"{V1}/{request_id}", content=chunks(), headers=JSON)
    assert streamed.status_code == 413
    assert _state(db) == before
    assert http.get(f"{V1}/{request_id}").json()["description"] == body()["description"]


def test_a_page_of_zero_items_is_a_400(live):
    http, _ = live
    for path in (V1, V2, f"{V1}/{live[1]}/tiles"):
        response = http.get(path, params={"count": 0})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["message"] == "count must be from 1 to 1000 (the page size), got 0"
    assert len(http.get(V1, params={"count": 5000}).json()["data"]) >= 1  # above 1000: served as 1000
