"""Scenes as STAC items in the Catalog API's shape, and the fields extension (include/exclude)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from shapely.geometry import mapping

from eobatch.collections.scene import Scene

STAC_VERSION = "1.0.0"
#: what an item keeps when `fields.include` is given (as Sentinel Hub's catalog does)
ALWAYS_INCLUDED = ("id", "type", "stac_version")


def iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def scene_item(scene: Scene, collection: str, base_url: str) -> dict[str, Any]:
    """One scene as a STAC item; assets point at the band files as the archive names them."""
    properties: dict[str, Any] = {"datetime": iso(scene.datetime)}
    if scene.cloud_cover is not None:
        properties["eo:cloud_cover"] = scene.cloud_cover
    if scene.epsg is not None:
        properties["proj:epsg"] = scene.epsg
    if scene.processing_baseline is not None:
        properties["s2:processing_baseline"] = scene.processing_baseline
    item_url = f"{base_url}/collections/{collection}/items/{scene.id}"
    return {
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "type": "Feature",
        "id": scene.id,
        "collection": collection,
        "geometry": mapping(scene.footprint_wgs84),
        "bbox": list(scene.footprint_wgs84.bounds),
        "properties": properties,
        "assets": {band: {"href": href, "title": band} for band, href in scene.assets.items()},
        "links": [
            {"rel": "self", "href": item_url, "type": "application/geo+json"},
            {"rel": "collection", "href": f"{base_url}/collections/{collection}", "type": "application/json"},
            {"rel": "root", "href": f"{base_url}/", "type": "application/json"},
        ],
    }


def _pick(item: dict[str, Any], path: str) -> tuple[list[str], Any] | None:
    keys = path.split(".")
    node: Any = item
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return keys, node


def _put(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = copy.deepcopy(value)


def _drop(target: dict[str, Any], keys: list[str]) -> None:
    for key in keys[:-1]:
        target = target.get(key)
        if not isinstance(target, dict):
            return
    target.pop(keys[-1], None)


def apply_fields(item: dict[str, Any], fields: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """The fields extension: with `include`, only those dotted paths (plus id and type); then `exclude`."""
    include, exclude = fields.get("include") or (), fields.get("exclude") or ()
    result = item
    if include:
        result = {}
        for path in (*ALWAYS_INCLUDED, *include):
            found = _pick(item, path)
            if found is not None:
                _put(result, *found)
    for path in exclude:
        if path not in ALWAYS_INCLUDED[:1]:
            _drop(result, path.split("."))
    return result
