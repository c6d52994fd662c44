"""The built-in band presets, as Sentinel Hub documents its collections (see docs/collections.md).

Each preset lists the bands an evalscript may ask for with their native resolution, DN-to-value
scale/offset, default unit, the other units offered, nodata and the STAC asset keys that may hold
them; and the collection traits that go with it (`PresetTraits`): whether the data is static (no
acquisition time), what a no-data pixel's bands hold, and which processing options apply.
Asset keys cover both naming styles seen in the wild: `B04`-style (Sentinel Hub, static catalogs)
and the common names of Earth Search / USGS / Planetary Computer catalogs (`red`, `vv`, `lwir11`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from eobatch.collections.bands import DN, BandSpec, data_mask_band

# Sentinel-2 ---------------------------------------------------------------------------------------

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
S2_ANGLES = ("sunAzimuthAngles", "sunZenithAngles", "viewAzimuthMean", "viewZenithMean")
ANGLE_GRID_M = 5000.0
CLOUD_PRODUCT_M = 160.0  # s2cloudless CLP/CLM


def _optical(name: str, resolution: float, common: str) -> BandSpec:
    keys = (name, common, name.lower())
    return BandSpec(name, keys, resolution, S2_SCALE, 0.0, 0.0, "REFLECTANCE", source_format="UINT15")


def _angle(name: str) -> BandSpec:
    """A sun/view angle grid (degrees, float32, 5 km), always interpolated bilinearly."""
    return BandSpec(
        name,
        (name,),
        ANGLE_GRID_M,
        1.0,
        0.0,
        None,
        "DEGREES",
        offers_dn=False,
        resampling="BILINEAR",
        source_format="FLOAT32",
    )


def cloud_mask_band(resolution: float = CLOUD_PRODUCT_M) -> BandSpec:
    """`CLM`: 0 clear, 1 cloud, 255 no data (as Sentinel Hub's s2cloudless mask)."""
    return BandSpec("CLM", ("CLM", "clm"), resolution, 1.0, 0.0, 255.0, DN, source_format="UINT8")


def cloud_probability_band(resolution: float = CLOUD_PRODUCT_M) -> BandSpec:
    """`CLP`: s2cloudless cloud probability 0..255 (divide by 255 for 0..1)."""
    return BandSpec("CLP", ("CLP", "clp"), resolution, 1.0, 0.0, None, DN, source_format="UINT8")


def _s2_common() -> dict[str, BandSpec]:
    bands = {name: _angle(name) for name in S2_ANGLES}
    bands["CLP"] = cloud_probability_band()
    bands["CLM"] = cloud_mask_band()
    return bands


def sentinel2_l1c_bands() -> dict[str, BandSpec]:
    """B01..B12 with B10 and B8A (top-of-atmosphere reflectance), sun/view angles, CLP, CLM, dataMask."""
    bands = {n: _optical(n, r, c) for n, r, c in _S2_OPTICAL}
    bands.update(_s2_common())
    bands["dataMask"] = data_mask_band(10.0)
    return bands


def sentinel2_l2a_bands() -> dict[str, BandSpec]:
    """B01..B12 without B10 (surface reflectance), AOT, WVP, SCL, SNW, CLD, angles, CLP, CLM, dataMask."""
    bands = {n: _optical(n, r, c) for n, r, c in _S2_OPTICAL if n != "B10"}
    # AOT = DN / 1000 (OPTICAL_DEPTH); WVP is Sen2Cor's water vapour map (cm = DN / 1000), served as DN.
    bands["AOT"] = BandSpec("AOT", ("AOT", "aot"), 10.0, 0.001, 0.0, None, "OPTICAL_DEPTH", source_format="UINT16")
    bands["WVP"] = BandSpec("WVP", ("WVP", "wvp"), 10.0, 1.0, 0.0, None, DN, source_format="UINT16")
    bands["SCL"] = BandSpec("SCL", ("SCL", "scl"), 20.0, 1.0, 0.0, 0.0, DN, source_format="UINT8")
    for name in ("SNW", "CLD"):
        bands[name] = BandSpec(
            name, (name, name.lower()), 20.0, 1.0, 0.0, None, "PERCENT", offers_dn=False, source_format="UINT8"
        )
    bands.update(_s2_common())
    bands["dataMask"] = data_mask_band(10.0)
    return bands


# Sentinel-1 GRD -----------------------------------------------------------------------------------

S1_POLARISATIONS = ("VV", "VH", "HH", "HV")


def sentinel1_grd_bands() -> dict[str, BandSpec]:
    """VV, VH, HH, HV in linear power of the requested backscatter coefficient; the local incidence
    angle (degrees, served as DN as Sentinel Hub does); dataMask."""
    bands = {
        p: BandSpec(p, (p, p.lower()), 10.0, 1.0, 0.0, 0.0, "LINEAR_POWER", offers_dn=False, source_format="FLOAT32")
        for p in S1_POLARISATIONS
    }
    bands["localIncidenceAngle"] = BandSpec(
        "localIncidenceAngle",
        ("localIncidenceAngle", "incidence_angle"),
        10.0,
        1.0,
        0.0,
        None,
        DN,
        resampling="BILINEAR",
        source_format="FLOAT32",
    )
    bands["dataMask"] = data_mask_band(10.0)
    return bands


# Landsat 8-9 OLI-TIRS Collection 2 ----------------------------------------------------------------

# name, resolution, USGS STAC common-name asset key
_OT_L1_OPTICAL = (
    ("B01", 30.0, "coastal"),
    ("B02", 30.0, "blue"),
    ("B03", 30.0, "green"),
    ("B04", 30.0, "red"),
    ("B05", 30.0, "nir08"),
    ("B06", 30.0, "swir16"),
    ("B07", 30.0, "swir22"),
    ("B08", 15.0, "pan"),
    ("B09", 30.0, "cirrus"),
)
# Collection 2 Level-1 rescaling (the same for every scene): TOA reflectance = 2e-5 DN - 0.1;
# thermal radiance = 3.342e-4 DN + 0.1 W/(m2 sr um), brightness temperature K2 / ln(K1 / L + 1).
L1_REFLECTANCE = (2.0e-5, -0.1)
L1_RADIANCE = (3.342e-4, 0.1)
L1_THERMAL_K = {"B10": (774.8853, 1321.0789), "B11": (480.8883, 1201.1442)}
# Collection 2 Level-2: surface reflectance = 2.75e-5 DN - 0.2; surface temperature = 0.00341802 DN + 149 K.
L2_REFLECTANCE = (2.75e-5, -0.2)
L2_TEMPERATURE = (0.00341802, 149.0)
LANDSAT_ANGLES = ("VAA", "VZA", "SAA", "SZA")


def _landsat_qa(name: str, keys: tuple[str, ...], fmt: str = "UINT16", nodata: float | None = None) -> BandSpec:
    return BandSpec(name, keys, 30.0, 1.0, 0.0, nodata, DN, source_format=fmt)


def _landsat_common() -> dict[str, BandSpec]:
    return {
        # QA_PIXEL: bit 0 is the fill flag, so a fill pixel reads 1 (decodeL8C2Qa(1).fill == 1).
        "BQA": _landsat_qa("BQA", ("BQA", "qa_pixel", "QA_PIXEL"), nodata=1.0),
        "QA_RADSAT": _landsat_qa("QA_RADSAT", ("QA_RADSAT", "qa_radsat")),
    }


def landsat_ot_l1_bands() -> dict[str, BandSpec]:
    """B01..B09 top-of-atmosphere reflectance, B10/B11 brightness temperature (K), BQA, QA_RADSAT,
    VAA/VZA/SAA/SZA (degrees), dataMask."""
    scale, offset = L1_REFLECTANCE
    bands = {
        n: BandSpec(n, (n, c, n.lower()), r, scale, offset, 0.0, "REFLECTANCE", offers_dn=False, source_format="UINT16")
        for n, r, c in _OT_L1_OPTICAL
    }
    for name, common in (("B10", "lwir11"), ("B11", "lwir12")):
        bands[name] = BandSpec(
            name,
            (name, common, name.lower()),
            30.0,
            *L1_RADIANCE,
            0.0,
            "BRIGHTNESS_TEMPERATURE",
            offers_dn=False,
            planck=L1_THERMAL_K[name],
            source_format="UINT16",
        )
    bands.update(_landsat_common())
    for name in LANDSAT_ANGLES:  # Collection 2 angle bands: int16 hundredths of a degree
        bands[name] = BandSpec(
            name, (name, name.lower()), 30.0, 0.01, 0.0, None, "DEGREES", offers_dn=False, source_format="INT16"
        )
    bands["dataMask"] = data_mask_band(30.0)
    return bands


def landsat_ot_l2_bands() -> dict[str, BandSpec]:
    """B01..B07 surface reflectance, B10 surface temperature (K), QA and surface-temperature
    auxiliary bands, dataMask."""
    scale, offset = L2_REFLECTANCE
    bands = {
        n: BandSpec(n, (n, c, n.lower()), r, scale, offset, 0.0, "REFLECTANCE", offers_dn=False, source_format="UINT16")
        for n, r, c in _OT_L1_OPTICAL[:7]
    }
    bands["B10"] = BandSpec(
        "B10", ("B10", "lwir11", "b10"), 30.0, *L2_TEMPERATURE, 0.0, "KELVIN", offers_dn=False, source_format="UINT16"
    )
    bands.update(_landsat_common())
    bands["SR_QA_AEROSOL"] = _landsat_qa("SR_QA_AEROSOL", ("SR_QA_AEROSOL", "qa_aerosol"), "UINT8")
    # name, asset keys, scale, unit (Collection 2 Level-2 surface-temperature products, nodata -9999)
    for name, keys, scale, unit in (
        ("ST_QA", ("ST_QA", "qa"), 0.01, "KELVIN"),
        ("ST_TRAD", ("ST_TRAD", "trad"), 0.001, "RADIANCE"),
        ("ST_URAD", ("ST_URAD", "urad"), 0.001, "RADIANCE"),
        ("ST_DRAD", ("ST_DRAD", "drad"), 0.001, "RADIANCE"),
        ("ST_ATRAN", ("ST_ATRAN", "atran"), 0.0001, "FRACTION"),
        ("ST_EMIS", ("ST_EMIS", "emis"), 0.0001, "FRACTION"),
        ("ST_EMSD", ("ST_EMSD", "emsd"), 0.0001, "FRACTION"),
        ("ST_CDIST", ("ST_CDIST", "cdist"), 0.01, "KILOMETERS"),
    ):
        bands[name] = BandSpec(name, keys, 30.0, scale, 0.0, -9999.0, unit, offers_dn=False, source_format="INT16")
    bands["dataMask"] = data_mask_band(30.0)
    return bands


# Copernicus DEM ----------------------------------------------------------------------------------


def dem_bands() -> dict[str, BandSpec]:
    """DEM: heights in metres (float32; DN equal the heights), dataMask."""
    return {
        "DEM": BandSpec("DEM", ("DEM", "data", "elevation"), 30.0, 1.0, 0.0, None, "METERS", source_format="FLOAT32"),
        "dataMask": data_mask_band(30.0),
    }


# Presets ------------------------------------------------------------------------------------------

OPTICAL, SAR, ELEVATION = "optical", "sar", "elevation"


@dataclass(frozen=True)
class PresetTraits:
    """What a preset says about its collection beyond the bands.

    `family`: optical | sar | elevation (selects the processing options that apply); `static`: the
    data has no acquisition time (a timeRange is optional and ignored); `nodata_fill`: what every
    band of a no-data pixel holds (0, or NaN on Landsat); `cloud_cover`: scenes carry a cloud cover,
    so `leastCC` and `maxCloudCoverage` make sense; `stored_coefficient` (SAR): the backscatter
    coefficient the assets hold, in linear power.
    """

    family: str = OPTICAL
    static: bool = False
    nodata_fill: float = 0.0
    cloud_cover: bool = True
    stored_coefficient: str = "BETA0"


@dataclass(frozen=True)
class Preset:
    bands: Callable[[], dict[str, BandSpec]]
    traits: PresetTraits


PRESETS: dict[str, Preset] = {
    "sentinel-2-l1c": Preset(sentinel2_l1c_bands, PresetTraits()),
    "sentinel-2-l2a": Preset(sentinel2_l2a_bands, PresetTraits()),
    "sentinel-1-grd": Preset(sentinel1_grd_bands, PresetTraits(family=SAR, cloud_cover=False)),
    "landsat-ot-l1": Preset(landsat_ot_l1_bands, PresetTraits(nodata_fill=math.nan)),
    "landsat-ot-l2": Preset(landsat_ot_l2_bands, PresetTraits(nodata_fill=math.nan)),
    "dem": Preset(dem_bands, PresetTraits(family=ELEVATION, static=True, cloud_cover=False)),
}
PRESET_NAMES = tuple(PRESETS)


def preset_bands(name: str) -> dict[str, BandSpec]:
    """A fresh copy of the bands of a built-in preset; KeyError for an unknown name."""
    return PRESETS[name].bands()


def preset_traits(name: str | None) -> PresetTraits:
    """The traits of a preset; the optical defaults for None."""
    return PRESETS[name].traits if name else PresetTraits()
