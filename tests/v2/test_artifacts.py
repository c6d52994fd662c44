"""Feature manifest (GeoPackage), execution database (SQLite) and Zarr output, opened with real readers."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

import affine
import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import xarray as xr
import zarr

from eobatch.artifacts import (
    ExecutionDbUploads,
    ZarrArraySpec,
    ZarrOutput,
    execution_db_bytes,
    geometry_for_tiles,
    manifest_entries,
    manifest_url,
    output_root,
    record_for_tile,
    upload_execution_db,
    upload_feature_manifest,
    write_feature_manifest,
)
from eobatch.errors import BadRequest
from eobatch.grids.model import GridTile, PixelGrid
from eobatch.settings import Settings
from eobatch.storage import ObjectStorage

TEMPLATE = "s3://results/out/<requestId>/<tileName>/<outputId>.<format>"


def _tiles():
    a = GridTile(1, 33101, "33TVM_1_1", 32633, (500000.0, 5090000.0, 510000.0, 5100000.0))
    b = GridTile(7, 4401, "E440N260", 3035, (4400000.0, 2600000.0, 4420000.0, 2620000.0))
    return [
        (a, PixelGrid(32633, affine.Affine(10, 0, 500000, 0, -10, 5100000), 1000, 1000)),
        (b, PixelGrid(3035, affine.Affine(20, 0, 4400000, 0, -20, 2620000), 1000, 1000)),
    ]


def test_output_root_and_names():
    assert output_root(TEMPLATE) == "s3://results/out/"
    assert output_root("s3://results/folder") == "s3://results/folder/"
    assert manifest_url(TEMPLATE, "r1") == "s3://results/out/featureManifest-r1.gpkg"


def test_manifest_has_one_table_per_crs(tmp_path):
    entries = manifest_entries("r1", _tiles(), [("default", "tif"), ("userdata", "json")], TEMPLATE)
    path = write_feature_manifest(entries, tmp_path / "m.gpkg")
    assert sorted(name for name, _ in pyogrio.list_layers(path)) == ["feature_3035", "feature_32633"]
    info = pyogrio.read_info(path, layer="feature_32633")
    assert list(info["fields"]) == ["outputId", "identifier", "path", "width", "height"]
    assert info["crs"] == "EPSG:32633" and info["fid_column"] == "fid"
    _meta, fids, wkb, fields = pyogrio.raw.read(path, layer="feature_32633", return_fids=True)[:4]
    assert list(fids) == [1, 2]
    assert list(fields[0]) == ["default", "userdata"]
    assert list(fields[2]) == [
        "s3://results/out/r1/33TVM_1_1/default.tif",
        "s3://results/out/r1/33TVM_1_1/userdata.json",
    ]
    assert list(fields[3]) == [1000, 1000]
    import shapely

    assert shapely.from_wkb(wkb[0]).bounds == (500000.0, 5090000.0, 510000.0, 5100000.0)


def test_manifest_upload_checks_credentials(tmp_path):
    storage = ObjectStorage(Settings(data_dir=tmp_path))
    entries = manifest_entries("r2", _tiles()[:1], [("default", "tif")], TEMPLATE)
    url = upload_feature_manifest(storage, TEMPLATE, "r2", entries)
    assert storage.get(url)[:15] == b"SQLite format 3"


@dataclass
class _Tile:
    tile_id: int
    name: str
    status: str
    error: str | None = None
    no_data: bool = False


def test_execution_database_rows(tmp_path):
    tiles = [
        _Tile(1, "a", "PROCESSED"),
        _Tile(2, "b", "PROCESSED", no_data=True),
        _Tile(3, "c", "FAILED", error="read failed"),
        _Tile(4, "d", "SCHEDULED"),
        _Tile(5, "e", "PENDING"),
    ]
    path = tmp_path / "e.sqlite"
    path.write_bytes(execution_db_bytes([record_for_tile(t) for t in tiles]))
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT id, name, status, error, delivered FROM features ORDER BY id").fetchall()
    assert rows == [
        (1, "a", "DONE", None, 1),
        (2, "b", "DONE", "No data", 0),
        (3, "c", "FATAL", "read failed", 0),
        (4, "d", "PENDING", None, 0),
        (5, "e", "PENDING", None, 0),
    ]


def test_execution_uploads_are_throttled(tmp_path):
    now = [100.0]
    uploads = ExecutionDbUploads(interval_s=60, clock=lambda: now[0])
    storage = ObjectStorage(Settings(data_dir=tmp_path))
    tiles = [_Tile(1, "a", "PENDING")]
    assert uploads.upload_if_due(storage, TEMPLATE, "r3", lambda: tiles) == "s3://results/out/execution-r3.sqlite"
    now[0] = 130.0
    assert uploads.upload_if_due(storage, TEMPLATE, "r3", lambda: tiles) is None
    tiles[0].status = "PROCESSED"
    assert uploads.upload_if_due(storage, TEMPLATE, "r3", lambda: tiles, final=True) is not None
    db = tmp_path / "copy.sqlite"
    db.write_bytes(storage.get("s3://results/out/execution-r3.sqlite"))
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT status, delivered FROM features").fetchall() == [("DONE", 1)]
    assert upload_execution_db(storage, TEMPLATE, "r4", []).endswith("execution-r4.sqlite")


LAEA_TILES = [
    (4000000.0, 2980000.0, 4020000.0, 3000000.0),
    (4020000.0, 2980000.0, 4040000.0, 3000000.0),
    (4000000.0, 2960000.0, 4020000.0, 2980000.0),
]


@pytest.mark.parametrize("origin", ["topLeft", "bottomLeft"])
def test_zarr_output_opens_in_xarray_with_coordinates(tmp_path, origin):
    geometry = geometry_for_tiles(3035, 200.0, LAEA_TILES, origin=origin)
    ZarrOutput.create(
        zarr.storage.LocalStore(tmp_path),
        geometry,
        [ZarrArraySpec("ndvi", "float32", float("nan")), ZarrArraySpec("mask", "uint8", 255)],
        time=datetime(2024, 5, 1, tzinfo=UTC),
        group_attributes={"title": "test"},
    )
    writer = ZarrOutput.open(zarr.storage.LocalStore(tmp_path))  # as a worker would
    block = np.arange(100 * 100, dtype="float32").reshape(100, 100)  # row 0 is the tile's north edge
    writer.write_tile("ndvi", LAEA_TILES[1], block)
    writer.write_tile("mask", LAEA_TILES[2], np.ones((100, 100), "uint8"))

    ds = xr.open_zarr(tmp_path, consolidated=False, mask_and_scale=False)
    assert ds.ndvi.dims == ("time", "y", "x") and ds.ndvi.shape == (1, 200, 200)
    assert ds.ndvi.encoding["chunks"] == (1, 100, 100)
    assert ds.time.values[0] == np.datetime64("2024-05-01T00:00:00")
    assert ds.x.values[0] == 4000100.0 and ds.x.values[-1] == 4039900.0
    ys = ds.y.values
    assert (ys[0], ys[-1]) == ((2999900.0, 2960100.0) if origin == "topLeft" else (2960100.0, 2999900.0))
    ndvi = ds.ndvi.isel(time=0)
    assert float(ndvi.sel(x=4020100.0, y=2999900.0)) == 0.0  # north-west pixel of tile 2
    assert float(ndvi.sel(x=4020300.0, y=2999900.0)) == 1.0
    assert float(ndvi.sel(x=4039900.0, y=2980100.0)) == 9999.0  # its south-east pixel
    assert np.isnan(float(ndvi.sel(x=4000100.0, y=2999900.0)))  # tile 1 not written
    mask = ds["mask"].isel(time=0)
    assert int(mask.sel(x=4000100.0, y=2979900.0)) == 1 and int(mask.sel(x=4030100.0, y=2990100.0)) == 255
    assert ds.attrs["title"] == "test"


def test_zarr_chunks_must_divide_tile_size(tmp_path):
    geometry = geometry_for_tiles(3035, 200.0, LAEA_TILES)
    with pytest.raises(BadRequest, match="must divide the tile size 100 x 100"):
        ZarrOutput.create(
            zarr.storage.LocalStore(tmp_path), geometry, [ZarrArraySpec("a", "uint8", 0, chunks=(30, 30))]
        )
