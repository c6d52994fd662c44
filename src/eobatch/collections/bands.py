"""Band metadata (`BandSpec`) and the built-in Sentinel-2 band presets.

A preset lists the bands an evalscript may ask for, with their native resolution, the DN-to-value
scale, unit, nodata and the STAC asset keys that may hold each band. Keys cover both naming styles seen
in the wild: `B04`-style (Sentinel Hub, static catalogs) and Earth Search common names (`red`).
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_MASK = "dataMask"


@dataclass(frozen=True)
class BandSpec:
    """One band of a collection. `value = DN * scale + offset`; `asset_keys` empty means derived."""

    name: str
    asset_keys: tuple[str, ...]
    resolution: float
    scale: float
    offset: float
    nodata: float | None
    unit: str

    @property
    def is_derived(self) -> bool:
        """True for bands computed by the pipeline (`dataMask`), not read from an asset."""
        return not self.asset_keys


# name, native resolution (m), Earth Search common-name asset key
_S2_OPTICAL: tuple[tuple[str, float, str], ...] = (
    ("B01", 60.0, "coastal"),
    ("B02", 10.0, "blue"),
    ("B03", 10.0, "green"),
    ("B04", 10.0, "red"),
    ("B05", 20.0, "rededge1"),
    ("B06", 20.0, "rededge2"),
    ("B07", 20.0, "rededge3"),
    ("B08", 10.0, "nir"),
    ("B8A", 20.0, "nir08"),
    ("B09", 60.0, "nir09"),
    ("B10", 60.0, "cirrus"),
    ("B11", 20.0, "swir16"),
    ("B12", 20.0, "swir22"),
)

S2_SCALE = 0.0001


def data_mask_band(resolution: float) -> BandSpec:
    """The derived `dataMask` band: 1 where any source data is valid, 0 elsewhere."""
    return BandSpec(DATA_MASK, (), resolution, 1.0, 0.0, None, "DN")


def _optical(name: str, resolution: float, common: str) -> BandSpec:
    keys = (name, common, name.lower())
    return BandSpec(name, keys, resolution, S2_SCALE, 0.0, 0.0, "REFLECTANCE")


def sentinel2_l1c_bands() -> dict[str, BandSpec]:
    """B01..B12 with B10 and B8A (top-of-atmosphere reflectance), plus dataMask."""
    bands = {n: _optical(n, r, c) for n, r, c in _S2_OPTICAL}
    bands[DATA_MASK] = data_mask_band(10.0)
    return bands


def sentinel2_l2a_bands() -> dict[str, BandSpec]:
    """B01..B12 without B10, B8A (surface reflectance), SCL, plus dataMask."""
    bands = {n: _optical(n, r, c) for n, r, c in _S2_OPTICAL if n != "B10"}
    bands["SCL"] = BandSpec("SCL", ("SCL", "scl"), 20.0, 1.0, 0.0, 0.0, "DN")
    bands[DATA_MASK] = data_mask_band(10.0)
    return bands


def cloud_mask_band(resolution: float = 20.0) -> BandSpec:
    """`CLM`: 0 clear, 1 cloud, 255 no data (as Sentinel Hub's s2cloudless mask)."""
    return BandSpec("CLM", ("CLM", "clm"), resolution, 1.0, 0.0, 255.0, "DN")


PRESETS = {
    "sentinel-2-l1c": sentinel2_l1c_bands,
    "sentinel-2-l2a": sentinel2_l2a_bands,
}


def preset_bands(name: str) -> dict[str, BandSpec]:
    """A fresh copy of the bands of a built-in preset; KeyError for an unknown name."""
    return PRESETS[name]()
