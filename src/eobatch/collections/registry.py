"""`CollectionRegistry`: request `input.data[].type` -> `Collection`, built from a collections file,
from the built-in demo archive, or both (`from_settings`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from eobatch.collections.access import build_access
from eobatch.collections.bands import BandSpec, data_mask_band
from eobatch.collections.collection import Collection
from eobatch.collections.config import (
    DEMO_LEVELS,
    BandConfig,
    CollectionConfig,
    DemoSourceConfig,
    StacApiSourceConfig,
    load_collections_file,
)
from eobatch.collections.harmonize import NO_HARMONIZE, SENTINEL2_HARMONIZE, HarmonizeRule
from eobatch.collections.presets import preset_bands, preset_traits
from eobatch.collections.sources import DemoSource, SceneSource, StacApiSource, StaticCatalogSource
from eobatch.errors import BadRequest, Violation
from eobatch.settings import Settings
from eobatch.storage.access import StoreAccess

# Older Sentinel Hub identifiers that clients still send.
TYPE_ALIASES = {
    "S2L1C": "sentinel-2-l1c",
    "S2L2A": "sentinel-2-l2a",
    "S1GRD": "sentinel-1-grd",
    "DEM": "dem",
    "L8L1C": "landsat-ot-l1",
    "LOTL1": "landsat-ot-l1",
    "LOTL2": "landsat-ot-l2",
}


def _merge_band(name: str, base: BandSpec | None, cfg: BandConfig, defaults: BandConfig, type_: str) -> BandSpec:
    def pick(field: str, fallback):
        for source in (cfg, defaults) if base is None else (cfg,):
            value = getattr(source, field)
            if value is not None:
                return value
        return getattr(base, field) if base is not None else fallback

    resolution = pick("resolution", None)
    if resolution is None:
        raise BadRequest(f"Collection {type_}: band {name} needs a resolution (metres), in the band or in `defaults`")
    keys = pick("asset_keys", [name])
    return BandSpec(
        name=name,
        asset_keys=tuple(keys),
        resolution=float(resolution),
        scale=float(pick("scale", 1.0)),
        offset=float(pick("offset", 0.0)),
        nodata=pick("nodata", None),
        unit=str(pick("unit", "DN")),
    )


def build_bands(type_: str, entry: CollectionConfig) -> dict[str, BandSpec]:
    """The band set of one configured collection: preset, then overrides and additions, then exclusions.
    `dataMask` is always declared."""
    bands = preset_bands(entry.preset) if entry.preset else {}
    for name, cfg in entry.bands.items():
        bands[name] = _merge_band(name, bands.get(name), cfg, entry.defaults, type_)
    for name in entry.exclude_bands:
        if name not in bands:
            raise BadRequest(f"Collection {type_}: exclude_bands names {name}, which it does not have")
        del bands[name]
    real = [b for b in bands.values() if not b.is_derived]
    if not real:
        raise BadRequest(f"Collection {type_} declares no bands; give a `preset` or `bands`")
    bands.setdefault("dataMask", data_mask_band(min(b.resolution for b in real)))
    return bands


def _demo_level(entry: CollectionConfig) -> str | None:
    return entry.source.level if isinstance(entry.source, DemoSourceConfig) else None


def _harmonize(entry: CollectionConfig) -> HarmonizeRule:
    if entry.harmonize == "none":
        return NO_HARMONIZE
    if entry.harmonize == "sentinel-2":
        return SENTINEL2_HARMONIZE
    return HarmonizeRule(**entry.harmonize.model_dump())


def _source(type_: str, entry: CollectionConfig, settings: Settings | None, access: StoreAccess) -> SceneSource:
    src = entry.source
    if isinstance(src, DemoSourceConfig):
        level = src.level or type_
        if level not in DEMO_LEVELS:
            raise BadRequest(f"Collection {type_}: a demo source needs `level`, one of {', '.join(DEMO_LEVELS)}")
        return DemoSource(settings=settings or Settings(), level=level)
    if isinstance(src, StacApiSourceConfig):
        return StacApiSource(src.url, src.collection, dict(src.headers), src.max_items, src.page_size)
    return StaticCatalogSource(src.href, src.collection, access)


def demo_collection(level: str, settings: Settings) -> Collection:
    """A built-in synthetic collection (one of DEMO_LEVELS) with its preset's bands and traits."""
    title = f"Synthetic demo {level} (generated, not real data)"
    source = DemoSource(settings=settings, level=level)
    return Collection(level, preset_bands(level), source, title=title, traits=_traits(level))


def _traits(preset: str | None, entry: CollectionConfig | None = None):
    from dataclasses import replace

    traits = preset_traits(preset)
    if entry is not None and traits.family == "sar":
        traits = replace(traits, stored_coefficient=entry.stored_coefficient)
    return traits


class CollectionRegistry:
    """The collections a server knows, by type."""

    def __init__(self, collections: Iterable[Collection] = ()):
        self._collections: dict[str, Collection] = {}
        for collection in collections:
            self._collections[collection.type] = collection

    @classmethod
    def from_file(cls, path: str | Path, settings: Settings | None = None) -> CollectionRegistry:
        """The collections declared in a YAML or TOML file (only those)."""
        parsed = load_collections_file(path)
        collections = []
        for type_, entry in parsed.collections.items():
            access = build_access(type_, entry.access, settings)
            source = _source(type_, entry, settings, access)
            bands = build_bands(type_, entry)
            collections.append(
                Collection(
                    type_,
                    bands,
                    source,
                    title=entry.title,
                    harmonize=_harmonize(entry),
                    access=access,
                    traits=_traits(entry.preset or _demo_level(entry), entry),
                )
            )
        return cls(collections)

    @classmethod
    def default(cls, settings: Settings) -> CollectionRegistry:
        """The built-in demo collections; each level's archive is generated when first searched."""
        return cls(demo_collection(level, settings) for level in DEMO_LEVELS)

    @classmethod
    def from_settings(cls, settings: Settings) -> CollectionRegistry:
        """The demo collections, overridden and extended by `settings.collections_file` when set."""
        registry = cls.default(settings)
        if settings.collections_file is not None:
            registry = registry.merged(cls.from_file(settings.collections_file, settings))
        return registry

    def merged(self, other: CollectionRegistry) -> CollectionRegistry:
        """A registry with this one's collections, replaced or extended by `other`'s."""
        return CollectionRegistry([*self._collections.values(), *other._collections.values()])

    def types(self) -> list[str]:
        return sorted(self._collections)

    def __contains__(self, type_: str) -> bool:
        return TYPE_ALIASES.get(type_, type_) in self._collections

    def get(self, type: str, index: int | None = None) -> Collection:
        """The collection for a request's input.data[].type; BadRequest lists the known types."""
        found = self._collections.get(TYPE_ALIASES.get(type, type))
        if found is not None:
            return found
        where = f"[{index}]" if index is not None else "[]"
        parameter = f"processRequest.input.data{where}.type"
        message = f"Unknown collection type {type!r}; known types: {', '.join(self.types()) or 'none'}"
        raise BadRequest(message, [Violation(parameter, message)])
