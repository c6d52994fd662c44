"""Reading STAC JSON from a local path, http(s):// or s3:// through a `StoreAccess`, and resolving
relative hrefs.

Foreign errors (OSError, httpx, obstore) are translated into `CatalogUnreadable` here, where they
enter eobatch.
"""

from __future__ import annotations

import json
import os
import posixpath
from urllib.parse import urljoin, urlsplit

import httpx
from obstore.exceptions import BaseError as ObstoreError

from eobatch.errors import EobatchError
from eobatch.storage.access import StoreAccess, href_scheme

scheme = href_scheme


class CatalogUnreadable(EobatchError):
    """A STAC catalog, collection or item could not be read or parsed."""

    code = "COLLECTION_UNREADABLE"


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


def read_text(href: str, access: StoreAccess | None = None, client: httpx.Client | None = None) -> str:
    """The text document at `href`; CatalogUnreadable names the href and the cause."""
    try:
        return (access or StoreAccess()).read_bytes(href, client).decode("utf-8")
    except (OSError, ValueError, httpx.HTTPError, ObstoreError) as exc:
        raise CatalogUnreadable(f"Cannot read STAC document {href}: {exc}") from exc


def read_json(href: str, access: StoreAccess | None = None, client: httpx.Client | None = None) -> dict:
    """The JSON object at `href`; CatalogUnreadable names the href and the cause."""
    text = read_text(href, access, client)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise CatalogUnreadable(f"STAC document {href} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise CatalogUnreadable(f"STAC document {href} is not a JSON object")
    return document
