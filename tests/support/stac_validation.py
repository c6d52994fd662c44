"""Offline JSON Schema validation of STAC documents, for the tests.

The core STAC 1.1.0 schemas (item, collection, catalog and the GeoJSON ones they reference) are the
official ones pystac ships as package data; the projection v2.0.0 and raster v1.1.0 extension
schemas are eobatch's own compact encodings of those specs in tests/support/stac_schemas/. Every
schema URI resolves to a local file (jsonschema_rs with `offline=True`), so nothing is fetched.
"""

from __future__ import annotations

import json
import posixpath
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pystac.validation

PYSTAC_SCHEMAS = Path(pystac.validation.__file__).parent / "jsonschemas"
OWN_SCHEMAS = Path(__file__).parent / "stac_schemas"
STAC_VERSION = "1.1.0"
CORE = {
    "Feature": f"https://schemas.stacspec.org/v{STAC_VERSION}/item-spec/json-schema/item.json",
    "Collection": f"https://schemas.stacspec.org/v{STAC_VERSION}/collection-spec/json-schema/collection.json",
    "Catalog": f"https://schemas.stacspec.org/v{STAC_VERSION}/catalog-spec/json-schema/catalog.json",
}
EXTENSIONS = {
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json": OWN_SCHEMAS / "projection-v2.0.0.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json": OWN_SCHEMAS / "raster-v1.1.0.json",
}


class StacInvalid(AssertionError):
    """A STAC document that breaks its core or an extension schema."""


def _local_file(uri: str) -> Path:
    """The local file of a schema URI; a URI with no local copy is an error, never a download."""
    uri = uri.split("#", 1)[0]
    if uri in EXTENSIONS:
        return EXTENSIONS[uri]
    core = f"https://schemas.stacspec.org/v{STAC_VERSION}/"
    if uri.startswith(core) and "/json-schema/" in uri:
        return PYSTAC_SCHEMAS / "stac-spec" / f"v{STAC_VERSION}" / posixpath.basename(uri)
    if uri.startswith("https://geojson.org/schema/"):
        return PYSTAC_SCHEMAS / "geojson" / posixpath.basename(uri)
    raise LookupError(f"no offline copy of schema {uri}")


def _retrieve(uri: str) -> Any:
    return json.loads(_local_file(uri).read_text())


@cache
def _validator(uri: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(_retrieve(uri), retriever=_retrieve, base_uri=uri)


def _describe(error: jsonschema_rs.ValidationError) -> str:
    """Where and what, with the failed branches of a oneOf/anyOf spelled out (their own messages)."""
    text = f"{list(error.instance_path)}: {error.message[:200]}"
    branches = getattr(error.kind, "context", None) or []
    reasons = ["; ".join(_describe(sub) for sub in branch) for branch in branches]
    return text + (" (branches: " + " | ".join(reasons) + ")" if reasons else "")


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Every schema violation of one STAC document: its core schema, then each declared extension."""
    kind = document.get("type")
    if kind not in CORE:
        return [f"not a STAC Item, Collection or Catalog: type={kind!r}"]
    if document.get("stac_version") != STAC_VERSION:
        return [f"stac_version {document.get('stac_version')!r}, the schemas here are {STAC_VERSION}"]
    uris = [CORE[kind], *(document.get("stac_extensions") or [])]
    errors = []
    for uri in uris:
        try:
            validator = _validator(uri)
        except LookupError as exc:
            errors.append(str(exc))
            continue
        errors += [f"{uri}: {_describe(e)}" for e in validator.iter_errors(document)]
    return errors


def validate_stac(path: str | Path) -> dict[str, Any]:
    """Validate the STAC document at `path`; raises StacInvalid naming every violation."""
    document = json.loads(Path(path).read_text())
    errors = schema_errors(document)
    if errors:
        raise StacInvalid(f"{path}:\n" + "\n".join(errors))
    return document
