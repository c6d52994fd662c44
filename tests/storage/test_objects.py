"""ObjectStorage against local bucket folders and a real SeaweedFS endpoint."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from eobatch.errors import BadRequest, Forbidden, NotFound
from eobatch.storage import ObjectStorage, S3Credentials, check_destination
from eobatch.storage.objects import StorageError, TransientStorageError


def test_local_put_get_exists(local_settings):
    storage = ObjectStorage(local_settings)
    url = "s3://out-bucket/req/tile/default.tif"
    assert not storage.exists(url)
    assert storage.put(url, b"abc") == 3
    assert storage.exists(url)
    assert storage.get(url) == b"abc"
    folder = local_settings.buckets_dir / "out-bucket" / "req" / "tile"
    assert sorted(p.name for p in folder.iterdir()) == ["default.tif"]  # no staging file left behind
    storage.put(url, b"xyz!")
    assert storage.get(url) == b"xyz!"


def test_local_missing_object_is_not_found(local_settings):
    with pytest.raises(NotFound, match="s3://out-bucket/none"):
        ObjectStorage(local_settings).get("s3://out-bucket/none")


def test_a_local_write_the_folder_refuses_fails_at_once_without_retries(local_settings):
    """A folder where the object's file goes is not an outage: no server could come back and fix it, so
    the put fails on the first try instead of being retried for the whole storage retry window."""
    storage = ObjectStorage(local_settings.model_copy(update={"storage_retry_window_s": 3.0}))
    url = "s3://out-bucket/req/tile/default.tif"
    (local_settings.buckets_dir / "out-bucket" / "req" / "tile" / "default.tif").mkdir(parents=True)
    retries_before = _retry_count()
    with pytest.raises(StorageError, match=r"Could not write s3://out-bucket/req/tile/default.tif") as failed:
        storage.put(url, b"abc")
    assert not isinstance(failed.value, TransientStorageError)
    assert "tries over" not in failed.value.message
    assert _retry_count() == retries_before


def _retry_count() -> float:
    return REGISTRY.get_sample_value("eobatch_storage_retries_total") or 0.0


def test_check_destination_allows_listed_buckets_only():
    check_destination("s3://mine/a/<tileName>", [])
    check_destination("s3://mine/a/<tileName>", ["mine", "other"])
    with pytest.raises(BadRequest, match=r"'theirs'.*allowed buckets: mine"):
        check_destination("s3://theirs/a", ["mine"])


def test_storage_check_destination_uses_settings(local_settings):
    settings = local_settings.model_copy(update={"allowed_buckets": ["mine"]})
    storage = ObjectStorage(settings)
    storage.check_destination("s3://mine/x")
    with pytest.raises(BadRequest):
        storage.check_destination("s3://theirs/x")
    storage.check_destination("s3://theirs/x", ["theirs"])


def test_s3_put_get_exists(s3_settings, seaweed):
    storage = ObjectStorage(s3_settings)
    url = f"s3://{seaweed.bucket}/req/t1/default.tif"
    assert not storage.exists(url)
    assert storage.put(url, b"\x00" * 1000) == 1000
    assert storage.exists(url)
    assert storage.get(url) == b"\x00" * 1000
    head = seaweed.client().head_object(Bucket=seaweed.bucket, Key="req/t1/default.tif")
    assert head["ContentLength"] == 1000


def test_s3_per_request_credentials(s3_settings, seaweed):
    anonymous = s3_settings.model_copy(update={"s3_access_key": None, "s3_secret_key": None})
    storage = ObjectStorage(anonymous, {"accessKey": seaweed.access_key, "secretAccessKey": seaweed.secret_key})
    url = f"s3://{seaweed.bucket}/per-request/a.json"
    storage.put(url, b"{}")
    assert seaweed.client().get_object(Bucket=seaweed.bucket, Key="per-request/a.json")["Body"].read() == b"{}"


def test_s3_wrong_secret_is_a_clear_error(s3_settings, seaweed):
    storage = ObjectStorage(s3_settings, S3Credentials(seaweed.access_key, "not-the-secret"))
    url = f"s3://{seaweed.bucket}/denied/a.tif"
    with pytest.raises(Forbidden) as err:
        storage.put(url, b"x")
    assert url in err.value.message
    assert "SignatureDoesNotMatch" in err.value.message
    assert not ObjectStorage(s3_settings).exists(url)
