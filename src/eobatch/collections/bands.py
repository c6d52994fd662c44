"""Band metadata (`BandSpec`): how a band is stored and which units an evalscript may ask for.

The built-in band sets (Sentinel-2, Sentinel-1, Landsat 8-9, DEM) are in `presets.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_MASK = "dataMask"
DN = "DN"


@dataclass(frozen=True)
class BandSpec:
    """One band of a collection. `value = DN * scale + offset` in the band's default `unit`;
    `asset_keys` empty means derived (dataMask).

    `offers_dn`: the unit `DN` (raw source values) may be asked for too. `planck` = (K1, K2) turns the
    scaled value (a thermal radiance) into a brightness temperature `K2 / ln(K1 / L + 1)`.
    `resampling` fixes the interpolation of a band whatever the request says (angle grids are
    interpolated bilinearly). `source_format` is the documented sample type of the source DN.
    """

    name: str
    asset_keys: tuple[str, ...]
    resolution: float
    scale: float
    offset: float
    nodata: float | None
    unit: str
    offers_dn: bool = True
    planck: tuple[float, float] | None = None
    resampling: str | None = None
    source_format: str = ""

    @property
    def is_derived(self) -> bool:
        """True for bands computed by the pipeline (`dataMask`), not read from an asset."""
        return not self.asset_keys

    @property
    def units(self) -> tuple[str, ...]:
        """The units an evalscript may request for this band, the default first."""
        if self.offers_dn and self.unit.upper() != DN:
            return (self.unit, DN)
        return (self.unit,)

    def accepts_unit(self, unit: str) -> bool:
        """True for `DEFAULT` and for each of `units` (case-insensitive)."""
        wanted = unit.upper()
        return wanted == "DEFAULT" or wanted in (u.upper() for u in self.units)

    def is_raw(self, unit: str) -> bool:
        """True when `unit` asks for the source DN of a band whose default unit is not DN."""
        return unit.upper() == DN and self.unit.upper() != DN


def data_mask_band(resolution: float) -> BandSpec:
    """The derived `dataMask` band: 1 where any source data is valid, 0 elsewhere."""
    return BandSpec(DATA_MASK, (), resolution, 1.0, 0.0, None, DN, source_format="N/A")
