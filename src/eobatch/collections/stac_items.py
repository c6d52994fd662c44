"""Turning STAC Item dicts into `Scene`s (pure), and walking a static catalog to collect its items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
from shapely.geometry import box, shape

from eobatch.collections.bands import BandSpec
from eobatch.collections.hrefs import CatalogUnreadable, is_url, read_json, resolve_href
from eobatch.collections.scene import Scene
from eobatch.settings import Settings

_MAX_DEPTH = 8


def _epsg(properties: dict) -> int | None:
    if isinstance(properties.get("proj:epsg"), int):
        return properties["proj:epsg"]
    code = properties.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        return int(code.split(":", 1)[1])
    return None


def _datetime(properties: dict, item_id: str) -> dt.datetime:
    value = properties.get("datetime") or properties.get("start_datetime")
    if not isinstance(value, str):
        raise CatalogUnreadable(f"STAC item {item_id} has no datetime")
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def band_assets(assets: dict, bands: dict[str, BandSpec], item_href: str) -> dict[str, str]:
    """band name -> absolute href, taking each band's first asset key that the item has."""
    found: dict[str, str] = {}
    for band in bands.values():
        for key in band.asset_keys:
            asset = assets.get(key)
            if isinstance(asset, dict) and asset.get("href"):
                found[band.name] = resolve_href(item_href, asset["href"])
                break
    return found


def scene_from_item(
    item: dict, item_href: str, bands: dict[str, BandSpec], baseline_property: str | None = None
) -> Scene:
    """The `Scene` for one STAC Item dict; `item_href` resolves its relative asset hrefs."""
    item_id = str(item.get("id", item_href))
    properties = item.get("properties") or {}
    if item.get("geometry"):
        footprint = shape(item["geometry"])
    elif item.get("bbox"):
        bbox = item["bbox"]
        footprint = box(bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else box(*bbox)
    else:
        raise CatalogUnreadable(f"STAC item {item_id} has neither geometry nor bbox")
    cloud = properties.get("eo:cloud_cover")
    baseline = properties.get(baseline_property) if baseline_property else None
    return Scene(
        id=item_id,
        datetime=_datetime(properties, item_id),
        cloud_cover=float(cloud) if isinstance(cloud, int | float) else None,
        assets=band_assets(item.get("assets") or {}, bands, item_href),
        footprint_wgs84=footprint,
        epsg=_epsg(properties),
        processing_baseline=str(baseline) if baseline is not None else None,
    )


def _links(document: dict, rel: str, href: str) -> list[str]:
    return [
        resolve_href(href, link["href"])
        for link in document.get("links") or []
        if link.get("rel") == rel and link.get("href")
    ]


def iter_items(
    root_href: str, settings: Settings | None = None, collection_id: str | None = None
) -> Iterator[tuple[dict, str]]:
    """(item dict, item href) for every item under a static Catalog, Collection, FeatureCollection or
    Item. Remote item documents are fetched in parallel. `collection_id` keeps only that collection."""
    with httpx.Client() as client, ThreadPoolExecutor(8 if is_url(root_href) else 1) as pool:
        pending = [(root_href, 0)]
        while pending:
            href, depth = pending.pop(0)
            document = read_json(href, settings, client)
            kind = document.get("type")
            if kind == "Feature":
                yield document, href
                continue
            if kind == "FeatureCollection":
                for feature in document.get("features") or []:
                    yield feature, href
                continue
            if kind == "Collection" and collection_id and depth > 0 and document.get("id") != collection_id:
                continue
            if depth >= _MAX_DEPTH:
                raise CatalogUnreadable(f"STAC catalog {root_href} nests deeper than {_MAX_DEPTH} levels")
            pending.extend((child, depth + 1) for child in _links(document, "child", href))
            item_hrefs = _links(document, "item", href)
            for item_href, item in zip(
                item_hrefs, pool.map(lambda h: read_json(h, settings, client), item_hrefs), strict=True
            ):
                if collection_id is None or item.get("collection") in (None, collection_id):
                    yield item, item_href
