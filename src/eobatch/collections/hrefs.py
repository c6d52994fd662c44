"""Reading STAC JSON from a local path, http(s):// or s3://, and resolving relative hrefs.

Foreign errors (OSError, httpx, obstore) are translated into `CatalogUnreadable` here, where they
enter eobatch.
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from obstore.exceptions import BaseError as ObstoreError

from eobatch.errors import EobatchError
from eobatch.settings import Settings


class CatalogUnreadable(EobatchError):
    """A STAC catalog, collection or item could not be read or parsed."""

    code = "COLLECTION_UNREADABLE"


def scheme(href: str) -> str:
    """'http', 'https', 's3', 'file' or '' for a plain path."""
    parts = urlsplit(href)
    return parts.scheme.lower() if len(parts.scheme) > 1 else ""


def is_url(href: str) -> bool:
    return scheme(href) in ("http", "https", "s3")


def resolve_href(base: str, href: str) -> str:
    """`href` made absolute against the document `base` it appears in."""
    if scheme(href) == "file":
        return os.path.normpath(urlsplit(href).path)
    if scheme(href):
        return href
    kind = scheme(base)
    if kind in ("http", "https"):
        return urljoin(base, href)
    if kind == "s3":
        parts = urlsplit(base)
        path = posixpath.normpath(posixpath.join(posixpath.dirname(parts.path), href))
        return f"s3://{parts.netloc}{path}"
    if kind == "file":
        base = urlsplit(base).path
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(base)), href))


def _read_s3(href: str, settings: Settings | None) -> bytes:
    from obstore.store import S3Store

    parts = urlsplit(href)
    options: dict[str, Any] = {}
    if settings is not None and settings.s3_endpoint:
        options = {
            "endpoint": settings.s3_endpoint,
            "region": settings.s3_region,
            "client_options": {"allow_http": True},
        }
        if settings.s3_access_key:
            options["access_key_id"] = settings.s3_access_key
            options["secret_access_key"] = settings.s3_secret_key
    store = S3Store(parts.netloc, **options)
    return bytes(store.get(parts.path.lstrip("/")).bytes())


def read_json(href: str, settings: Settings | None = None, client: httpx.Client | None = None) -> dict:
    """The JSON document at `href`; CatalogUnreadable names the href and the cause."""
    try:
        kind = scheme(href)
        if kind in ("http", "https"):
            response = (client or httpx).get(href, timeout=30.0, follow_redirects=True)
            response.raise_for_status()
            raw = response.content
        elif kind == "s3":
            raw = _read_s3(href, settings)
        else:
            path = urlsplit(href).path if kind == "file" else href
            with open(path, "rb") as f:
                raw = f.read()
        document = json.loads(raw)
    except (OSError, ValueError, httpx.HTTPError, ObstoreError) as exc:
        raise CatalogUnreadable(f"Cannot read STAC document {href}: {exc}") from exc
    if not isinstance(document, dict):
        raise CatalogUnreadable(f"STAC document {href} is not a JSON object")
    return document
