"""Data collections: the registry (YAML/TOML), STAC sources, the synthetic demo archive, scene search.

Public surface (docs/ARCHITECTURE.md "collections", docs/collections.md):
"""

from eobatch.collections.bands import BandSpec
from eobatch.collections.collection import Collection
from eobatch.collections.demo import DEMO_AREA_WGS84, DEMO_BBOX, DEMO_TIME_RANGE, ensure_demo_archive
from eobatch.collections.filters import DataFilter, validate_data_filter
from eobatch.collections.harmonize import HarmonizeRule
from eobatch.collections.hrefs import CatalogUnreadable
from eobatch.collections.presets import PRESETS, preset_bands
from eobatch.collections.registry import CollectionRegistry
from eobatch.collections.scene import MOSAICKING_ORDERS, Scene, group_by_day, order_scenes

__all__ = [
    "DEMO_AREA_WGS84",
    "DEMO_BBOX",
    "DEMO_TIME_RANGE",
    "MOSAICKING_ORDERS",
    "PRESETS",
    "BandSpec",
    "CatalogUnreadable",
    "Collection",
    "CollectionRegistry",
    "DataFilter",
    "HarmonizeRule",
    "Scene",
    "ensure_demo_archive",
    "group_by_day",
    "order_scenes",
    "preset_bands",
    "validate_data_filter",
]
