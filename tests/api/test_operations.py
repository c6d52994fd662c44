"""Operating the API: health and readiness, Prometheus metrics, 503 while the database is away,
revoked tokens of deleted clients, and the limit on failed token requests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from eobatch.api import create_app
from eobatch.service import free_port
from eobatch.settings import Settings
from eobatch.store.accounts import delete_client
from eobatch.store.db import Database
from tests.api.conftest import new_caller
from tests.api.helpers import VALID_BODY


@pytest.fixture
def app_parts(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", workers=1, token_failures_per_minute=3)
    database = Database(f"sqlite:///{tmp_path / 'eobatch.sqlite'}")
    database.migrate()
    with TestClient(create_app(settings, database)) as client:
        yield client, settings, database
    database.dispose()


def test_health_readiness_and_metrics(app_parts):
    client, settings, database = app_parts
    alice = new_caller(client, database, settings, "alice")
    assert client.post("/api/v1/batch/process", json=VALID_BODY, headers=alice.headers).status_code == 201
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "object_storage": "ok"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'eobatch_requests{status="CREATED"} 1.0' in text
    for name in (
        "eobatch_queue_depth",
        "eobatch_analyses_running",
        "eobatch_pu_charged",
        "eobatch_storage_retries_total",
    ):
        assert f"\n{name}" in text or text.startswith(name)


def test_readiness_names_an_unreachable_object_store(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", s3_endpoint=f"http://127.0.0.1:{free_port()}")
    database = Database(f"sqlite:///{tmp_path / 'eobatch.sqlite'}")
    database.migrate()
    with TestClient(create_app(settings, database)) as client:
        ready = client.get("/readyz")
    database.dispose()
    assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["object_storage"].startswith("unreachable")


def test_an_unreachable_database_answers_503_with_retry_after(tmp_path, postgres_server):
    url = postgres_server.new_database()
    database = Database(url)
    database.migrate()
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings, database)) as client:
        alice = new_caller(client, database, settings, "alice")
        database.dispose()
        dead = Database(url.replace(f":{postgres_server.port}/", f":{free_port()}/"))
        client.app.state.database = dead
        client.app.state.batch_service.database = dead
        for response in (
            client.get("/api/v1/batch/process", headers=alice.headers),
            client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": alice.client_id, "client_secret": "x"},
            ),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert client.get("/readyz").status_code == 503
        dead.dispose()


def test_tokens_of_a_deleted_client_stop_working(app_parts):
    client, settings, database = app_parts
    alice = new_caller(client, database, settings, "alice")
    assert client.get("/api/v1/batch/process", headers=alice.headers).status_code == 200
    with database.session() as session:
        delete_client(session, alice.client_id)
    revoked = client.get("/api/v1/batch/process", headers=alice.headers)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]


def test_failed_token_requests_are_limited(app_parts):
    client, settings, database = app_parts
    alice = new_caller(client, database, settings, "alice")
    wrong = {"grant_type": "client_credentials", "client_id": alice.client_id, "client_secret": "guess"}
    assert [client.post("/oauth/token", data=wrong).status_code for _ in range(3)] == [401, 401, 401]
    limited = client.post("/oauth/token", data=wrong)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    right = {**wrong, "client_secret": alice.client_secret}
    assert client.post("/oauth/token", data=right).status_code == 429  # until the window has passed
