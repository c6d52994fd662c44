"""STAC written beside a finished request's outputs, through the real HTTP API on embedded storage:
pystac opens it (a full from_dict round trip), the collection and every item validate against the STAC
1.1 core and projection/raster extension JSON schemas (offline, tests/support/stac_validation.py), its
structure is what docs/outputs.md promises, and rasterio opens every data asset through its href with
the grid the item's projection fields describe."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pystac
import pytest
import rasterio
import shapely.geometry

from eobatch.artifacts.stac_catalog import COG, media_type
from tests.outputs import test_png_jpeg as images
from tests.support.stac_validation import StacInvalid, validate_stac

live = images.live  # the same service fixture: real HTTP server, SQLite, embedded storage, GDAL, V8

RESPONSES = [
    {"identifier": "nir", "format": {"type": "image/tiff"}},
    {"identifier": "ndvi", "format": {"type": "image/tiff"}},
]
PROJECTION = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
RASTER = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"


def test_media_types_name_the_format_and_flag_cogs():
    assert [media_type(f"s3://b/t/x.{e}", cog=False) for e in ("tif", "png", "jpg")] == [
        "image/tiff; application=geotiff",
        "image/png",
        "image/jpeg",
    ]
    assert media_type("s3://b/t/x.tif", cog=True) == COG


def _validate_all(collection_path: Path) -> int:
    """Schema-validate the collection and every item file beside it; the number of items."""
    validate_stac(collection_path)
    item_paths = sorted((collection_path.parent / "items").glob("*.json"))
    for item_path in item_paths:
        validate_stac(item_path)
    return len(item_paths)


def _item() -> dict:
    """A small valid STAC 1.1 Item with projection v2 and raster v1.1 fields."""
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [PROJECTION, RASTER],
        "id": "T0000",
        "geometry": {"type": "Polygon", "coordinates": [[[14, 46], [15, 46], [15, 47], [14, 47], [14, 46]]]},
        "bbox": [14, 46, 15, 47],
        "properties": {
            "datetime": None,
            "start_datetime": "2015-07-01T00:00:00Z",
            "end_datetime": "2015-08-25T00:00:00Z",
            "proj:code": "EPSG:32633",
            "proj:bbox": [400000, 5090000, 410000, 5100000],
            "proj:shape": [1000, 1000],
            "proj:transform": [10, 0, 400000, 0, -10, 5100000],
        },
        "links": [{"rel": "via", "href": "/api/v1/batch/process/x"}],
        "assets": {"ndvi": {"href": "s3://b/x/T0000/ndvi.tif", "raster:bands": [{"data_type": "float32"}]}},
    }


@pytest.mark.parametrize(
    ("breakage", "named"),
    [
        (lambda d: d.pop("bbox"), "bbox"),
        (lambda d: d["properties"].update({"proj:shape": [1, 1000, 1000]}), "proj:shape"),
        (lambda d: d["assets"]["ndvi"]["raster:bands"][0].update({"data_type": "float"}), "data_type"),
        (lambda d: d["properties"].pop("start_datetime"), "start_datetime"),
        (lambda d: d["assets"]["ndvi"]["raster:bands"][0].update({"nodata": "NaN"}), "nodata"),
        (lambda d: d["stac_extensions"].append("https://example.invalid/x/v1.0.0/schema.json"), "no offline copy"),
    ],
)
def test_the_schema_check_rejects_broken_documents(tmp_path, breakage, named):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_item()))
    assert validate_stac(good)["id"] == "T0000"
    document = _item()
    breakage(document)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    with pytest.raises(StacInvalid, match=named):
        validate_stac(bad)


def test_the_schema_check_rejects_a_collection_without_extent(tmp_path):
    collection = {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "eobatch-x",
        "description": "d",
        "license": "other",
        "extent": {"spatial": {"bbox": [[14, 46, 15, 47]]}, "temporal": {"interval": [[None, None]]}},
        "links": [],
    }
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(collection))
    validate_stac(path)
    del collection["extent"]["temporal"]
    path.write_text(json.dumps(collection))
    with pytest.raises(StacInvalid, match="temporal"):
        validate_stac(path)


def _collection_path(buckets: Path, request_id: str) -> Path:
    """The request's collection.json, waited for: it is written just after the request settles."""
    path = buckets / "results" / f"stac-{request_id}" / "collection.json"
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return path


def _local(buckets: Path, href: str) -> Path:
    assert href.startswith("s3://"), href
    return buckets / href.removeprefix("s3://")


def test_a_done_request_writes_a_stac_collection_that_pystac_and_rasterio_open(live):
    service, headers = live
    body = {
        "processRequest": {
            "input": {"bounds": {"geometry": images.AREA}, "data": images.DATA},
            "output": {"responses": RESPONSES},
            "evalscript": images.EVALSCRIPT,
        },
        "tilingGrid": {"id": images.GRID, "resolution": images.RESOLUTION},
        "output": {"defaultTilePath": images.TEMPLATE, "cogOutput": True},
    }
    base = service.url + "/api/v1/batch/process"
    created = httpx.post(base, json=body, headers=headers)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert httpx.post(f"{base}/{request_id}/start", headers=headers).status_code == 204
    assert images._wait_done(f"{base}/{request_id}", headers)["status"] == "DONE"
    wire_tiles = httpx.get(f"{base}/{request_id}/tiles", headers=headers).json()["data"]
    buckets = service.settings.buckets_dir

    path = _collection_path(buckets, request_id)
    raw = json.loads(path.read_text())
    assert raw["type"] == "Collection" and raw["id"] == f"eobatch-{request_id}"
    assert raw["eobatch:status"] == "DONE" and raw["eobatch:failed_tiles"] == []
    assert raw["extent"]["temporal"]["interval"] == [["2015-07-01T00:00:00Z", "2015-08-25T00:00:00Z"]]
    assert {"rel": "via", "href": f"/api/v1/batch/process/{request_id}"}.items() <= next(
        link for link in raw["links"] if link["rel"] == "via"
    ).items()
    assert _validate_all(path) == len(wire_tiles)
    collection = pystac.Collection.from_file(str(path))
    assert pystac.Collection.from_dict(collection.to_dict()).to_dict() == collection.to_dict()
    items = list(collection.get_items())
    assert sorted(i.id for i in items) == sorted(t["name"] for t in wire_tiles)
    for item in items:
        raw_item = item.to_dict()
        assert set(raw_item["stac_extensions"]) == {PROJECTION, RASTER}
        props = raw_item["properties"]
        assert props["datetime"] is None
        assert (props["start_datetime"], props["end_datetime"]) == ("2015-07-01T00:00:00Z", "2015-08-25T00:00:00Z")
        footprint = shapely.geometry.shape(item.geometry)
        assert footprint.intersects(shapely.geometry.shape(images.AREA))
        assert item.bbox == pytest.approx(list(footprint.bounds))
        assert -180 <= item.bbox[0] < item.bbox[2] <= 180 and -90 <= item.bbox[1] < item.bbox[3] <= 90
        assert set(item.assets) == {"nir", "ndvi"}
        assert item.assets["ndvi"].media_type == item.assets["nir"].media_type == COG
        expected_types = {"ndvi": "float32", "nir": "uint16"}
        for key, asset in item.assets.items():
            assert asset.roles == ["data"]
            with rasterio.open(_local(buckets, asset.href)) as src:
                assert props["proj:code"] == f"EPSG:{src.crs.to_epsg()}"
                assert props["proj:shape"] == [src.height, src.width]
                assert props["proj:transform"] == pytest.approx(list(src.transform)[:6])
                assert props["proj:bbox"] == pytest.approx(list(src.bounds))
                bands = asset.extra_fields["raster:bands"]
                assert [b["data_type"] for b in bands] == list(src.dtypes) == [expected_types[key]]
                assert all(b.get("nodata") == src.nodata for b in bands)
                assert src.read(1).any()


def test_a_v2_requests_stac_names_png_and_tiff_assets_and_links_the_v2_request(live):
    service, headers = live
    responses = [
        {"identifier": "nir", "format": {"type": "image/png"}},
        {"identifier": "ndvi", "format": {"type": "image/tiff"}},
    ]
    body = {
        "processRequest": {
            "input": {"bounds": {"geometry": images.AREA}, "data": images.DATA},
            "output": {"responses": responses},
            "evalscript": images.EVALSCRIPT,
        },
        "input": {"type": "tiling-grid", "id": images.GRID, "resolution": images.RESOLUTION},
        "output": {"type": "raster", "delivery": {"s3": {"url": images.TEMPLATE}}},
    }
    base = service.url + "/api/v2/batch/process"
    created = httpx.post(base, json=body, headers=headers)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert httpx.post(f"{base}/{request_id}/start", headers=headers).status_code in (200, 204)
    assert images._wait_done(f"{base}/{request_id}", headers)["status"] == "DONE"
    buckets = service.settings.buckets_dir
    path = _collection_path(buckets, request_id)
    assert _validate_all(path) > 0
    collection = pystac.Collection.from_file(str(path))
    assert collection.get_single_link("via").href.endswith(f"/api/v2/batch/process/{request_id}")
    items = list(collection.get_items())
    assert items
    for item in items:
        assert item.assets["nir"].media_type == "image/png"
        assert item.assets["ndvi"].media_type.startswith("image/tiff; application=geotiff")
        with rasterio.open(_local(buckets, item.assets["nir"].href)) as src:
            assert item.assets["nir"].extra_fields["raster:bands"] == [{"data_type": src.dtypes[0]}]
            assert item.properties["proj:transform"] == pytest.approx(list(src.transform)[:6])
