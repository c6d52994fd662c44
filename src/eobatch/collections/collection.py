"""`Collection`: one data collection type (`sentinel-2-l2a`, `byoc-<id>`, ...) with its bands,
its harmonizeValues rule, the source its scenes come from and how its assets are read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from shapely.geometry.base import BaseGeometry

from eobatch.collections.bands import BandSpec
from eobatch.collections.filters import parse_datetime
from eobatch.collections.harmonize import NO_HARMONIZE, HarmonizeRule
from eobatch.collections.presets import PresetTraits
from eobatch.collections.scene import Scene
from eobatch.collections.sources import SceneSource
from eobatch.errors import BadRequest, Violation
from eobatch.storage.access import StoreAccess

STATIC_RANGE = (dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, tzinfo=dt.UTC))


class Collection:
    """A collection type mapped to a scene source. `bands` holds every band an evalscript may use."""

    def __init__(
        self,
        type: str,
        bands: dict[str, BandSpec],
        source: SceneSource,
        *,
        title: str = "",
        harmonize: HarmonizeRule = NO_HARMONIZE,
        access: StoreAccess | None = None,
        traits: PresetTraits | None = None,
    ):
        self.type = type
        self.access = access or StoreAccess()
        self.bands = dict(bands)
        self.source = source
        self.title = title
        self.harmonize = harmonize
        self.traits = traits or PresetTraits()

    def __repr__(self) -> str:
        return f"Collection({self.type!r}, {len(self.bands)} bands, {self.source.describe()})"

    @property
    def asset_bands(self) -> dict[str, BandSpec]:
        """The bands read from assets (everything except derived bands such as dataMask)."""
        return {name: band for name, band in self.bands.items() if not band.is_derived}

    def search(
        self,
        area_wgs84: BaseGeometry,
        time_from: dt.datetime | str,
        time_to: dt.datetime | str,
        max_cloud_coverage: float = 100.0,
    ) -> list[Scene]:
        """Scenes intersecting the area in [time_from, time_to] (inclusive) with cloud cover <= max
        (missing cloud cover passes), sorted by datetime descending."""
        start = parse_datetime(time_from, "timeRange.from")
        end = parse_datetime(time_to, "timeRange.to")
        if start > end:
            raise BadRequest(f"timeRange is reversed: from {start.isoformat()} is after to {end.isoformat()}")
        if not 0 <= max_cloud_coverage <= 100:
            raise BadRequest(f"maxCloudCoverage must be from 0 to 100, got {max_cloud_coverage}")
        if area_wgs84.is_empty:
            return []
        if self.traits.static:  # no acquisition time: every item is valid at every time
            start, end = STATIC_RANGE
        return self.source.search(
            self.asset_bands,
            self.harmonize,
            area_wgs84,
            start,
            end,
            float(max_cloud_coverage),
        )

    def check_bands(self, bands: Iterable[str], parameter: str = "evalscript") -> None:
        """BadRequest naming the first band this collection lacks and the bands it has."""
        for name in bands:
            if name in self.bands:
                continue
            hint = [b for b in self.bands if b.lower() == str(name).lower()]
            did_you_mean = f" (did you mean {hint[0]}?)" if hint else ""
            message = (
                f"Band {name!r} is not available in collection {self.type}{did_you_mean}; "
                f"available bands: {', '.join(self.bands)}"
            )
            raise BadRequest(message, [Violation(parameter, message)])

    def check_units(self, bands: Iterable[str], units: Iterable[str], parameter: str = "evalscript") -> None:
        """BadRequest naming the first band whose requested unit this collection does not offer."""
        for name, unit in zip(bands, units, strict=True):
            spec = self.bands.get(name)
            if spec is None or spec.is_derived or spec.accepts_unit(unit):
                continue
            message = (
                f"Unit {unit!r} is not available for band {name} of collection {self.type}; "
                f"available: {', '.join(spec.units)}"
            )
            raise BadRequest(message, [Violation(parameter, message)])

    def check_options(self, data_filter: dict | None, processing: dict | None, index: int = 0) -> None:
        """BadRequest for collection-specific dataFilter/processing options this collection refuses."""
        from eobatch.collections.options import check_options

        check_options(self.traits.family, data_filter, processing, index)

    def harmonize_offset(self, scene: Scene) -> float:
        """DN offset to add before scaling when the request has harmonizeValues=true (0 or -1000),
        decided at search time from the scene's item properties."""
        return scene.harmonize_offset
