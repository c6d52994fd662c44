"""GeoPackage feature input: real GeoPackages written and read through GDAL."""

from __future__ import annotations

import pytest

from eobatch.artifacts import GEOPACKAGE_GRID_ID, feature_tiles, read_feature_geopackage
from eobatch.artifacts.features import feature_footprint_wgs84
from eobatch.errors import BadRequest
from tests.v2.gpkg import square, write_gpkg


def test_reads_features_with_width_height_and_with_resolution(tmp_path):
    path = write_gpkg(
        tmp_path / "f.gpkg",
        [
            {"id": 7, "identifier": "field-a", "width": 100, "height": 50, "geometry": square(500000, 5100000, 1000)},
        ],
    )
    write_gpkg(
        path,
        [{"id": 8, "identifier": "field-b", "resolution": 20.0, "geometry": square(4_500_000, 2_600_000, 1010)}],
        epsg=3035,
        layer="laea",
        columns=("id", "identifier", "resolution"),
        append=True,
    )
    features = {f.identifier: f for f in read_feature_geopackage(path.read_bytes())}
    assert features["field-a"].epsg == 32633 and (features["field-a"].width, features["field-a"].height) == (100, 50)
    assert features["field-b"].epsg == 3035 and (features["field-b"].width, features["field-b"].height) == (51, 51)
    lon, lat = feature_footprint_wgs84(features["field-a"]).centroid.coords[0]
    assert 14.9 < lon < 15.1 and 46.0 < lat < 46.1


def test_feature_tiles_are_named_by_identifier_with_pixel_grids(tmp_path):
    path = write_gpkg(
        tmp_path / "f.gpkg",
        [
            {"id": 3, "identifier": "plot", "width": 200, "height": 100, "geometry": square(500000, 5100000, 1000)},
        ],
    )
    [(tile, grid)] = feature_tiles(read_feature_geopackage(path))
    assert (tile.grid_id, tile.id, tile.name, tile.epsg) == (GEOPACKAGE_GRID_ID, 3, "plot", 32633)
    assert tile.bounds == (500000, 5100000, 501000, 5101000)
    assert (grid.width, grid.height) == (200, 100)
    assert (grid.transform.a, grid.transform.e, grid.transform.c, grid.transform.f) == (5.0, -10.0, 500000, 5101000)


def test_missing_columns_are_named(tmp_path):
    path = write_gpkg(
        tmp_path / "f.gpkg",
        [{"id": 1, "width": 10, "height": 10, "geometry": square(0, 0, 10)}],
        columns=("id", "width", "height"),
    )
    with pytest.raises(BadRequest, match=r"lacks the column.*identifier"):
        read_feature_geopackage(path)


def test_size_columns_are_required(tmp_path):
    path = write_gpkg(
        tmp_path / "f.gpkg", [{"id": 1, "identifier": "a", "geometry": square(0, 0, 10)}], columns=("id", "identifier")
    )
    with pytest.raises(BadRequest, match=r"width and height .* or resolution"):
        read_feature_geopackage(path)


def test_too_many_features(tmp_path):
    rows = [
        {"id": i, "identifier": f"f{i}", "width": 10, "height": 10, "geometry": square(i * 100, 0, 10)}
        for i in range(4)
    ]
    path = write_gpkg(tmp_path / "f.gpkg", rows)
    with pytest.raises(BadRequest, match="has 4 features; at most 3"):
        read_feature_geopackage(path, max_features=3)
    assert len(read_feature_geopackage(path, max_features=4)) == 4


def test_oversized_feature_and_duplicate_identifier(tmp_path):
    big = write_gpkg(
        tmp_path / "big.gpkg", [{"id": 1, "identifier": "a", "width": 3501, "height": 10, "geometry": square(0, 0, 10)}]
    )
    with pytest.raises(BadRequest, match=r"3501 x 10 px is not allowed.*1 to 3500"):
        read_feature_geopackage(big)
    dup = write_gpkg(
        tmp_path / "dup.gpkg",
        [
            {"id": 1, "identifier": "a", "width": 10, "height": 10, "geometry": square(0, 0, 10)},
            {"id": 2, "identifier": "a", "width": 10, "height": 10, "geometry": square(20, 0, 10)},
        ],
    )
    with pytest.raises(BadRequest, match="identifier 'a' occurs more than once"):
        read_feature_geopackage(dup)


def test_not_a_geopackage():
    with pytest.raises(BadRequest, match="not a GeoPackage"):
        read_feature_geopackage(b"PK\x03\x04 a zip file")
