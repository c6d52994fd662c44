"""Running a catalog search over the collection registry: scenes -> items -> filter -> one page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eobatch.api.catalog.cql2_filter import compile_filter
from eobatch.api.catalog.items import apply_fields, scene_item
from eobatch.api.catalog.query import SearchQuery, fail
from eobatch.collections.registry import CollectionRegistry


@dataclass(frozen=True)
class SearchPage:
    features: list[Any]
    next_offset: int | None
    matched: int


def known_collection(registry: CollectionRegistry, collection_id: str, parameter: str = "collections") -> str:
    if collection_id not in registry:
        raise fail(parameter, f"unknown collection {collection_id!r}; known: {', '.join(registry.types())}")
    return registry.get(collection_id).type


def matching_items(registry: CollectionRegistry, query: SearchQuery, base_url: str) -> list[dict[str, Any]]:
    """Every item of the query's collections that matches it, newest first (ties by id)."""
    matches = compile_filter(query.filter, query.filter_lang)
    wanted_ids = set(query.ids)
    items = []
    for requested in query.collections:
        collection = registry.get(known_collection(registry, requested))
        for scene in collection.search(query.area_wgs84, query.time_from, query.time_to):
            if wanted_ids and scene.id not in wanted_ids:
                continue
            item = scene_item(scene, requested, base_url)
            if matches(item):
                items.append(item)
    items.sort(key=lambda i: i["id"])
    items.sort(key=lambda i: i["properties"]["datetime"], reverse=True)
    return items


def search(registry: CollectionRegistry, query: SearchQuery, base_url: str) -> SearchPage:
    items = matching_items(registry, query, base_url)
    if query.distinct == "date":
        values: list[Any] = sorted({i["properties"]["datetime"][:10] for i in items}, reverse=True)
    else:
        values = items
    page = values[query.offset : query.offset + query.limit]
    if query.distinct is None:
        page = [apply_fields(item, query.fields) for item in page]
    following = query.offset + query.limit
    return SearchPage(page, following if following < len(values) else None, len(values))
