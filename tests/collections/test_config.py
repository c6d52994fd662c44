"""The collections file: YAML and TOML, ${VAR} expansion, relative paths, presets, band overrides, errors."""

import json
from pathlib import Path

import pytest
from shapely.geometry import box

from eobatch.collections import CollectionRegistry, preset_bands
from eobatch.collections.config import expand_vars
from eobatch.collections.sources import StacApiSource
from eobatch.errors import BadRequest
from eobatch.settings import Settings

from .conftest import REAL


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_presets():
    l1c, l2a = preset_bands("sentinel-2-l1c"), preset_bands("sentinel-2-l2a")
    assert "B10" in l1c and "B10" not in l2a and "SCL" in l2a and "SCL" not in l1c
    assert {b: l2a[b].resolution for b in ("B01", "B02", "B05", "B8A", "B09", "B12", "SCL")} == {
        "B01": 60,
        "B02": 10,
        "B05": 20,
        "B8A": 20,
        "B09": 60,
        "B12": 20,
        "SCL": 20,
    }
    assert l2a["B04"].asset_keys[:2] == ("B04", "red") and l2a["B8A"].asset_keys[:2] == ("B8A", "nir08")
    assert (l2a["B04"].scale, l2a["B04"].unit, l2a["SCL"].unit, l2a["dataMask"].unit) == (
        0.0001,
        "REFLECTANCE",
        "DN",
        "DN",
    )


def test_env_var_and_default_expansion():
    env = {"ROOT": "/data"}
    assert expand_vars({"a": ["${ROOT}/x", "${MISSING:-rel}/y", 3]}, env) == {"a": ["/data/x", "rel/y", 3]}
    with pytest.raises(BadRequest, match="MISSING"):
        expand_vars("${MISSING}/x", env)


def test_env_var_points_at_the_data(tmp_path, monkeypatch):
    monkeypatch.setenv("EOBATCH_TEST_DATA", str(REAL.parent.resolve()))
    path = write(
        tmp_path,
        "collections:\n  byoc-real:\n    preset: sentinel-2-l1c\n"
        "    source: {kind: static, href: '${EOBATCH_TEST_DATA}/s2-l1c-real/collection.json'}\n",
    )
    collection = CollectionRegistry.from_file(path).get("byoc-real")
    assert len(collection.search(box(14.55, 45.86, 14.57, 45.88), "2015-01-01T00:00:00Z", "2016-01-01T00:00:00Z")) == 5


def test_earth_search_style_assets_and_harmonize(tmp_path):
    """Common-name asset keys (red, nir08, scl) map to B04/B8A/SCL, and baseline >= 04.00 gets -1000."""

    def item(id_, baseline):
        assets = {k: {"href": f"https://example.com/{id_}/{k}.tif"} for k in ("red", "nir08", "scl", "visual")}
        return {
            "type": "Feature",
            "id": id_,
            "geometry": json.loads(json.dumps(box(0, 0, 1, 1).__geo_interface__)),
            "properties": {
                "datetime": "2024-05-01T10:00:00Z",
                "s2:processing_baseline": baseline,
                "proj:code": "EPSG:32633",
            },
            "assets": assets,
            "links": [],
        }

    (tmp_path / "items.json").write_text(
        json.dumps({"type": "FeatureCollection", "features": [item("new", "05.10"), item("old", "03.01")]})
    )
    path = write(
        tmp_path,
        "collections:\n  sentinel-2-l2a:\n    preset: sentinel-2-l2a\n"
        "    source: {kind: static, href: items.json}\n    harmonize: sentinel-2\n",
    )
    collection = CollectionRegistry.from_file(path).get("sentinel-2-l2a")
    new, old = sorted(
        collection.search(box(0.2, 0.2, 0.4, 0.4), "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"), key=lambda s: s.id
    )
    assert new.assets == {
        "B04": "https://example.com/new/red.tif",
        "B8A": "https://example.com/new/nir08.tif",
        "SCL": "https://example.com/new/scl.tif",
    }
    assert new.epsg == 32633 and new.cloud_cover is None
    assert (collection.harmonize_offset(new), collection.harmonize_offset(old)) == (-1000.0, 0.0)


def test_toml_with_custom_bands_and_stac_api(tmp_path):
    path = write(
        tmp_path,
        """
[collections.byoc-ndvi]
title = "custom"
source = { kind = "static", href = "cat.json" }
defaults = { resolution = 30, scale = 0.001, unit = "INDEX", nodata = -9999 }
bands = { NDVI = { asset_keys = ["ndvi"] }, QA = { resolution = 60, scale = 1, unit = "DN" } }

[collections.landsat-ot-l2]
source = { kind = "stac-api", url = "https://example.com/stac", collection = "landsat-c2-l2" }
bands = { B04 = { asset_keys = ["red"], resolution = 30, scale = 0.0000275, offset = -0.2 } }
""",
        "c.toml",
    )
    registry = CollectionRegistry.from_file(path)
    byoc = registry.get("byoc-ndvi")
    assert byoc.bands["NDVI"].asset_keys == ("ndvi",)
    assert (byoc.bands["NDVI"].resolution, byoc.bands["NDVI"].scale, byoc.bands["NDVI"].nodata) == (30, 0.001, -9999)
    assert (byoc.bands["QA"].resolution, byoc.bands["QA"].scale, byoc.bands["QA"].unit) == (60, 1, "DN")
    assert byoc.bands["dataMask"].resolution == 30
    landsat = registry.get("landsat-ot-l2")
    assert isinstance(landsat.source, StacApiSource) and landsat.source.collection_id == "landsat-c2-l2"
    assert landsat.bands["B04"].offset == -0.2


def test_preset_override_and_exclude(tmp_path):
    path = write(
        tmp_path,
        "collections:\n  sentinel-2-l1c:\n    preset: sentinel-2-l1c\n"
        "    source: {kind: static, href: x.json}\n    exclude_bands: [B10]\n"
        "    bands: {B04: {asset_keys: [band4]}}\n",
    )
    collection = CollectionRegistry.from_file(path).get("S2L1C")  # legacy alias
    assert "B10" not in collection.bands
    assert collection.bands["B04"].asset_keys == ("band4",) and collection.bands["B04"].resolution == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("collections:\n  x:\n    source: {kind: ftp, href: a}\n", "source", id="bad-kind"),
        pytest.param("collections:\n  x:\n    preset: sentinel-2-l2a\n    sourc: {kind: demo}\n", "sourc", id="typo"),
        pytest.param("collections:\n  x:\n    source: {kind: static, href: a}\n", "no bands", id="no-bands"),
        pytest.param(
            "collections:\n  x:\n    source: {kind: static, href: a}\n    bands: {A: {scale: 1}}\n",
            "needs a resolution",
            id="no-resolution",
        ),
        pytest.param(
            "collections:\n  'bad type!':\n    preset: sentinel-2-l2a\n    source: {kind: demo}\n",
            "pattern",
            id="bad-type",
        ),
        pytest.param("collections: [1, 2\n", "not valid YAML", id="syntax"),
    ],
)
def test_bad_files_are_explained(tmp_path, text, message):
    with pytest.raises(BadRequest, match=message):
        CollectionRegistry.from_file(write(tmp_path, text))


def test_unknown_type_lists_known_types(tmp_path):
    registry = CollectionRegistry.default(Settings(data_dir=tmp_path))
    known = "dem, landsat-ot-l1, landsat-ot-l2, sentinel-1-grd, sentinel-2-l1c, sentinel-2-l2a"
    with pytest.raises(BadRequest, match=f"'sentinel-3-olci'; known types: {known}") as caught:
        registry.get("sentinel-2-l1c") and registry.get("S1GRD") and registry.get("sentinel-3-olci", 1)
    assert caught.value.errors[0].parameter == "processRequest.input.data[1].type"
    assert not (tmp_path / "archive").exists()  # building the default registry generates nothing


def test_from_settings_merges_file_over_demo(tmp_path):
    path = write(
        tmp_path,
        f"collections:\n  sentinel-2-l1c:\n    preset: sentinel-2-l1c\n"
        f"    source: {{kind: static, href: '{REAL / 'collection.json'}'}}\n",
    )
    registry = CollectionRegistry.from_settings(Settings(data_dir=tmp_path, collections_file=path))
    assert registry.types() == [
        "dem",
        "landsat-ot-l1",
        "landsat-ot-l2",
        "sentinel-1-grd",
        "sentinel-2-l1c",
        "sentinel-2-l2a",
    ]
    assert "demo" in registry.get("sentinel-2-l2a").source.describe()
    assert "s2-l1c-real" in registry.get("sentinel-2-l1c").source.describe()
