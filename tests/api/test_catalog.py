"""Catalog API over the real Sentinel-2 sample scenes: paging, filters, fields, GET search, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.db import Database
from tests.api.conftest import new_caller

REAL_COLLECTIONS = Path(__file__).parents[2] / "examples" / "collections-real.yaml"
SEARCH = "/api/v1/catalog/1.0.0/search"
BBOX = [14.50, 45.80, 14.60, 45.90]
SUMMER = "2015-07-01T00:00:00Z/2015-09-30T23:59:59Z"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("catalog"), collections_file=REAL_COLLECTIONS)
    database = Database(settings.resolved_database_url())
    database.migrate()
    with TestClient(create_app(settings, database)) as client:
        caller = new_caller(client, database, settings, "catalog")
        client.headers.update(caller.headers)
        yield client
    database.dispose()


def search(client: TestClient, **body) -> dict:
    response = client.post(SEARCH, json={"collections": ["sentinel-2-l1c"], "bbox": BBOX, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_paging_walks_every_item_once_newest_first(catalog):
    seen, token = [], None
    while True:
        page = search(catalog, datetime=SUMMER, limit=2, **({"next": token} if token is not None else {}))
        seen += [f["id"] for f in page["features"]]
        token = page["context"].get("next")
        if token is None:
            break
    assert len(seen) == 5 == len(set(seen))
    dates = [s.split("_")[1] for s in seen]
    assert dates == sorted(dates, reverse=True)


def test_time_cloud_filter_and_fields(catalog):
    page = search(
        catalog,
        datetime="2015-08-01T00:00:00Z/..",
        filter="eo:cloud_cover <= 10",
        fields={"include": ["properties.eo:cloud_cover"], "exclude": ["stac_version"]},
    )
    assert [f["id"] for f in page["features"]] == ["S2L1C_20150909T100017", "S2L1C_20150830T100547"]
    expected = {"id": "S2L1C_20150909T100017", "type": "Feature", "properties": {"eo:cloud_cover": 0.0}}
    assert page["features"][0] == expected


def test_distinct_dates_and_get_search(catalog):
    page = search(catalog, datetime=SUMMER, distinct="date", filter="eo:cloud_cover > 50")
    assert page["features"] == ["2015-08-20", "2015-07-31"]
    bbox = ",".join(map(str, BBOX))
    params = {"collections": "sentinel-2-l1c", "bbox": bbox, "limit": 1, "ids": "S2L1C_20150711T100008"}
    response = catalog.get(SEARCH, params=params)
    assert response.status_code == 200
    assert [f["id"] for f in response.json()["features"]] == ["S2L1C_20150711T100008"]
    assert response.json()["features"][0]["assets"]["B04"]["href"].endswith("B04.tif")


def test_item_and_collection_routes(catalog):
    item = catalog.get("/api/v1/catalog/1.0.0/collections/sentinel-2-l1c/items/S2L1C_20150830T100547")
    assert item.status_code == 200 and item.json()["properties"]["datetime"] == "2015-08-30T10:05:47Z"
    assert catalog.get("/api/v1/catalog/1.0.0/collections/sentinel-2-l1c/items/nope").status_code == 404
    assert catalog.get("/api/v1/catalog/1.0.0/collections/nope").status_code == 404
    bands = catalog.get("/api/v1/catalog/1.0.0/collections/sentinel-2-l1c").json()["summaries"]["eo:bands"]
    assert {"B04", "B08", "dataMask"} <= {b["name"] for b in bands}


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"bbox": [1, 2, 3]}, "bbox"),
        ({"bbox": [14, 95, 15, 96]}, "bbox"),
        ({"filter": "eo:cloud_cover <<< 3"}, "filter"),
        ({"filter": "s_intersects(geometry, POINT(1 1))"}, "filter"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"next": "abc"}, "next"),
        ({"collections": ["sentinel-9"]}, "collections"),
        ({"datetime": "2015-09-01T00:00:00Z/2015-08-01T00:00:00Z"}, "datetime"),
        ({"intersects": {"type": "Polygon", "coordinates": "x"}}, "intersects"),
        ({"distinct": "month"}, "distinct"),
    ],
)
def test_bad_searches_are_clear_400s(catalog, changes, parameter):
    response = catalog.post(SEARCH, json={"collections": ["sentinel-2-l1c"], "bbox": BBOX, **changes})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "COMMON_BAD_PAYLOAD" and error["errors"][0]["parameter"] == parameter


def test_search_needs_a_token_but_the_landing_page_does_not(catalog):
    anonymous = TestClient(catalog.app)
    assert anonymous.post(SEARCH, json={"collections": ["sentinel-2-l1c"]}).status_code == 401
    landing = anonymous.get("/api/v1/catalog/1.0.0/")
    assert landing.status_code == 200 and landing.json()["type"] == "Catalog"
