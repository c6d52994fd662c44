"""The pipeline against a real SeaweedFS: sources read through /vsis3/, outputs written with obstore."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.io import MemoryFile

from eobatch.errors import TileFailure
from eobatch.processing import TargetGrid, process_tile
from eobatch.processing.runtime import clear_runtime_cache
from eobatch.settings import Settings
from tests.processing.archive import write_archive
from tests.processing.conftest import make_task
from tests.processing.expected import first_valid_reflectance, ndvi

RESPONSES = [{"identifier": "ndvi", "format": {"type": "image/tiff"}}]


def archive_access(seaweed, folder) -> dict:
    """The collection's own access to SeaweedFS: endpoint and keys from a credentials file."""
    keys = folder / "archive-keys.json"
    keys.write_text(json.dumps({"access_key_id": seaweed.access_key, "secret_access_key": seaweed.secret_key}))
    return {"endpoint": seaweed.endpoint, "credentials": {"file": str(keys)}}


@pytest.fixture(scope="module")
def s3_archive(seaweed, tmp_path_factory, synthetic_scenes):
    root = tmp_path_factory.mktemp("s3archive")
    access = archive_access(seaweed, root)
    config = write_archive(root, synthetic_scenes, href_prefix=f"s3://{seaweed.bucket}/archive", access=access)
    client = seaweed.client()
    for path in root.rglob("*.tif"):
        client.upload_file(str(path), seaweed.bucket, f"archive/{path.relative_to(root)}")
        path.unlink()  # only the S3 copy can be read now
    return config


@pytest.fixture
def s3_settings(seaweed, s3_archive, tmp_path) -> Settings:
    clear_runtime_cache()
    return Settings(
        data_dir=tmp_path / "data",
        collections_file=s3_archive,
        s3_endpoint=seaweed.endpoint,
        s3_access_key=seaweed.access_key,
        s3_secret_key=seaweed.secret_key,
    )


def test_reads_and_writes_through_s3(s3_settings, seaweed, tile, synthetic_scenes):
    task = make_task(
        s3_settings,
        tile,
        responses=RESPONSES,
        output={"defaultTilePath": f"s3://{seaweed.bucket}/out/<tileName>/<outputId>.<format>"},
    )
    result = process_tile(task)
    assert result.outputs == [f"s3://{seaweed.bucket}/out/33TVL_6_1/ndvi.tif"]
    body = seaweed.client().get_object(Bucket=seaweed.bucket, Key="out/33TVL_6_1/ndvi.tif")["Body"].read()
    assert len(body) == result.bytes_written
    grid = TargetGrid.of(task.pixel_grid)
    refl, _ = first_valid_reflectance(synthetic_scenes, ["B04", "B08"], grid)
    with MemoryFile(body) as mem, mem.open() as src:
        assert src.transform == grid.transform
        np.testing.assert_allclose(src.read(1), ndvi(refl["B04"], refl["B08"]), rtol=1e-6)


def test_destination_with_wrong_credentials_fails_clearly(s3_settings, seaweed, tile):
    url = f"s3://{seaweed.bucket}/denied/<tileName>.<format>"
    output = {
        "type": "raster",
        "delivery": {"s3": {"url": url, "accessKey": seaweed.access_key, "secretAccessKey": "wrong-secret"}},
    }
    with pytest.raises(TileFailure) as err:
        process_tile(make_task(s3_settings, tile, responses=RESPONSES, output=output))
    assert not err.value.retryable
    assert f"s3://{seaweed.bucket}/denied/33TVL_6_1.tif" in err.value.reason
    assert "HTTP 403 Forbidden" in err.value.reason and "check the access key and secret" in err.value.reason


def test_missing_source_object_names_the_url(s3_settings, seaweed, tile, synthetic_scenes, tmp_path):
    root = tmp_path / "partial"
    access = archive_access(seaweed, tmp_path)
    config = write_archive(root, synthetic_scenes[1:2], href_prefix=f"s3://{seaweed.bucket}/partial", access=access)
    for path in root.rglob("*.tif"):
        if path.name != "B04.tif":
            seaweed.client().upload_file(str(path), seaweed.bucket, f"partial/{path.relative_to(root)}")
    settings = s3_settings.model_copy(update={"collections_file": config})
    with pytest.raises(TileFailure) as err:
        process_tile(
            make_task(
                settings,
                tile,
                responses=RESPONSES,
                output={"defaultTilePath": f"s3://{seaweed.bucket}/missing/<tileName>.<format>"},
            )
        )
    assert f"s3://{seaweed.bucket}/partial/S_mid/B04.tif" in err.value.reason
    assert "does not exist" in err.value.reason or "No such file" in err.value.reason
    assert err.value.retryable


def test_bytes_on_s3_open_with_gdal(s3_settings, seaweed):
    from eobatch.storage.access import output_store_access

    access = output_store_access(s3_settings)
    seaweed.client().put_object(Bucket=seaweed.bucket, Key="x/not-a-tif.tif", Body=b"nope")
    href = f"s3://{seaweed.bucket}/x/not-a-tif.tif"
    with access.rasterio_env(href), pytest.raises(rasterio.errors.RasterioIOError):
        rasterio.open(access.gdal_path(href))
