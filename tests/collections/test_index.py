"""`eobatch collections index`: a folder or S3 prefix of COGs becomes a static STAC collection that a
collections-file entry reads (pystac, projection extension)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import yaml
from affine import Affine
from shapely.geometry import box
from typer.testing import CliRunner

from eobatch.cli import app
from eobatch.collections import CollectionRegistry
from eobatch.grids import pixel_grid, tiles_for_area
from eobatch.processing import TargetGrid
from eobatch.processing.read import read_onto_grid
from eobatch.processing.sources import open_source
from tests.collections.stac_archive import upload_folder
from tests.processing.rasters import gradient, write_cog
from tests.support.seaweed import start_seaweed

AREA = box(14.49, 45.94, 14.51, 45.955)


@pytest.fixture
def cogs(tmp_path):
    """Two scene folders (10 m B04, 20 m B8A) and one loose COG without a date in its name."""
    root = tmp_path / "cogs"
    for k, name in enumerate(("T33TVL_20200610T100000", "T33TVL_2020-06-12")):
        write_cog(root / name / "B04.tif", gradient(300, 300, seed=k), Affine(10, 0, 460_000, 0, -10, 5_090_000))
        write_cog(root / name / "B8A.tif", gradient(150, 150, seed=9 + k), Affine(20, 0, 460_000, 0, -20, 5_090_000))
    write_cog(root / "dem.tif", gradient(100, 100, seed=5), Affine(30, 0, 460_000, 0, -30, 5_090_000))
    return root


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def entry(tmp_path, href: str, access: dict | None = None):
    config = {
        "source": {"kind": "static", "href": href},
        "bands": {"B04": {"resolution": 10}, "B8A": {"resolution": 20}},
    }
    if access:
        config["access"] = access
    path = tmp_path / "collections.yaml"
    path.write_text(yaml.safe_dump({"collections": {"byoc-mine": config}}))
    return CollectionRegistry.from_file(path).get("byoc-mine")


def test_folder_of_cogs_becomes_a_searchable_collection(tmp_path, cogs):
    output = run("collections", "index", str(cogs), "--id", "mine", "--datetime", "2020-01-01T00:00:00Z")
    assert "3 items, 5 assets" in output and "byoc-mine" in output
    document = json.loads((cogs / "collection.json").read_text())
    assert document["type"] == "Collection" and document["id"] == "mine"
    item = json.loads((cogs / "T33TVL_2020-06-12" / "T33TVL_2020-06-12.json").read_text())
    assert item["properties"]["datetime"] == "2020-06-12T00:00:00Z"
    assert item["properties"]["proj:code"] == "EPSG:32633"
    assert item["assets"]["B04"]["href"] == "./B04.tif" and item["assets"]["B8A"]["proj:shape"] == [150, 150]
    collection = entry(tmp_path, str(cogs / "collection.json"))
    scenes = collection.search(AREA, "2020-06-01T00:00:00Z", "2020-06-30T00:00:00Z")
    assert [s.id for s in scenes] == ["T33TVL_2020-06-12", "T33TVL_20200610T100000"]
    assert scenes[1].datetime.isoformat() == "2020-06-10T10:00:00+00:00"
    assert scenes[0].assets["B8A"] == str(cogs / "T33TVL_2020-06-12" / "B8A.tif")
    assert [s.id for s in collection.search(AREA, "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z")] == ["dem"]


def test_s3_prefix_indexed_in_place_and_read_back(tmp_path, cogs, monkeypatch):
    weed = start_seaweed()
    try:
        weed.create_bucket("mine")
        upload_folder(weed.client(), "mine", cogs, "cogs")
        monkeypatch.setenv("MY_KEY", weed.access_key)
        monkeypatch.setenv("MY_SECRET", weed.secret_key)
        keys = ("--access-key-env", "MY_KEY", "--secret-key-env", "MY_SECRET")
        output = run("collections", "index", "s3://mine/cogs", "--id", "mine", "--endpoint", weed.endpoint,
                     "--datetime", "2020-01-01", *keys)  # fmt: skip
        assert "s3://mine/cogs/collection.json" in output
        access = {"endpoint": weed.endpoint, "credentials": {"access_key_env": "MY_KEY", "secret_key_env": "MY_SECRET"}}
        collection = entry(tmp_path, "s3://mine/cogs/collection.json", access)
        scenes = collection.search(AREA, "2020-06-10T00:00:00Z", "2020-06-10T23:00:00Z")
        assert [s.id for s in scenes] == ["T33TVL_20200610T100000"]
        assert scenes[0].assets["B04"] == "s3://mine/cogs/T33TVL_20200610T100000/B04.tif"
        tile = next(t for t in tiles_for_area(1, AREA) if t.name == "33TVL_6_1")
        grid = TargetGrid.of(pixel_grid(tile, 20.0, 0, 0))
        with open_source(scenes[0].assets["B04"], grid, collection.access) as src:
            remote = read_onto_grid(src, grid, rasterio.enums.Resampling.nearest, 0)
        with open_source(str(cogs / "T33TVL_20200610T100000" / "B04.tif"), grid, collection.access) as src:
            local = read_onto_grid(src, grid, rasterio.enums.Resampling.nearest, 0)
        assert np.isfinite(local).sum() > 100
        np.testing.assert_array_equal(remote, local)
    finally:
        weed.stop()
