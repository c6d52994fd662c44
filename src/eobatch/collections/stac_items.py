"""Turning STAC Item dicts into `Scene`s (pure), and reading a static catalog's items with pystac."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pystac
from pystac.stac_io import DefaultStacIO
from shapely.geometry import box, shape

from eobatch.collections.bands import BandSpec
from eobatch.collections.harmonize import NO_HARMONIZE, HarmonizeRule
from eobatch.collections.hrefs import CatalogUnreadable, is_url, read_json, read_text, resolve_href
from eobatch.collections.scene import Scene
from eobatch.storage.access import StoreAccess

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
    item: dict, item_href: str, bands: dict[str, BandSpec], harmonize: HarmonizeRule = NO_HARMONIZE
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
    baseline = properties.get(harmonize.baseline_property) if harmonize.baseline_property else None
    return Scene(
        id=item_id,
        datetime=_datetime(properties, item_id),
        cloud_cover=float(cloud) if isinstance(cloud, int | float) else None,
        assets=band_assets(item.get("assets") or {}, bands, item_href),
        footprint_wgs84=footprint,
        epsg=_epsg(properties),
        processing_baseline=str(baseline) if baseline is not None else None,
        harmonize_offset=harmonize.offset_for_properties(properties),
    )


class _AccessStacIO(DefaultStacIO):
    """pystac I/O through a `StoreAccess`; item documents a catalog links to are fetched ahead, in
    parallel for remote catalogs, and handed to pystac when it asks for them."""

    def __init__(self, access: StoreAccess, client: httpx.Client, pool: ThreadPoolExecutor):
        super().__init__()
        self.access, self.client, self.pool = access, client, pool
        self._ahead: dict[str, Future[str]] = {}

    def read_text_from_href(self, href: str) -> str:
        ahead = self._ahead.pop(href, None)
        return ahead.result() if ahead is not None else read_text(href, self.access, self.client)

    def fetch_ahead(self, hrefs: list[str]) -> None:
        for href in hrefs:
            if href not in self._ahead:
                self._ahead[href] = self.pool.submit(read_text, href, self.access, self.client)


def _walk(node: pystac.Catalog, stac_io: _AccessStacIO, collection_id: str | None, depth: int) -> Iterator[pystac.Item]:
    if isinstance(node, pystac.Collection) and collection_id and depth > 0 and node.id != collection_id:
        return
    if depth > _MAX_DEPTH:
        raise CatalogUnreadable(f"STAC catalog {node.get_self_href()} nests deeper than {_MAX_DEPTH} levels")
    stac_io.fetch_ahead([link.get_absolute_href() or link.href for link in node.get_links(pystac.RelType.ITEM)])
    for item in node.get_items():
        if collection_id is None or item.collection_id in (None, collection_id):
            yield item
    for child in node.get_children():
        yield from _walk(child, stac_io, collection_id, depth + 1)


def iter_items(
    root_href: str, access: StoreAccess | None = None, collection_id: str | None = None
) -> Iterator[tuple[dict, str]]:
    """(item dict, item href) for every item under a static Catalog, Collection, FeatureCollection
    (ItemCollection) or Item, read with pystac. `collection_id` keeps only that collection."""
    access = access or StoreAccess()
    with httpx.Client() as client, ThreadPoolExecutor(8 if is_url(root_href) else 1) as pool:
        stac_io = _AccessStacIO(access, client, pool)
        document = read_json(root_href, access, client)
        try:
            if document.get("type") == "FeatureCollection":
                features = [{"stac_version": "1.0.0", **f} for f in document.get("features") or []]
                collection = pystac.ItemCollection.from_dict({**document, "features": features}, preserve_dict=False)
                for item in collection:
                    yield item.to_dict(include_self_link=False, transform_hrefs=False), root_href
                return
            node = pystac.read_dict(document, href=root_href, stac_io=stac_io)
            if isinstance(node, pystac.Item):
                yield node.to_dict(include_self_link=False, transform_hrefs=False), root_href
                return
            if not isinstance(node, pystac.Catalog):
                raise CatalogUnreadable(f"{root_href} is a {type(node).__name__}, not a STAC catalog or collection")
            for item in _walk(node, stac_io, collection_id, 0):
                href = item.get_self_href() or root_href
                yield item.to_dict(include_self_link=False, transform_hrefs=False), href
        except (pystac.STACError, KeyError, TypeError, ValueError) as exc:
            raise CatalogUnreadable(f"STAC catalog {root_href} is not valid STAC: {exc}") from exc
