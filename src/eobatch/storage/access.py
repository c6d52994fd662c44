"""`StoreAccess`: how one archive (or the output store) is reached, for obstore, GDAL and HTTP alike.

One object answers every "how do I open this href" question, so that reading a catalog document
(obstore / httpx) and reading a COG (GDAL /vsis3/, /vsicurl/) use the same endpoint, region,
credentials, unsigned / requester-pays flags, HTTP headers and URL signer. Secrets never appear in
`repr`, in error messages or in `describe()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

# GDAL configuration for cloud-optimised reads (docs/collections.md "GDAL options for remote reads").
# Each collection may override any of them with `access.gdal`.
CLOUD_GDAL_OPTIONS: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no directory listing (sidecar probing) on open
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",  # header and IFDs of a COG in one request
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",  # adjacent tiles in one range request
    "GDAL_HTTP_MULTIPLEX": "YES",  # several range requests on one HTTP/2 connection
    "GDAL_HTTP_VERSION": "2TLS",  # HTTP/2 over TLS, HTTP/1.1 on plain http://
    "GDAL_HTTP_MAX_RETRY": "5",  # retried on 429, 500, 502, 503, 504
    "GDAL_HTTP_RETRY_DELAY": "0.5",  # seconds, doubled on each retry (with jitter)
    "GDAL_HTTP_CONNECTTIMEOUT": "10",
    "GDAL_HTTP_TIMEOUT": "60",
    "VSI_CACHE": "TRUE",  # per-file block cache of remote bytes
    "VSI_CACHE_SIZE": "33554432",  # 32 MiB per open file
    "CPL_VSIL_CURL_CACHE_SIZE": "134217728",  # 128 MiB of downloaded regions shared by all files
    "GDAL_CACHEMAX": "256",  # MiB of decoded raster blocks
}


class Signer(Protocol):
    """Turns an asset href into one that may be read (for example by appending a SAS token)."""

    def sign(self, href: str) -> str: ...


@dataclass(frozen=True)
class KeyPair:
    """An S3 access key with its secret (and an optional session token); never printed."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StoreAccess:
    """How hrefs of one archive are read. `local_buckets` maps s3://bucket/key to a folder (the
    embedded output store); otherwise s3:// goes to `endpoint` (default: AWS) with these options."""

    endpoint: str | None = None
    region: str | None = None
    credentials: KeyPair | None = None
    unsigned: bool = False
    requester_pays: bool = False
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    signer: Signer | None = None
    gdal_options: Mapping[str, str] = field(default_factory=dict)
    local_buckets: Path | None = None

    def describe(self) -> str:
        """A one-line summary without secrets."""
        if self.local_buckets is not None:
            return f"local bucket folders under {self.local_buckets}"
        parts = [f"endpoint {self.endpoint or 'AWS'}"]
        if self.region:
            parts.append(f"region {self.region}")
        if self.unsigned:
            parts.append("unsigned")
        elif self.credentials:
            parts.append(f"key {self.credentials.access_key_id}")
        if self.requester_pays:
            parts.append("requester pays")
        if self.headers:
            parts.append(f"headers {', '.join(sorted(self.headers))}")
        if self.signer is not None:
            parts.append(f"signer {type(self.signer).__name__}")
        return ", ".join(parts)

    # -- object store (obstore) ------------------------------------------------------------------

    def object_store(self, bucket: str, *, prefix: str | None = None, retries: int = 3) -> Any:
        """An obstore store for `bucket` (under `prefix`): a LocalStore on bucket folders, else an S3Store."""
        from obstore.store import LocalStore, S3Store

        if self.local_buckets is not None:
            return LocalStore(self.local_buckets / bucket / (prefix or ""), mkdir=True)
        endpoint = self.endpoint
        if endpoint and "://" not in endpoint:
            endpoint = f"http://{endpoint}"
        options: dict[str, Any] = {}
        if endpoint:
            options["endpoint"] = endpoint
        if self.region:
            options["region"] = self.region
        if self.unsigned:
            options["skip_signature"] = True
        elif self.credentials is not None:
            options["access_key_id"] = self.credentials.access_key_id
            options["secret_access_key"] = self.credentials.secret_access_key
            if self.credentials.session_token:
                options["session_token"] = self.credentials.session_token
        if self.requester_pays:
            options["request_payer"] = True
        client: dict[str, Any] = {"timeout": timedelta(seconds=120)}
        if endpoint and endpoint.startswith("http://"):
            client["allow_http"] = True
        if self.headers:
            client["default_headers"] = dict(self.headers)
        retry = {"max_retries": retries, "retry_timeout": timedelta(seconds=30)}
        return S3Store(bucket, prefix=prefix or None, client_options=client, retry_config=retry, **options)

    def read_bytes(self, href: str, client: httpx.Client | None = None) -> bytes:
        """The bytes at a local path, file://, http(s):// (with the headers) or s3:// href.
        Raises OSError, httpx.HTTPError or obstore errors; callers translate them."""
        import obstore

        kind = href_scheme(href)
        if kind in ("http", "https"):
            response = (client or httpx).get(href, headers=dict(self.headers), timeout=60.0, follow_redirects=True)
            response.raise_for_status()
            return response.content
        if kind == "s3":
            parts = urlsplit(href)
            return bytes(obstore.get(self.object_store(parts.netloc), parts.path.lstrip("/")).bytes())
        path = urlsplit(href).path if kind == "file" else href
        with open(path, "rb") as f:
            return f.read()

    # -- GDAL ------------------------------------------------------------------------------------

    def gdal_path(self, href: str) -> str:
        """What GDAL opens for `href` (signed first when a signer is configured)."""
        kind = href_scheme(href)
        if kind == "s3":
            rest = href[len("s3://") :]
            if self.local_buckets is not None:
                return str(self.local_buckets / rest)
            return "/vsis3/" + rest
        if kind in ("http", "https"):
            return "/vsicurl/" + (self.signer.sign(href) if self.signer is not None else href)
        if kind == "file":
            return urlsplit(href).path
        return href

    def gdal_config(self) -> dict[str, str]:
        """GDAL configuration options (cloud defaults, this archive's overrides, its HTTP headers)."""
        options = dict(CLOUD_GDAL_OPTIONS)
        if self.headers:
            options["GDAL_HTTP_HEADERS"] = "\r\n".join(f"{k}: {v}" for k, v in self.headers.items())
        options.update(self.gdal_options)
        return options

    def _env_options(self) -> dict[str, Any]:
        options: dict[str, Any] = self.gdal_config()
        if options.get("GDAL_CACHEMAX", "").isdigit():
            options["GDAL_CACHEMAX"] = int(options["GDAL_CACHEMAX"])  # rasterio wants the MiB as an int
        return options

    def rasterio_env(self, href: str = "s3://") -> Any:
        """A `rasterio.Env` that reads `href` (an AWS session only for s3:// on a remote store)."""
        import rasterio

        options = self._env_options()
        if self.local_buckets is not None or href_scheme(href) != "s3":
            return rasterio.Env(**options)
        if self.endpoint:
            options.setdefault("AWS_VIRTUAL_HOSTING", "FALSE")
            options.setdefault("AWS_HTTPS", "NO" if self.endpoint.startswith("http://") else "YES")
        return rasterio.Env(session=self._aws_session, **options)

    @cached_property
    def _aws_session(self) -> Any:
        """The rasterio AWS session (built once: without keys it looks up the AWS default chain)."""
        from rasterio.session import AWSSession

        keys = self.credentials
        options: dict[str, Any] = {
            "aws_unsigned": self.unsigned,
            "requester_pays": self.requester_pays,
            "region_name": self.region or "us-east-1",
        }
        if keys is not None and not self.unsigned:
            options |= {
                "aws_access_key_id": keys.access_key_id,
                "aws_secret_access_key": keys.secret_access_key,
                "aws_session_token": keys.session_token,
            }
        if self.endpoint:
            options["endpoint_url"] = self.endpoint.split("://", 1)[-1].rstrip("/")
        return AWSSession(**options)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_aws_session", None)  # rebuilt in the receiving process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def href_scheme(href: str) -> str:
    """'http', 'https', 's3', 'file' or '' for a plain path (a Windows drive letter is no scheme)."""
    parts = urlsplit(href)
    return parts.scheme.lower() if len(parts.scheme) > 1 else ""


def output_store_access(settings: Any, credentials: Any = None) -> StoreAccess:
    """The access of the service's own output store: `EOBATCH_S3_*`, or local bucket folders when no
    endpoint is set. `credentials` (an `S3Credentials`) replace the settings' keys."""
    if not settings.s3_endpoint:
        return StoreAccess(local_buckets=settings.buckets_dir)
    access = credentials.access_key if credentials else settings.s3_access_key
    secret = credentials.secret_key if credentials else settings.s3_secret_key
    region = (credentials.region if credentials else None) or settings.s3_region
    keys = KeyPair(access, secret) if access and secret else None
    return StoreAccess(endpoint=str(settings.s3_endpoint), region=region, credentials=keys, unsigned=keys is None)
