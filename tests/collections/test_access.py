"""Per-collection access against real local services: a static STAC catalog read with pystac from a
folder, from SeaweedFS (read-only keys, unsigned, requester pays) and from HTTP (headers, signed
URLs), and its COGs read through the same access with GDAL."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import yaml
from shapely.geometry import box

from eobatch.collections import CatalogUnreadable, CollectionRegistry
from eobatch.errors import BadRequest, TileFailure
from eobatch.grids import pixel_grid, tiles_for_area
from eobatch.processing import TargetGrid
from eobatch.processing.read import read_onto_grid
from eobatch.processing.sources import open_source
from eobatch.settings import Settings
from eobatch.storage.access import StoreAccess
from tests.collections.stac_archive import COLLECTION_ID, tiny_scenes, upload_folder, write_static_catalog
from tests.support.http_servers import serve_files, serve_proxy, serve_token_endpoint
from tests.support.seaweed import start_seaweed

AREA = box(14.49, 45.94, 14.51, 45.955)
TIME = ("2020-06-01T00:00:00Z", "2020-06-30T00:00:00Z")
READER = {"accessKey": "archive-reader", "secretKey": "archive-reader-secret"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return write_static_catalog(tmp_path_factory.mktemp("catalog"), tiny_scenes())


@pytest.fixture(scope="module")
def weed(catalog):
    """SeaweedFS with a read-only identity on `archive` and anonymous reads on `public`."""
    weed = start_seaweed(
        identities=[
            {"name": "reader", "credentials": [READER], "actions": ["Read:archive", "List:archive"]},
            {"name": "anonymous", "actions": ["Read:public"]},
        ]
    )
    client = weed.client()
    for bucket in ("archive", "public"):
        client.create_bucket(Bucket=bucket)
        upload_folder(client, bucket, catalog.parent, "stac")
    yield weed
    weed.stop()


def registry(tmp_path, href: str, access: dict | None = None, settings: Settings | None = None):
    entry = {"preset": "sentinel-2-l1c", "source": {"kind": "static", "href": href}}
    if access is not None:
        entry["access"] = access
    path = tmp_path / "collections.yaml"
    path.write_text(yaml.safe_dump({"collections": {"byoc-tiny": entry}}))
    return CollectionRegistry.from_file(path, settings).get("byoc-tiny")


def read_b04(collection, scene) -> np.ndarray:
    tile = next(t for t in tiles_for_area(1, AREA) if t.name == "33TVL_6_1")
    grid = TargetGrid.of(pixel_grid(tile, 20.0, 0, 0))
    with open_source(scene.assets["B04"], grid, collection.access) as src:
        return read_onto_grid(src, grid, rasterio.enums.Resampling.nearest, 0)


def found(collection) -> list:
    return sorted(collection.search(AREA, *TIME), key=lambda s: s.id)


def test_static_catalog_from_folder_s3_and_http_gives_the_same_scenes_and_pixels(tmp_path, catalog, weed, monkeypatch):
    local = registry(tmp_path, str(catalog))
    monkeypatch.setenv("ARCHIVE_KEY", READER["accessKey"])
    monkeypatch.setenv("ARCHIVE_SECRET", READER["secretKey"])
    keys = {"access_key_env": "ARCHIVE_KEY", "secret_key_env": "ARCHIVE_SECRET"}
    on_s3 = registry(tmp_path, "s3://archive/stac/catalog.json", {"endpoint": weed.endpoint, "credentials": keys})
    server = serve_files(catalog.parent, headers={"X-Archive-Key": "k-123"})
    try:
        over_http = registry(tmp_path, f"{server.url}/catalog.json", {"headers": {"X-Archive-Key": "k-123"}})
        scenes = {name: found(c) for name, c in (("local", local), ("s3", on_s3), ("http", over_http))}
        assert [s.id for s in scenes["local"]] == ["T_a", "T_b"]
        assert all([s.id for s in v] == ["T_a", "T_b"] for v in scenes.values())
        assert scenes["s3"][0].assets["B04"] == f"s3://archive/stac/{COLLECTION_ID}/T_a/B04.tif"
        assert scenes["http"][0].assets["B04"] == f"{server.url}/{COLLECTION_ID}/T_a/B04.tif"
        expected = read_b04(local, scenes["local"][0])
        assert np.isfinite(expected).sum() > 100
        np.testing.assert_array_equal(read_b04(on_s3, scenes["s3"][0]), expected)
        np.testing.assert_array_equal(read_b04(over_http, scenes["http"][0]), expected)
        assert server.counts["refused"] == 0
        without_header = registry(tmp_path, f"{server.url}/catalog.json")
        with pytest.raises(CatalogUnreadable, match="403"):
            without_header.search(AREA, *TIME)
    finally:
        server.stop()


def test_read_only_keys_are_refused_elsewhere_and_never_echoed(tmp_path, weed, monkeypatch):
    monkeypatch.setenv("ARCHIVE_KEY", READER["accessKey"])
    monkeypatch.setenv("ARCHIVE_SECRET", READER["secretKey"])
    keys = {"access_key_env": "ARCHIVE_KEY", "secret_key_env": "ARCHIVE_SECRET"}
    weed.client().put_object(Bucket=weed.bucket, Key="stac/catalog.json", Body=b"{}")
    outputs = registry(
        tmp_path, f"s3://{weed.bucket}/stac/catalog.json", {"endpoint": weed.endpoint, "credentials": keys}
    )
    with pytest.raises(CatalogUnreadable) as err:
        outputs.search(AREA, *TIME)
    assert READER["secretKey"] not in str(err.value)
    assert READER["secretKey"] not in repr(outputs.access) + outputs.access.describe()
    assert "archive-reader" in outputs.access.describe()
    monkeypatch.delenv("ARCHIVE_SECRET")
    with pytest.raises(BadRequest, match="secret key variable ARCHIVE_SECRET is not set"):
        registry(tmp_path, "s3://archive/stac/catalog.json", {"endpoint": weed.endpoint, "credentials": keys})


def test_credentials_file_with_profile(tmp_path, weed):
    ini = tmp_path / "credentials"
    ini.write_text(
        f"[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n"
        f"[archive]\naws_access_key_id = {READER['accessKey']}\naws_secret_access_key = {READER['secretKey']}\n"
    )
    access = {"endpoint": weed.endpoint, "credentials": {"file": str(ini), "profile": "archive"}}
    assert [s.id for s in found(registry(tmp_path, "s3://archive/stac/catalog.json", access))] == ["T_a", "T_b"]
    access["credentials"]["profile"] = "missing"
    with pytest.raises(BadRequest, match=r"profile \[missing\] of credentials file"):
        registry(tmp_path, "s3://archive/stac/catalog.json", access)


def test_unsigned_access_reads_a_public_bucket_only(tmp_path, weed):
    public = registry(tmp_path, "s3://public/stac/catalog.json", {"endpoint": weed.endpoint, "unsigned": True})
    scenes = found(public)
    assert [s.id for s in scenes] == ["T_a", "T_b"]
    assert np.isfinite(read_b04(public, scenes[0])).any()
    private = registry(tmp_path, "s3://archive/stac/catalog.json", {"endpoint": weed.endpoint, "unsigned": True})
    with pytest.raises(CatalogUnreadable, match=r"AccessDenied|403"):
        private.search(AREA, *TIME)


def test_requester_pays_sends_the_header_for_catalog_and_cog_reads(tmp_path, weed):
    proxy = serve_proxy(weed.endpoint, {"x-amz-request-payer": "requester"})
    keys = tmp_path / "keys.json"
    keys.write_text(f'{{"access_key_id": "{READER["accessKey"]}", "secret_access_key": "{READER["secretKey"]}"}}')
    try:
        access = {"endpoint": proxy.url, "credentials": {"file": str(keys)}, "requester_pays": True}
        paying = registry(tmp_path, "s3://archive/stac/catalog.json", access)
        scenes = found(paying)
        assert [s.id for s in scenes] == ["T_a", "T_b"]
        assert np.isfinite(read_b04(paying, scenes[0])).any()
        assert proxy.counts["forwarded"] >= 4 and proxy.counts["refused"] == 0
        access["requester_pays"] = False
        with pytest.raises(CatalogUnreadable):
            registry(tmp_path, "s3://archive/stac/catalog.json", access).search(AREA, *TIME)
        assert proxy.counts["refused"] >= 1
    finally:
        proxy.stop()


def test_signed_urls_use_a_cached_token(tmp_path, catalog):
    token = "st=2020&sig=s3cr3t"
    files = serve_files(catalog.parent, query={"sig": "s3cr3t"})
    catalog_server = serve_files(catalog.parent)
    tokens = serve_token_endpoint(token)
    try:
        signer = {"kind": "token", "token_url": f"{tokens.url}/token"}
        signed = registry(tmp_path, f"{catalog_server.url}/catalog.json", {"signer": signer})
        scenes = found(signed)
        hrefs = [scene.assets["B04"].replace(catalog_server.url, files.url) for scene in scenes]
        for scene, href in zip(scenes, hrefs, strict=True):
            object.__setattr__(scene, "assets", {"B04": href})
            assert np.isfinite(read_b04(signed, scene)).any()
        assert dict(tokens.counts) == {"127/tiny-s2": 1}  # one token for both scenes
        assert files.counts["refused"] == 0 and files.counts["ok"] > 0
        unsigned = registry(tmp_path, f"{catalog_server.url}/catalog.json")
        with pytest.raises(TileFailure) as err:
            read_b04(unsigned, scenes[0])
        assert "403" in err.value.reason and "s3cr3t" not in err.value.reason
    finally:
        for server in (files, catalog_server, tokens):
            server.stop()


def test_inputs_never_resolve_to_output_buckets(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    assert StoreAccess().gdal_path("s3://out/a/B04.tif") == "/vsis3/out/a/B04.tif"
    (tmp_path / "cat.json").write_text('{"type": "FeatureCollection", "features": []}')
    explicit = registry(tmp_path, str(tmp_path / "cat.json"), {"output_store": True}, settings)
    assert explicit.access.gdal_path("s3://out/a/B04.tif") == str(settings.buckets_dir / "out/a/B04.tif")
    with pytest.raises(BadRequest, match="output_store uses the service's own store"):
        registry(tmp_path, str(tmp_path / "cat.json"), {"output_store": True, "endpoint": "http://x"}, settings)
