"""One object-storage abstraction over obstore: s3:// URLs go to the S3 endpoint or to local bucket folders.

With `Settings.s3_endpoint` set, every bucket is an `S3Store` on that endpoint (credentials from the
settings, or per request). Without it (embedded defaults), bucket `b` is the folder
`Settings.buckets_dir / b`. Every put is atomic per object: S3 PUTs are, and obstore's `LocalStore`
writes to a staging file and renames it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import obstore
from obstore import exceptions as obx

from eobatch.errors import BadRequest, EobatchError, Forbidden, NotFound
from eobatch.settings import Settings
from eobatch.storage.access import output_store_access
from eobatch.storage.paths import split_s3_url
from eobatch.storage.tenancy import check_destination


class StorageError(EobatchError):
    """The storage backend failed for a reason other than access or absence (may succeed on retry)."""

    code = "COMMON_EXCEPTION"


class TransientStorageError(StorageError):
    """A failure that goes away by itself: connection refused or reset, timeout, HTTP 5xx, throttling."""


RETRY_FIRST_PAUSE_S = 0.5
RETRY_MAX_PAUSE_S = 10.0
_RETRIES = [0]  # retried calls in this process; worker processes report theirs with each tile attempt


def retries_so_far() -> int:
    """How many storage calls this process has tried again after a transient error."""
    return _RETRIES[0]


T = TypeVar("T")
log = logging.getLogger("eobatch.storage")


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
        self._retrying("write", url, lambda: obstore.put(store, key, data))
        return len(data)

    def put_file(self, url: str, path: Path) -> int:
        """Write the file at `path` to `url` atomically, streamed (multipart when large); returns its size."""
        store, key = self._locate(url)
        size = path.stat().st_size
        self._retrying("write", url, lambda: obstore.put(store, key, path))
        return size

    def put_if_absent(self, url: str, data: bytes) -> bool:
        """Write `data` unless an object exists at `url`; True when this call created it."""
        store, key = self._locate(url)
        try:
            self._retrying("write", url, lambda: obstore.put(store, key, data, mode="create"))
        except StorageError as exc:
            if isinstance(exc.__cause__, obx.AlreadyExistsError | obx.PreconditionError | FileExistsError):
                return False
            raise
        return True

    def get(self, url: str) -> bytes:
        """The object's bytes; NotFound when it does not exist."""
        store, key = self._locate(url)
        return self._retrying("read", url, lambda: bytes(obstore.get(store, key).bytes()))

    def exists(self, url: str) -> bool:
        """Whether an object exists at `url`."""
        store, key = self._locate(url)
        try:
            self._retrying("check", url, lambda: obstore.head(store, key))
        except NotFound:
            return False
        return True

    def delete(self, url: str) -> None:
        """Remove the object at `url` (no error when it is absent)."""
        store, key = self._locate(url)
        try:
            self._retrying("delete", url, lambda: obstore.delete(store, key))
        except NotFound:
            return

    def _retrying(self, action: str, url: str, call: Callable[[], T]) -> T:
        """`call()`, tried again with growing pauses while it fails transiently (connection refused,
        timeouts, HTTP 5xx, throttling) for up to `Settings.storage_retry_window_s`; then StorageError.
        Anything else (absent, refused access, bad request) raises at once."""
        deadline = time.monotonic() + max(self._settings.storage_retry_window_s, 0.0)
        pause, tries = RETRY_FIRST_PAUSE_S, 0
        while True:
            tries += 1
            try:
                return call()
            except Exception as exc:
                error = _translate(exc, action, url, local=self.is_local)
                if not isinstance(error, TransientStorageError):
                    raise error from exc
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StorageError(
                        f"{error.message} (still failing after {tries} tries over "
                        f"{self._settings.storage_retry_window_s:g} s)"
                    ) from exc
                _RETRIES[0] += 1
                _count_retry()
                log.warning("storage: %s; trying again in %.1f s", error.message, min(pause, left))
                time.sleep(min(pause, left))
                pause = min(pause * 2, RETRY_MAX_PAUSE_S)

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


#: S3 error codes (the <Code> element of an S3 error body) that mean the caller may not do this
DENIED_CODES = frozenset(
    {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "AllAccessDisabled", "AccountProblem"}
)
#: S3 error codes that go away by themselves
TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling", "RequestTimeTooSkewed"}
)
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket"})


def _count_retry() -> None:
    from eobatch.observability.metrics import STORAGE_RETRIES

    STORAGE_RETRIES.inc()


def _translate(exc: Exception, action: str, url: str, local: bool = False) -> EobatchError:
    """obstore / OS errors -> eobatch errors, classified by exception type, then by the S3 error code and
    HTTP status the server sent (parsed fields, never a free-text search); message names the URL.
    On the local folder store (`local`) there is no server that could come back: its errors are final."""
    text = str(exc)
    detail = _server_words(text)
    s3_code, status = _s3_code(text), _http_status(text)
    if isinstance(exc, obx.NotFoundError | FileNotFoundError) or s3_code in NOT_FOUND_CODES:
        return NotFound(f"No object at {url}")
    if (
        isinstance(exc, obx.PermissionDeniedError | obx.UnauthenticatedError | PermissionError)
        or s3_code in DENIED_CODES
        or status in (401, 403)
    ):
        return Forbidden(
            f"Storage refused to {action} {url}: {detail}; check the access key and secret, "
            "and that they may use this bucket"
        )
    transient = (
        isinstance(exc, ConnectionError | TimeoutError)
        or s3_code in TRANSIENT_CODES
        or (status is not None and (status >= 500 or status in (408, 429)))
        or (isinstance(exc, obx.GenericError) and status is None and s3_code is None and not local)  # no answer
    )
    if transient:
        return TransientStorageError(f"Could not {action} {url}: {detail}")
    return StorageError(f"Could not {action} {url}: {detail}")


def _s3_code(text: str) -> str | None:
    found = _CODE.search(text.split("\n\nDebug source:", 1)[0])
    return found.group(1) if found else None


def _http_status(text: str) -> int | None:
    found = _STATUS_NUMBER.search(text.split("\n\nDebug source:", 1)[0])
    return int(found.group(1)) if found else None


_CODE = re.compile(r"<Code>([^<]*)</Code>")
_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
_STATUS = re.compile(r"status code: (\d{3}[^:]*)")
_STATUS_NUMBER = re.compile(r"(?:[Ss]tatus code:|with status) (\d{3})\b")


def _server_words(text: str) -> str:
    """The S3 error code and message (or HTTP status) from an obstore error, without its debug dump."""
    head = text.split("\n\nDebug source:", 1)[0]
    code, message, status = _CODE.search(head), _MESSAGE.search(head), _STATUS.search(head)
    if code:
        return f"{code.group(1)}: {message.group(1) if message else ''}".strip(": ")
    if status:
        return f"HTTP {status.group(1).strip()}"
    return " ".join(head.split())[:300]
