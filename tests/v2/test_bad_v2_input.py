"""v2 create input that used to slip through: outputs and GeoPackage sources outside the account's
buckets, an iamRoleARN the deployment cannot honour, and bodies that crashed with 500 or would break
the worker. Every rejection is a 400 naming the field, with nothing written."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from eobatch.store.db import Database
from tests.v2.gpkg import square, write_gpkg
from tests.v2.test_api_v2 import V2, _count, _zarr_body, v2_body

ROLE_ONLY = "iamRoleARN is not supported by this deployment; give accessKey and secretAccessKey"


def _token(
    client: TestClient, database: Database, settings: Settings, name: str, allowed_buckets: list[str] | None = None
) -> dict[str, str]:
    with database.session() as session:
        _account, client_id, secret = create_account(session, name, settings, allowed_buckets=allowed_buckets)
    token = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def restricted(v2_client, v2_database, v2_settings) -> dict[str, str]:
    return _token(v2_client, v2_database, v2_settings, "v2-restricted", allowed_buckets=["results"])


def _assert_bad(response, parameter: str, *words: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "COMMON_BAD_PAYLOAD" and error["errors"][0]["parameter"] == parameter
    for word in words:
        assert word in error["message"], error["message"]


def test_process_request_tile_path_must_be_in_an_allowed_bucket(v2_client, restricted, v2_database):
    body = v2_body()
    body["processRequest"]["output"]["responses"][0]["tilePath"] = "s3://other/<tileName>/<outputId>.<format>"
    _assert_bad(
        v2_client.post(f"{V2}/process", json=body, headers=restricted),
        "processRequest.output.responses[0].tilePath",
        "'other'",
        "allowed buckets: results",
    )
    assert _count(v2_database) == 0
    body["processRequest"]["output"]["responses"][0]["tilePath"] = "s3://results/idx/<tileName>.<format>"
    assert v2_client.post(f"{V2}/process", json=body, headers=restricted).status_code == 201


def test_geopackage_source_must_be_in_an_allowed_bucket(v2_client, restricted, v2_settings, v2_database):
    bucket = v2_settings.buckets_dir / "secrets"
    bucket.mkdir(parents=True)
    write_gpkg(
        bucket / "features.gpkg",
        [{"id": 1, "identifier": "f", "width": 8, "height": 8, "geometry": square(460000, 5100000, 80)}],
    )
    body = v2_body(input={"type": "geopackage", "features": {"s3": {"url": "s3://secrets/features.gpkg"}}})
    del body["processRequest"]["input"]["bounds"]
    _assert_bad(
        v2_client.post(f"{V2}/process", json=body, headers=restricted),
        "input.features.s3.url",
        "'secrets'",
        "allowed buckets: results",
    )
    assert _count(v2_database) == 0


@pytest.fixture
def s3_client(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Database]]:
    """An app whose deployment writes to an S3 endpoint (never contacted by these creates)."""
    settings = Settings(
        data_dir=tmp_path / "s3-data",
        workers=1,
        s3_endpoint="http://127.0.0.1:9",
        s3_access_key="service-key",
        s3_secret_key="service-secret",
    )
    settings.data_dir.mkdir(parents=True)
    database = Database(settings.resolved_database_url())
    database.migrate()
    with TestClient(create_app(settings, database)) as client:
        yield client, _token(client, database, settings, "s3-user"), database
    database.dispose()


def _role_only(body: dict[str, Any]) -> dict[str, Any]:
    body["output"]["delivery"]["s3"] = {
        "url": body["output"]["delivery"]["s3"]["url"],
        "iamRoleARN": "arn:aws:iam::123456789012:role/writer",
    }
    return body


def test_iam_role_without_keys_is_refused_on_an_s3_endpoint(s3_client):
    client, headers, database = s3_client
    response = client.post(f"{V2}/process", json=_role_only(v2_body()), headers=headers)
    _assert_bad(response, "output.delivery.s3.iamRoleARN", ROLE_ONLY)
    assert _count(database) == 0
    with_keys = v2_body()
    with_keys["output"]["delivery"]["s3"]["iamRoleARN"] = "arn:aws:iam::123456789012:role/writer"
    assert client.post(f"{V2}/process", json=with_keys, headers=headers).status_code == 201

    features = v2_body(
        input={
            "type": "geopackage",
            "features": {
                "s3": {"url": "s3://inputs/features.gpkg", "iamRoleARN": "arn:aws:iam::123456789012:role/reader"}
            },
        }
    )
    del features["processRequest"]["input"]["bounds"]
    _assert_bad(client.post(f"{V2}/process", json=features, headers=headers), "input.features.s3.iamRoleARN", ROLE_ONLY)
    assert _count(database) == 1


def test_iam_role_without_keys_is_kept_on_local_buckets(v2_client, headers):
    assert v2_client.post(f"{V2}/process", json=_role_only(v2_body()), headers=headers).status_code == 201


def _zarr(change) -> dict[str, Any]:
    body = _zarr_body(7, 20.0)
    change(body)
    return body


def _set(path: str, value: Any):
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value

    return change


@pytest.mark.parametrize(
    ("payload", "parameter"),
    [
        pytest.param(_zarr(_set("output.group.coordinates", "x")), "output.group.coordinates", id="zarr-coordinates"),
        pytest.param(
            _zarr(_set("output.arrayOverrides", {"ndvi": "float32"})),
            "output.arrayOverrides.ndvi",
            id="zarr-override-string",
        ),
        pytest.param(
            _zarr(_set("output.arrayParameter.chunks", [True, 500, 500])),
            "output.arrayParameters.chunks",
            id="zarr-chunks-bool",
        ),
        pytest.param(
            _zarr(_set("output.arrayParameter.dtype", {"names": ["a"], "formats": ["f4"]})),
            "output.arrayParameters.dtype",
            id="zarr-dtype-object",
        ),
        pytest.param(
            _zarr(_set("output.arrayParameter.dtype", "U4")), "output.arrayParameters.dtype", id="zarr-dtype-text"
        ),
        pytest.param(
            _zarr(_set("output.arrayParameter.fill_value", True)),
            "output.arrayParameters.fill_value",
            id="zarr-fill-bool",
        ),
        pytest.param(
            _zarr(_set("processRequest.output.responses.0.format", "zarr/array")),
            "processRequest.output.responses[0].format.type",
            id="zarr-format-string",
        ),
        pytest.param(
            _set("processRequest.output.responses.0.format", "image/tiff"),
            "processRequest.output.responses[0].format",
            id="raster-format-string",
        ),
        pytest.param(
            _set("processRequest.output.responses.0.identifier", ["default"]),
            "processRequest.output.responses[0].identifier",
            id="raster-identifier-list",
        ),
        pytest.param(_set("output.cogParameters", [512]), "output.cogParameters", id="cogParameters-list"),
        pytest.param(
            _set("output.cogParameters", {"blockysize": True}), "output.cogParameters.blockysize", id="blockysize-bool"
        ),
    ],
)
def test_bodies_that_crashed_or_would_break_the_worker_are_400(v2_client, headers, v2_database, payload, parameter):
    if callable(payload):
        body = v2_body()
        payload(body)
        payload = body
    _assert_bad(v2_client.post(f"{V2}/process", json=copy.deepcopy(payload), headers=headers), parameter)
    assert _count(v2_database) == 0
