"""v1 create / update / paging input that used to slip through: outputs outside the account's buckets,
bodies that crashed with 500, and settings the worker could not use. Every rejection is a 400 that
names the field and writes nothing."""

from __future__ import annotations

import copy
import json

import pytest

from tests.api.conftest import Caller, new_caller
from tests.api.helpers import add_tiles, body, row_counts

URL = "/api/v1/batch/process"
MINE = "s3://mine/<requestId>/<tileName>/<outputId>.<format>"
OTHER = "s3://other/<tileName>/<outputId>.<format>"


@pytest.fixture(scope="module")
def restricted(client, db, api_settings) -> Caller:
    return new_caller(client, db, api_settings, "restricted-to-mine", allowed_buckets=["mine"])


def _mine(**output_keys) -> dict:
    return body(output={"defaultTilePath": MINE, **output_keys})


def _response_tile_path(path: str) -> dict:
    result = _mine()
    result["processRequest"]["output"]["responses"][0]["tilePath"] = path
    return result


def _post(client, caller: Caller, payload) -> tuple[int, dict]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = client.post(URL, content=raw, headers={**caller.headers, "Content-Type": "application/json"})
    return response.status_code, response.json()


def _assert_bad(status: int, answer: dict, parameter: str, *words: str) -> None:
    assert status == 400, answer
    error = answer["error"]
    assert error["code"] == "COMMON_BAD_PAYLOAD" and error["reason"] == "Bad Request"
    assert error["errors"][0]["parameter"] == parameter
    assert parameter.rsplit(".", 1)[-1] in error["message"], error["message"]  # the message names the field
    for word in words:
        assert word in error["message"], error["message"]


@pytest.mark.parametrize(
    ("payload", "parameter"),
    [
        pytest.param(
            _response_tile_path(OTHER), "processRequest.output.responses[0].tilePath", id="processRequest-tilePath"
        ),
        pytest.param(_mine(tilePaths={"default": OTHER}), "output.tilePaths.default", id="output-tilePaths"),
        pytest.param(
            _mine(responses=[{"identifier": "default", "tilePath": OTHER}]),
            "output.responses[0].tilePath",
            id="output-responses-tilePath",
        ),
        pytest.param(
            body(output={"delivery": {"s3": {"url": OTHER}}}, bucketName="mine"),
            "output.delivery.s3.url",
            id="output-delivery-url",
        ),
        pytest.param(
            body(output={"bucketName": "other"}, bucketName="mine"), "output.bucketName", id="output-bucketName"
        ),
    ],
)
def test_every_output_location_must_be_in_an_allowed_bucket(client, db, restricted: Caller, payload, parameter):
    before = row_counts(db)
    status, answer = _post(client, restricted, payload)
    _assert_bad(status, answer, parameter, "'other'", "allowed buckets: mine")
    assert row_counts(db) == before


def test_locations_in_the_allowed_bucket_are_accepted(client, restricted: Caller):
    mine_tile = "s3://mine/idx/<tileName>.<format>"
    payload = _response_tile_path(mine_tile)
    payload["output"] |= {
        "tilePaths": {"default": mine_tile},
        "responses": [{"identifier": "default", "tilePath": mine_tile}],
    }
    status, answer = _post(client, restricted, payload)
    assert status == 201, answer


@pytest.mark.parametrize(
    ("update", "parameter"),
    [
        ({"tilePaths": {"default": OTHER}}, "output.tilePaths.default"),
        ({"responses": [{"identifier": "default", "tilePath": OTHER}]}, "output.responses[0].tilePath"),
        ({"delivery": {"s3": {"url": OTHER}}}, "output.delivery.s3.url"),
        ({"defaultTilePath": OTHER}, "output.defaultTilePath"),
        ({"cogParameters": {"blockxsize": "big"}}, "output.cogParameters.blockxsize"),
    ],
)
def test_update_cannot_move_outputs_out_of_the_allowed_buckets(client, db, restricted: Caller, update, parameter):
    status, created = _post(client, restricted, _mine())
    assert status == 201, created
    response = client.put(f"{URL}/{created['id']}", json={"output": update}, headers=restricted.headers)
    _assert_bad(response.status_code, response.json(), parameter)
    stored = client.get(f"{URL}/{created['id']}", headers=restricted.headers).json()
    assert stored["output"] == created["output"]


def _with_response(**changes) -> dict:
    result = body()
    result["processRequest"]["output"]["responses"][0] |= changes
    return result


def _with_geometry(geometry) -> dict:
    result = body()
    result["processRequest"]["input"]["bounds"]["geometry"] = geometry
    return result


BAD = [
    pytest.param(
        _with_response(format="image/tiff"), "processRequest.output.responses[0].format", id="format-as-string"
    ),
    pytest.param(
        _with_response(identifier=7), "processRequest.output.responses[0].identifier", id="identifier-not-a-string"
    ),
    pytest.param(
        _with_geometry({"type": "Polygon"}), "processRequest.input.bounds.geometry", id="polygon-without-coordinates"
    ),
    pytest.param(
        body(output={"defaultTilePath": MINE, "cogParameters": "fast"}),
        "output.cogParameters",
        id="cogParameters-not-an-object",
    ),
    pytest.param(
        body(output={"defaultTilePath": MINE, "cogParameters": {"blockxsize": "512"}}),
        "output.cogParameters.blockxsize",
        id="blockxsize-a-string",
    ),
    pytest.param(
        body(output={"defaultTilePath": MINE, "cogParameters": {"blockxsize": 512.5}}),
        "output.cogParameters.blockxsize",
        id="blockxsize-a-fraction",
    ),
    pytest.param(
        body(output={"defaultTilePath": MINE, "cogParameters": {"overviewLevels": 4}}),
        "output.cogParameters.overviewLevels",
        id="overviewLevels-not-a-list",
    ),
]


@pytest.mark.parametrize(("payload", "parameter"), BAD)
def test_bodies_that_crashed_or_would_break_the_worker_are_400(client, db, alice: Caller, payload, parameter):
    before = row_counts(db)
    status, answer = _post(client, alice, payload)
    _assert_bad(status, answer, parameter)
    assert row_counts(db) == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_the_body_are_400(client, db, alice: Caller, literal):
    before = row_counts(db)
    raw = json.dumps(body(description="x")).replace('"x"', literal).encode()
    status, answer = _post(client, alice, raw)
    assert status == 400, answer
    assert answer["error"]["message"] == "Request body is not valid JSON: NaN and Infinity are not allowed"
    assert row_counts(db) == before
    created = client.post(URL, json=body(), headers=alice.headers).json()
    update = client.put(
        f"{URL}/{created['id']}",
        content=b'{"description": NaN}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert update.status_code == 400 and "NaN and Infinity" in update.json()["error"]["message"]


@pytest.mark.parametrize(
    ("name", "value"), [("count", "\u00b2"), ("viewtoken", "\u00b2"), ("count", "\u0663"), ("viewtoken", "9" * 30)]
)
def test_paging_parameters_that_are_not_plain_digits_are_400(client, alice: Caller, name, value):
    response = client.get(URL, params={name: value}, headers=alice.headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["errors"][0]["parameter"] == name


def test_a_tile_id_beyond_int64_is_not_found(client, db, alice: Caller):
    created = client.post(URL, json=body(), headers=alice.headers).json()
    add_tiles(db, created["id"], ["PENDING"])
    for tile_id in (2**63, -(2**63) - 1, 10**30):
        response = client.get(f"{URL}/{created['id']}/tiles/{tile_id}", headers=alice.headers)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "COMMON_NOT_FOUND"
    assert client.get(f"{URL}/{created['id']}/tiles/1000", headers=alice.headers).status_code == 200


def test_valid_body_still_creates(client, alice: Caller):
    assert client.post(URL, json=copy.deepcopy(body()), headers=alice.headers).status_code == 201
