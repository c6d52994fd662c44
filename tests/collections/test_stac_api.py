"""STAC API sources against a real stac-fastapi-pgstac server: every page is read, one search per call
(counted at the server), and more items than `max_items` is an error with the count, never a cut."""

from __future__ import annotations

import pytest
import yaml
from shapely.geometry import box

from eobatch.collections import CollectionRegistry
from eobatch.errors import BadRequest
from tests.support.stac_api import start_stac_api

COLLECTION = {
    "type": "Collection",
    "stac_version": "1.1.0",
    "id": "paged",
    "description": "paging test",
    "license": "proprietary",
    "extent": {"spatial": {"bbox": [[0, 0, 2, 2]]}, "temporal": {"interval": [[None, None]]}},
    "links": [],
}


def item(k: int) -> dict:
    x = 0.0 if k % 2 else 1.0  # odd items west, even items east
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": f"scene-{k:03d}",
        "geometry": box(x, 0, x + 1, 1).__geo_interface__,
        "bbox": [x, 0, x + 1, 1],
        "properties": {
            "datetime": f"2024-05-{1 + k % 28:02d}T10:00:{k % 60:02d}Z",
            "eo:cloud_cover": None if k % 5 == 0 else float(k % 100),
            "s2:processing_baseline": "05.10",
        },
        "assets": {"red": {"href": f"https://example.com/{k}/B04.tif"}},
        "links": [],
    }


@pytest.fixture(scope="module")
def api(postgres_server):
    server = start_stac_api(postgres_server)
    try:
        server.load(COLLECTION, [item(k) for k in range(57)])
        yield server
    finally:
        server.stop()


def collection(tmp_path, url: str, **source):
    entry = {
        "preset": "sentinel-2-l2a",
        "source": {"kind": "stac-api", "url": url, "collection": "paged", **source},
        "harmonize": "sentinel-2",
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"collections": {"sentinel-2-l2a": entry}}))
    return CollectionRegistry.from_file(path).get("sentinel-2-l2a")


def test_every_page_is_read_in_one_search(tmp_path, api):
    before = api.searches()
    found = collection(tmp_path, api.url, page_size=7).search(
        box(0.2, 0.2, 0.4, 0.4), "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z"
    )
    after = api.searches()
    assert sorted(s.id for s in found) == [f"scene-{k:03d}" for k in range(1, 57, 2)]
    assert after["searches"] - before["searches"] == 1
    assert after["pages"] - before["pages"] == 3  # 28 items: the first page of 7, then 3 more
    assert found[0].datetime >= found[-1].datetime
    assert all(s.assets["B04"].startswith("https://example.com/") for s in found)
    assert {s.harmonize_offset for s in found} == {-1000.0}


def test_cloud_filter_keeps_items_without_cloud_cover(tmp_path, api):
    found = collection(tmp_path, api.url).search(
        box(1.2, 0.2, 1.4, 0.4), "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z", 10
    )
    assert sorted(s.id for s in found) == sorted(
        f"scene-{k:03d}" for k in range(0, 57, 2) if k % 5 == 0 or k % 100 <= 10
    )


def test_more_items_than_max_items_is_an_error_with_the_count(tmp_path, api):
    source = collection(tmp_path, api.url, page_size=10, max_items=20)
    with pytest.raises(BadRequest) as err:
        source.search(box(0, 0, 2, 1), "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z")
    assert "more than 20 items" in err.value.message and "max_items (20)" in err.value.message
