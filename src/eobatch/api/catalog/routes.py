"""Catalog API routes: landing page, conformance, collections, items and search (GET and POST)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from eobatch.api.auth import Principal
from eobatch.api.body import read_json
from eobatch.api.catalog.items import STAC_VERSION
from eobatch.api.catalog.query import parse_search
from eobatch.api.catalog.search import known_collection, matching_items, search
from eobatch.api.deps import principal
from eobatch.collections.registry import CollectionRegistry
from eobatch.errors import NotFound

PREFIX = "/api/v1/catalog/1.0.0"
CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "https://api.stacspec.org/v1.0.0/item-search#context",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
]
GEOJSON = "application/geo+json"

Caller = Annotated[Principal, Depends(principal)]


def registry(request: Request) -> CollectionRegistry:
    """The configured collections, built once per app."""
    state = request.app.state
    if getattr(state, "catalog_registry", None) is None:
        state.catalog_registry = CollectionRegistry.from_settings(state.settings)
    return state.catalog_registry


Registry = Annotated[CollectionRegistry, Depends(registry)]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def landing_page(request: Request) -> dict[str, Any]:
    base = base_url(request)
    return {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "eobatch-catalog",
        "title": "eobatch Catalog API",
        "description": "STAC search over the collections this eobatch server is configured with",
        "conformsTo": CONFORMANCE,
        "links": [
            {"rel": "self", "href": f"{base}/", "type": "application/json"},
            {"rel": "root", "href": f"{base}/", "type": "application/json"},
            {"rel": "conformance", "href": f"{base}/conformance", "type": "application/json"},
            {"rel": "data", "href": f"{base}/collections", "type": "application/json"},
            {"rel": "search", "href": f"{base}/search", "type": GEOJSON, "method": "GET"},
            {"rel": "search", "href": f"{base}/search", "type": GEOJSON, "method": "POST"},
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def _collection(reg: CollectionRegistry, type_: str, base: str) -> dict[str, Any]:
    collection = reg.get(type_)
    return {
        "stac_version": STAC_VERSION,
        "type": "Collection",
        "id": type_,
        "title": collection.title or type_,
        "description": collection.title or f"Collection {type_}",
        "license": "various",
        "extent": {"spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]}, "temporal": {"interval": [[None, None]]}},
        "summaries": {"eo:bands": [{"name": name} for name in collection.bands]},
        "links": [
            {"rel": "self", "href": f"{base}/collections/{type_}", "type": "application/json"},
            {"rel": "items", "href": f"{base}/collections/{type_}/items", "type": GEOJSON},
            {"rel": "root", "href": f"{base}/", "type": "application/json"},
        ],
    }


def list_collections(request: Request, _caller: Caller, reg: Registry) -> dict[str, Any]:
    base = base_url(request)
    return {
        "collections": [_collection(reg, t, base) for t in reg.types()],
        "links": [{"rel": "self", "href": f"{base}/collections", "type": "application/json"}],
    }


def get_collection(collection_id: str, request: Request, _caller: Caller, reg: Registry) -> dict[str, Any]:
    if collection_id not in reg:
        raise NotFound(f"Collection {collection_id} not found; known: {', '.join(reg.types())}")
    return _collection(reg, known_collection(reg, collection_id), base_url(request))


def get_item(collection_id: str, item_id: str, request: Request, _caller: Caller, reg: Registry) -> JSONResponse:
    if collection_id not in reg:
        raise NotFound(f"Collection {collection_id} not found; known: {', '.join(reg.types())}")
    query = parse_search({"collections": [collection_id], "ids": [item_id]})
    found = matching_items(reg, query, base_url(request))
    if not found:
        raise NotFound(f"Item {item_id} not found in collection {collection_id}")
    return JSONResponse(found[0], media_type=GEOJSON)


def _answer(request: Request, reg: CollectionRegistry, body: Any) -> JSONResponse:
    query = parse_search(body)
    result = search(reg, query, base_url(request))
    context: dict[str, Any] = {"limit": query.limit, "returned": len(result.features), "matched": result.matched}
    links = []
    if result.next_offset is not None:
        context["next"] = result.next_offset
        links.append(
            {
                "rel": "next",
                "href": f"{base_url(request)}/search",
                "method": "POST",
                "merge": True,
                "body": {"next": result.next_offset},
                "type": GEOJSON,
            }
        )
    payload = {"type": "FeatureCollection", "features": result.features, "links": links, "context": context}
    return JSONResponse(payload, media_type=GEOJSON)


def search_post(
    request: Request, _caller: Caller, reg: Registry, body: Annotated[Any, Depends(read_json)]
) -> JSONResponse:
    return _answer(request, reg, body)


def search_get(request: Request, _caller: Caller, reg: Registry) -> JSONResponse:
    params = dict(request.query_params)
    return _answer(request, reg, params)


def router() -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["catalog"])
    r.add_api_route("/", landing_page, methods=["GET"], summary="Catalog landing page")
    r.add_api_route("", landing_page, methods=["GET"], include_in_schema=False)
    r.add_api_route("/conformance", conformance, methods=["GET"], summary="Conformance classes")
    r.add_api_route("/collections", list_collections, methods=["GET"], summary="Configured collections")
    r.add_api_route("/collections/{collection_id}", get_collection, methods=["GET"], summary="One collection")
    r.add_api_route("/collections/{collection_id}/items/{item_id}", get_item, methods=["GET"], summary="One item")
    r.add_api_route("/search", search_post, methods=["POST"], summary="Search items (STAC item search)")
    r.add_api_route("/search", search_get, methods=["GET"], summary="Search items with query parameters")
    return r
