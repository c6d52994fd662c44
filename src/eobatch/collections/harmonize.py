"""harmonizeValues: the DN offset a scene needs, decided from its STAC item's own properties (pure).

Sentinel-2 processing baseline 04.00 (January 2022) added +1000 to every L1C/L2A DN. A scene at that
baseline or later gets -1000 to land on the older scale, unless the provider already removed the
offset and says so in a property (Earth Search: `earthsearch:boa_offset_applied: true`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def baseline_tuple(value: Any) -> tuple[int, ...] | None:
    """'04.00' -> (4, 0); 5.09 -> (5, 9); None for anything that is not a dotted number."""
    try:
        return tuple(int(part) for part in str(value).strip().split("."))
    except ValueError:
        return None


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@dataclass(frozen=True)
class HarmonizeRule:
    """Scenes whose `baseline_property` is >= `min_baseline` get `offset` added to their DN, unless
    their `offset_applied_property` is true. No baseline property configured: no offset ever."""

    baseline_property: str | None = None
    min_baseline: str = "04.00"
    offset: float = -1000.0
    offset_applied_property: str | None = None

    def offset_for_properties(self, properties: Mapping[str, Any]) -> float:
        """The DN offset for an item with these properties (0.0 or `offset`)."""
        if not self.baseline_property:
            return 0.0
        if self.offset_applied_property and _true(properties.get(self.offset_applied_property)):
            return 0.0
        have = baseline_tuple(properties.get(self.baseline_property))
        need = baseline_tuple(self.min_baseline)
        return self.offset if have is not None and need is not None and have >= need else 0.0


NO_HARMONIZE = HarmonizeRule()
SENTINEL2_HARMONIZE = HarmonizeRule(
    baseline_property="s2:processing_baseline", offset_applied_property="earthsearch:boa_offset_applied"
)
