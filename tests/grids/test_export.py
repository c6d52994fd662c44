"""Export of tiles through GDAL/OGR, read back with pyogrio."""

from __future__ import annotations

import io
import zipfile

import pyogrio
import pytest
import shapely

from eobatch.errors import BadRequest
from eobatch.grids import area_from_bounds, export_tiles, footprint_wgs84, tiles_for_area


@pytest.fixture(scope="module")
def tiles():
    return tiles_for_area(1, area_from_bounds({"bbox": [5.9, 45.0, 6.1, 45.1]}))  # across zones 31 and 32


def read_back(data: bytes, fmt: str, tmp_path) -> tuple[dict, list]:
    path = tmp_path / f"tiles.{fmt}"
    if fmt == "shp":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {n.rsplit(".", 1)[1] for n in archive.namelist()} >= {"shp", "shx", "dbf", "prj"}
            archive.extractall(tmp_path)
        path = tmp_path / "tiles.shp"
    else:
        path.write_bytes(data)
    meta, _, geometry, fields = pyogrio.raw.read(path)
    return meta, [
        dict(zip(meta["fields"], row, strict=True)) | {"geometry": shapely.from_wkb(g)}
        for g, *row in zip(geometry, *fields, strict=True)
    ]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_export_holds_id_name_epsg_and_the_wgs84_footprint(fmt: str, tiles, tmp_path) -> None:
    meta, rows = read_back(export_tiles(tiles, fmt), fmt, tmp_path)
    assert "4326" in meta["crs"]
    assert [(r["id"], r["name"], r["epsg"]) for r in rows] == [(t.id, t.name, t.epsg) for t in tiles]
    assert {r["epsg"] for r in rows} == {32631, 32632}
    for row, tile in zip(rows, tiles, strict=True):
        assert shapely.hausdorff_distance(row["geometry"], footprint_wgs84(tile)) < 1e-9  # shp flips rings


def test_unknown_export_format_is_rejected() -> None:
    with pytest.raises(BadRequest, match="allowed: geojson, gpkg, shp"):
        export_tiles([], "kml")
