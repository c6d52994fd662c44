"""The dashboard's page, assets and JSON views without a browser: served offline, per account, clear errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.db import Database
from tests.api.conftest import new_caller
from tests.api.helpers import VALID_BODY


def test_page_assets_views_and_errors(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", dashboard_basemap_url="https://tiles.example.org/{z}/{x}/{y}.png")
    database = Database(settings.resolved_database_url())
    database.migrate()
    client = TestClient(create_app(settings, database))
    alice = new_caller(client, database, settings, "alice")
    bob = new_caller(client, database, settings, "bob")

    page = client.get("/")
    assert page.status_code == 200 and "/dashboard/vendor/leaflet/leaflet.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from another host
    leaflet = client.get("/dashboard/vendor/leaflet/leaflet.js")
    assert leaflet.status_code == 200 and "Leaflet" in leaflet.text[:400]
    assert client.get("/dashboard/static/app.js").status_code == 200
    assert client.get("/api/v1/dashboard/config").json()["basemap"]["url"].startswith("https://tiles.example.org")

    assert client.get("/api/v1/dashboard/requests").status_code == 401
    created = client.post("/api/v1/batch/process", json=VALID_BODY, headers=alice.headers).json()
    listed = client.get("/api/v1/dashboard/requests", headers=alice.headers).json()
    assert [r["id"] for r in listed["requests"]] == [created["id"]]
    summary = listed["requests"][0]
    assert summary["status"] == "CREATED" and summary["actions"] == ["analyse", "start", "cancel"]
    assert client.get("/api/v1/dashboard/requests", headers=bob.headers).json()["requests"] == []

    view = client.get(f"/api/v1/dashboard/requests/{created['id']}", headers=alice.headers).json()
    assert view["area"]["type"] == "Polygon" and view["tiles"] == []
    assert client.get(f"/api/v1/dashboard/requests/{created['id']}", headers=bob.headers).status_code == 404
    preview = client.get(f"/api/v1/dashboard/requests/{created['id']}/tiles/1/preview/3/4/2.png", headers=alice.headers)
    assert preview.status_code == 404 and preview.json()["error"]["status"] == 404
    database.dispose()
