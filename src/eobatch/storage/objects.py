"""One object-storage abstraction over obstore: s3:// URLs go to the S3 endpoint or to local bucket folders.

With `Settings.s3_endpoint` set, every bucket is an `S3Store` on that endpoint (credentials from the
settings, or per request). Without it (embedded defaults), bucket `b` is the folder
`Settings.buckets_dir / b`. Every put is atomic per object: S3 PUTs are, and obstore's `LocalStore`
writes to a staging file and renames it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import obstore
from obstore import exceptions as obx

from eobatch.errors import BadRequest, EobatchError, Forbidden, NotFound, Violation
from eobatch.settings import Settings
from eobatch.storage.access import output_store_access
from eobatch.storage.paths import split_s3_url


class StorageError(EobatchError):
    """The storage backend failed for a reason other than access or absence (may succeed on retry)."""

    code = "COMMON_EXCEPTION"


@dataclass(frozen=True)
class S3Credentials:
    """Per-request S3 credentials (v2 `delivery.s3.accessKey` / `secretAccessKey` / `region`)."""

    access_key: str
    secret_key: str
    region: str | None = None

    @classmethod
    def from_delivery(cls, s3: Mapping[str, Any] | None) -> S3Credentials | None:
        """Credentials from a v2 `delivery.s3` object, or None when it carries no key pair."""
        if not s3 or not s3.get("accessKey") or not s3.get("secretAccessKey"):
            return None
        return cls(str(s3["accessKey"]), str(s3["secretAccessKey"]), s3.get("region"))


def check_destination(url: str, allowed_buckets: Iterable[str]) -> None:
    """BadRequest unless `url` is a valid s3:// URL in one of `allowed_buckets` (empty: all buckets)."""
    bucket, _ = split_s3_url(url)
    allowed = sorted(set(allowed_buckets))
    if allowed and bucket not in allowed:
        message = (
            f"Writing to bucket {bucket!r} ({url}) is not allowed for this account; "
            f"allowed buckets: {', '.join(allowed)}"
        )
        raise BadRequest(message, [Violation("output", message)])


class ObjectStorage:
    """put / get / exists on s3:// URLs, backed by S3 (obstore `S3Store`) or local bucket folders."""

    def __init__(self, settings: Settings, credentials: S3Credentials | Mapping[str, Any] | None = None):
        if isinstance(credentials, Mapping):
            credentials = S3Credentials.from_delivery(credentials)
        self._settings = settings
        self._credentials = credentials
        self._stores: dict[str, Any] = {}

    @property
    def is_local(self) -> bool:
        """True on embedded defaults: buckets are folders under `Settings.buckets_dir`."""
        return not self._settings.s3_endpoint

    def put(self, url: str, data: bytes) -> int:
        """Write `data` to `url` atomically; returns the number of bytes written."""
        store, key = self._locate(url)
        try:
            obstore.put(store, key, data)
        except Exception as exc:
            raise _translate(exc, "write", url) from exc
        return len(data)

    def get(self, url: str) -> bytes:
        """The object's bytes; NotFound when it does not exist."""
        store, key = self._locate(url)
        try:
            return bytes(obstore.get(store, key).bytes())
        except Exception as exc:
            raise _translate(exc, "read", url) from exc

    def exists(self, url: str) -> bool:
        """Whether an object exists at `url`."""
        store, key = self._locate(url)
        try:
            obstore.head(store, key)
        except obx.NotFoundError:
            return False
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise _translate(exc, "check", url) from exc
        return True

    def delete(self, url: str) -> None:
        """Remove the object at `url` (no error when it is absent)."""
        store, key = self._locate(url)
        try:
            obstore.delete(store, key)
        except (obx.NotFoundError, FileNotFoundError):
            return
        except Exception as exc:
            raise _translate(exc, "delete", url) from exc

    def check_destination(self, url: str, account_buckets: Iterable[str] = ()) -> None:
        """BadRequest unless the account may write to `url`; `account_buckets` empty means the settings' list."""
        check_destination(url, list(account_buckets) or self._settings.allowed_buckets)

    def local_path(self, url: str):
        """The file behind `url` on embedded defaults (for GDAL reads); None with an S3 endpoint."""
        if not self.is_local:
            return None
        bucket, key = split_s3_url(url)
        return self._settings.buckets_dir / bucket / key

    def _locate(self, url: str) -> tuple[Any, str]:
        bucket, key = split_s3_url(url)
        if not key or key.endswith("/"):
            raise BadRequest(f"{url!r} names no object: the key after the bucket is empty or ends with '/'")
        store = self._stores.get(bucket)
        if store is None:
            store = self._stores[bucket] = self._make_store(bucket)
        return store, key

    def _make_store(self, bucket: str) -> Any:
        return output_store_access(self._settings, self._credentials).object_store(bucket)


def _translate(exc: Exception, action: str, url: str) -> EobatchError:
    """obstore / OS errors -> eobatch errors whose message names the URL and the server's own words."""
    detail = _server_words(str(exc))
    if isinstance(exc, obx.NotFoundError | FileNotFoundError):
        return NotFound(f"No object at {url}")
    if isinstance(exc, obx.PermissionDeniedError | obx.UnauthenticatedError | PermissionError) or any(
        word in detail for word in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403")
    ):
        return Forbidden(
            f"Storage refused to {action} {url}: {detail}; check the access key and secret, "
            "and that they may use this bucket"
        )
    return StorageError(f"Could not {action} {url}: {detail}")


_CODE = re.compile(r"<Code>([^<]*)</Code>")
_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
_STATUS = re.compile(r"status code: (\d{3}[^:]*)")


def _server_words(text: str) -> str:
    """The S3 error code and message (or HTTP status) from an obstore error, without its debug dump."""
    head = text.split("\n\nDebug source:", 1)[0]
    code, message, status = _CODE.search(head), _MESSAGE.search(head), _STATUS.search(head)
    if code:
        return f"{code.group(1)}: {message.group(1) if message else ''}".strip(": ")
    if status:
        return f"HTTP {status.group(1).strip()}"
    return " ".join(head.split())[:300]
