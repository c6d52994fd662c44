"""Where a collection's scenes come from: a static STAC catalog (local path, http(s)://, s3://),
the built-in demo archive (a static catalog generated on first use), or a STAC API (pystac-client).

Every source answers `search(bands, baseline_property, area, time_from, time_to, max_cc)` with
`Scene`s sorted by datetime descending. Static catalogs are read once per process and kept as a
`SceneIndex`, shared by every registry that points at the same catalog.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Protocol

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from eobatch.collections.bands import BandSpec
from eobatch.collections.hrefs import CatalogUnreadable
from eobatch.collections.scene import Scene
from eobatch.collections.scene_index import SceneIndex
from eobatch.collections.stac_items import iter_items, scene_from_item
from eobatch.settings import Settings

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
        baseline_property: str | None,
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
    settings: Settings | None = field(default=None, repr=False)

    def root_href(self) -> str:
        return self.href

    def describe(self) -> str:
        return f"static STAC catalog {self.root_href()}"

    def index(self, bands: dict[str, BandSpec], baseline_property: str | None) -> SceneIndex:
        """The in-memory index, built on first use and then shared within the process."""
        root = self.root_href()
        key = (root, self.collection_id, _bands_key(bands), baseline_property)
        with _INDEX_LOCK:
            cached = _INDEXES.get(key)
            if cached is None:
                items = iter_items(root, self.settings, self.collection_id)
                cached = SceneIndex(scene_from_item(i, h, bands, baseline_property) for i, h in items)
                _INDEXES[key] = cached
            return cached

    def search(self, bands, baseline_property, area_wgs84, time_from, time_to, max_cloud_coverage):
        return self.index(bands, baseline_property).search(area_wgs84, time_from, time_to, max_cloud_coverage)


@dataclass
class DemoSource(StaticCatalogSource):
    """The built-in synthetic archive: generated into settings.archive_dir when first searched."""

    href: str = ""
    level: str = "sentinel-2-l2a"

    def root_href(self) -> str:
        from eobatch.collections.demo import ensure_demo_archive

        if self.settings is None:
            raise CatalogUnreadable("The demo collection needs Settings to know its archive_dir")
        return str(ensure_demo_archive(self.settings, (self.level,)) / self.level / "collection.json")

    def describe(self) -> str:
        return f"built-in synthetic demo archive ({self.level})"


@dataclass
class StacApiSource:
    """A STAC API searched with pystac-client; cloud cover is filtered here so missing values pass."""

    url: str
    collection_id: str
    headers: dict[str, str] = field(default_factory=dict)
    max_items: int = 2000

    def describe(self) -> str:
        return f"STAC API {self.url} collection {self.collection_id}"

    def search(self, bands, baseline_property, area_wgs84, time_from, time_to, max_cloud_coverage):
        from pystac_client import Client
        from pystac_client.exceptions import APIError

        iso = "%Y-%m-%dT%H:%M:%S.%fZ"
        try:
            client = Client.open(self.url, headers=self.headers or None)
            search = client.search(
                collections=[self.collection_id],
                intersects=mapping(area_wgs84),
                datetime=f"{time_from.astimezone(dt.UTC):{iso}}/{time_to.astimezone(dt.UTC):{iso}}",
                max_items=self.max_items,
            )
            items = [item.to_dict(transform_hrefs=False) for item in search.items()]
        except (APIError, OSError, ValueError) as exc:
            raise CatalogUnreadable(f"STAC API search at {self.url} failed: {exc}") from exc
        scenes = [scene_from_item(item, self._item_href(item), bands, baseline_property) for item in items]
        return SceneIndex(scenes).search(area_wgs84, time_from, time_to, max_cloud_coverage)

    def _item_href(self, item: dict) -> str:
        for link in item.get("links") or []:
            if link.get("rel") == "self" and link.get("href"):
                return link["href"]
        return self.url.rstrip("/") + "/"
