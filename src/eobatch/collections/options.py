"""Collection-specific request options (`input.data[].dataFilter` / `.processing`), checked and parsed.

Sentinel-1 GRD: `processing.backCoeff`, `orthorectify`, `demInstance`, `radiometricTerrainOversampling`,
`speckleFilter`; `dataFilter.acquisitionMode`, `polarization`, `orbitDirection`, `resolution`,
`timeliness`. DEM: `dataFilter.demInstance`, `processing.egm` (only false). What each one does in eobatch is in
docs/collections.md ("Sentinel-1 GRD", "Copernicus DEM"). Pure functions; BadRequest names the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eobatch.errors import BadRequest, Violation

BACK_COEFFICIENTS = ("BETA0", "SIGMA0_ELLIPSOID", "GAMMA0_ELLIPSOID", "GAMMA0_TERRAIN")
DEM_INSTANCES = ("MAPZEN", "COPERNICUS", "COPERNICUS_30", "COPERNICUS_90")
SPECKLE_FILTERS = ("NONE", "LEE")
MAX_SPECKLE_WINDOW = 7
_S1_FILTERS = {
    "acquisitionMode": ("SM", "IW", "EW", "WV"),
    "polarization": ("SH", "SV", "DH", "DV", "HH", "HV", "VV", "VH"),
    "orbitDirection": ("ASCENDING", "DESCENDING"),
    "resolution": ("HIGH", "MEDIUM"),
    "timeliness": ("NRT10m", "NRT1h", "NRT3h", "Fast24h", "Offline", "Reprocessing", "ArchNormal"),
}


@dataclass(frozen=True)
class SarProcessing:
    """Sentinel-1 processing options: the backscatter coefficient and the speckle filter window."""

    back_coeff: str = "GAMMA0_ELLIPSOID"
    orthorectify: bool = False
    dem_instance: str = "MAPZEN"
    speckle_window: tuple[int, int] | None = None  # (x, y) for LEE, None for no filter


def _fail(parameter: str, violation: str) -> None:
    raise BadRequest(f"{parameter}: {violation}", [Violation(parameter, violation)])


def _choice(value: Any, allowed: tuple[str, ...], parameter: str) -> str:
    if not isinstance(value, str) or value.upper() not in (a.upper() for a in allowed):
        _fail(parameter, f"{value!r} is not allowed; allowed: {', '.join(allowed)}")
    return next(a for a in allowed if a.upper() == value.upper())


def _flag(value: Any, parameter: str) -> bool:
    """A JSON boolean, or the strings TRUE/FALSE that Sentinel Hub's documentation writes."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    _fail(parameter, f"must be true or false, got {value!r}")
    return False


def _window(value: Any, parameter: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SPECKLE_WINDOW:
        _fail(parameter, f"must be an integer from 1 to {MAX_SPECKLE_WINDOW}, got {value!r}")
    return int(value)


def _object(value: Any, parameter: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(parameter, f"must be an object, got {value!r}")
    return value


def parse_sar_processing(processing: dict | None, prefix: str = "processing") -> SarProcessing:
    """The Sentinel-1 options of `input.data[].processing`; BadRequest for bad values, including
    GAMMA0_TERRAIN without orthorectification (as Sentinel Hub)."""
    processing = _object(processing, prefix)
    back = _choice(processing.get("backCoeff", "GAMMA0_ELLIPSOID"), BACK_COEFFICIENTS, f"{prefix}.backCoeff")
    ortho = _flag(processing.get("orthorectify", False), f"{prefix}.orthorectify")
    dem = _choice(processing.get("demInstance", "MAPZEN"), DEM_INSTANCES, f"{prefix}.demInstance")
    oversampling = processing.get("radiometricTerrainOversampling")
    if oversampling is not None and (
        isinstance(oversampling, bool) or not isinstance(oversampling, int | float) or not 1 <= oversampling <= 4
    ):
        _fail(f"{prefix}.radiometricTerrainOversampling", f"must be a number from 1 to 4, got {oversampling!r}")
    if back == "GAMMA0_TERRAIN" and not ortho:
        _fail(f"{prefix}.backCoeff", "GAMMA0_TERRAIN (radiometric terrain correction) needs orthorectify: true")
    speckle = _object(processing.get("speckleFilter"), f"{prefix}.speckleFilter")
    window = None
    if speckle:
        kind = _choice(speckle.get("type", "NONE"), SPECKLE_FILTERS, f"{prefix}.speckleFilter.type")
        if kind == "LEE":
            window = (
                _window(speckle.get("windowSizeX"), f"{prefix}.speckleFilter.windowSizeX"),
                _window(speckle.get("windowSizeY"), f"{prefix}.speckleFilter.windowSizeY"),
            )
    return SarProcessing(back, ortho, dem, window)


def parse_egm(processing: dict | None, prefix: str = "processing") -> bool:
    """DEM `processing.egm`: true adds the geoid height (ellipsoidal instead of orthometric heights)."""
    return _flag(_object(processing, prefix).get("egm", False), f"{prefix}.egm")


def check_options(family: str, data_filter: dict | None, processing: dict | None, index: int = 0) -> None:
    """Check the collection-specific options of request input `index` for a collection `family`
    (optical | sar | elevation); BadRequest names the parameter."""
    where = f"processRequest.input.data[{index}]"
    data_filter = _object(data_filter, f"{where}.dataFilter")
    if family == "sar":
        for key, allowed in _S1_FILTERS.items():
            if data_filter.get(key) is not None:
                _choice(data_filter[key], allowed, f"{where}.dataFilter.{key}")
        parse_sar_processing(processing, f"{where}.processing")
    elif family == "elevation":
        if data_filter.get("demInstance") is not None:
            _choice(data_filter["demInstance"], DEM_INSTANCES, f"{where}.dataFilter.demInstance")
        if parse_egm(processing, f"{where}.processing"):
            _fail(
                f"{where}.processing.egm",
                "ellipsoidal heights are not available: eobatch has no geoid model, heights are orthometric",
            )
