"""Where a collection's scenes come from: a static STAC catalog (local path, http(s)://, s3://) read
with pystac, the built-in demo archive (a static catalog generated on first use), or a STAC API
searched with pystac-client.

Every source answers `search(bands, harmonize, area, time_from, time_to, max_cc)` with `Scene`s
sorted by datetime descending. Static catalogs are read once per process and kept as a
`SceneIndex`, shared by every registry that points at the same catalog. A STAC API search pages
through every result page; more items than the configured `max_items` is an error, never a cut.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Protocol

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from eobatch.collections.bands import BandSpec
from eobatch.collections.harmonize import HarmonizeRule
from eobatch.collections.hrefs import CatalogUnreadable
from eobatch.collections.scene import Scene
from eobatch.collections.scene_index import SceneIndex
from eobatch.collections.stac_items import iter_items, scene_from_item
from eobatch.errors import BadRequest
from eobatch.settings import Settings
from eobatch.storage.access import StoreAccess

_INDEXES: dict[tuple, SceneIndex] = {}
_INDEX_LOCK = threading.Lock()


def clear_index_cache() -> None:
    """Forget every loaded static catalog (the next search re-reads it)."""
    with _INDEX_LOCK:
        _INDEXES.clear()


def _bands_key(bands: dict[str, BandSpec]) -> tuple:
    return tuple(sorted((b.name, b.asset_keys) for b in bands.values()))


class SceneSource(Protocol):
    def search(
        self,
        bands: dict[str, BandSpec],
        harmonize: HarmonizeRule,
        area_wgs84: BaseGeometry,
        time_from: dt.datetime,
        time_to: dt.datetime,
        max_cloud_coverage: float,
    ) -> list[Scene]: ...

    def describe(self) -> str: ...


@dataclass
class StaticCatalogSource:
    """A static STAC Catalog/Collection/ItemCollection at `href`; `collection_id` keeps one collection."""

    href: str
    collection_id: str | None = None
    access: StoreAccess = field(default_factory=StoreAccess)

    def root_href(self) -> str:
        return self.href

    def describe(self) -> str:
        return f"static STAC catalog {self.root_href()}"

    def index(self, bands: dict[str, BandSpec], harmonize: HarmonizeRule) -> SceneIndex:
        """The in-memory index, built on first use and then shared within the process."""
        root = self.root_href()
        key = (root, self.collection_id, _bands_key(bands), harmonize, self.access.describe())
        with _INDEX_LOCK:
            cached = _INDEXES.get(key)
            if cached is None:
                items = iter_items(root, self.access, self.collection_id)
                cached = SceneIndex(scene_from_item(i, h, bands, harmonize) for i, h in items)
                _INDEXES[key] = cached
            return cached

    def search(self, bands, harmonize, area_wgs84, time_from, time_to, max_cloud_coverage):
        return self.index(bands, harmonize).search(area_wgs84, time_from, time_to, max_cloud_coverage)


@dataclass
class DemoSource(StaticCatalogSource):
    """The built-in synthetic archive: generated into settings.archive_dir when first searched."""

    href: str = ""
    level: str = "sentinel-2-l2a"
    settings: Settings | None = field(default=None, repr=False)

    def root_href(self) -> str:
        from eobatch.collections.demo import ensure_demo_archive

        if self.settings is None:
            raise CatalogUnreadable("The demo collection needs Settings to know its archive_dir")
        return str(ensure_demo_archive(self.settings, (self.level,)) / self.level / "collection.json")

    def describe(self) -> str:
        return f"built-in synthetic demo archive ({self.level})"


class TooManyScenes(BadRequest):
    """A STAC API search matched more items than the collection's configured `max_items`."""


@dataclass
class StacApiSource:
    """A STAC API searched with pystac-client, every result page read; cloud cover is filtered here so
    that items without `eo:cloud_cover` pass. `searches` counts the searches this object started."""

    url: str
    collection_id: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    max_items: int = 50_000
    page_size: int = 500
    searches: int = field(default=0, init=False, compare=False)

    def describe(self) -> str:
        return f"STAC API {self.url} collection {self.collection_id}"

    def search(self, bands, harmonize, area_wgs84, time_from, time_to, max_cloud_coverage):
        scenes = [
            scene_from_item(item, self._item_href(item), bands, harmonize)
            for item in self.items(area_wgs84, time_from, time_to)
        ]
        return SceneIndex(scenes).search(area_wgs84, time_from, time_to, max_cloud_coverage)

    def items(self, area_wgs84: BaseGeometry, time_from: dt.datetime, time_to: dt.datetime) -> list[dict]:
        """Every item of one search (all pages); TooManyScenes, with the count, above `max_items`."""
        from pystac_client import Client
        from pystac_client.exceptions import APIError

        iso = "%Y-%m-%dT%H:%M:%S.%fZ"
        items: list[dict] = []
        matched: int | None = None
        try:
            client = Client.open(self.url, headers=self.headers or None)
            search = client.search(
                collections=[self.collection_id],
                intersects=mapping(area_wgs84),
                datetime=f"{time_from.astimezone(dt.UTC):{iso}}/{time_to.astimezone(dt.UTC):{iso}}",
                limit=self.page_size,
            )
            self.searches += 1
            for page in search.pages_as_dicts():
                if matched is None:
                    matched = _number_matched(page)
                    if matched is not None and matched > self.max_items:
                        break
                items.extend(page.get("features") or [])
                if len(items) > self.max_items:
                    break
        except (APIError, OSError, ValueError) as exc:
            raise CatalogUnreadable(f"STAC API search at {self.url} failed: {exc}") from exc
        if len(items) > self.max_items or (matched is not None and matched > self.max_items):
            count = (
                f"{matched} items" if matched is not None else f"more than {self.max_items} items (it gave no total)"
            )
            raise TooManyScenes(
                f"The search of {self.describe()} matched {count}, more than this collection's "
                f"max_items ({self.max_items}); narrow the area or time range, or raise max_items"
            )
        return items

    def _item_href(self, item: dict) -> str:
        for link in item.get("links") or []:
            if link.get("rel") == "self" and link.get("href"):
                return link["href"]
        return self.url.rstrip("/") + "/"


def _number_matched(page: dict) -> int | None:
    """`numberMatched` (OGC API Features) or `context.matched` (older STAC APIs), when reported."""
    value = page.get("numberMatched")
    if value is None:
        value = (page.get("context") or {}).get("matched")
    return int(value) if isinstance(value, int) else None
