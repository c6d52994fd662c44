"""Evalscript source handling: version detection and the V3 "simple script" form."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from eobatch.errors import EvalscriptError

_V3 = re.compile(r"^\s*//\s*VERSION\s*=\s*3\b")
_OTHER_VERSION = re.compile(r"^\s*//\s*VERSION\s*=\s*(\w+)")
_HEADER_LINES = 5
SCRIPT_URL = "evalscript.js"

# Identifiers that name bands in the collections eobatch knows (S2, Landsat, S1, DEM, S3, S5P, MODIS...).
_BAND = re.compile(
    r"(?<![\w$.])(B\d{1,2}A?|dataMask|DEM|VV|VH|HH|HV|SCL|AOT|SNW|CLD|CLP|CLM|WVP|BQA|QA_PIXEL|"
    r"sunAzimuthAngles|sunZenithAngles|viewAzimuthMean|viewZenithMean|localIncidenceAngle|"
    r"scatteringArea|shadowMask|NO2|O3|SO2|CO|HCHO|CH4|AER_AI_340_380|AER_AI_354_388|"
    r"CLOUD_BASE_PRESSURE|CLOUD_TOP_PRESSURE|CLOUD_BASE_HEIGHT|CLOUD_TOP_HEIGHT|"
    r"CLOUD_OPTICAL_THICKNESS|CLOUD_FRACTION|S\d|F\d|S\d_[a-z]+)(?![\w$])"
)
_COMMENT_OR_STRING = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|`[^`]*`", re.S)


@dataclass(frozen=True)
class PreparedSource:
    """The text V8 runs, and how its lines map to the user's lines."""

    code: str
    simple: bool
    simple_bands: tuple[str, ...]


def check_version(source: str) -> None:
    """Accept VERSION=3 (header on any of the first lines, spaces allowed); reject V1/V2 precisely."""
    head = source.splitlines()[:_HEADER_LINES]
    if any(_V3.match(line) for line in head):
        return
    for line in head:
        m = _OTHER_VERSION.match(line)
        if m:
            raise EvalscriptError(
                f"Evalscript VERSION={m.group(1)} is not supported; only VERSION=3 "
                "scripts run here (start the script with //VERSION=3).",
                line=1,
            )
    raise EvalscriptError(
        "Evalscript has no //VERSION=3 header; only VERSION=3 scripts are supported "
        "(put //VERSION=3 on the first line).",
        line=1,
    )


def _code_only(source: str) -> str:
    return _COMMENT_OR_STRING.sub(lambda m: " " if m.group(0)[0] in "/" else '""', source)


def is_simple_script(source: str) -> bool:
    """A V3 script without setup() and evaluatePixel(): bands are globals, the body ends in `return`."""
    code = _code_only(source)
    return not re.search(r"\bsetup\b", code) and not re.search(r"\bevaluatePixel\b", code)


def simple_script_bands(source: str) -> tuple[str, ...]:
    """Band names a simple script reads, in order of first use; dataMask always included."""
    found: list[str] = []
    for m in _BAND.finditer(_code_only(source)):
        if m.group(1) not in found:
            found.append(m.group(1))
    if "dataMask" not in found:
        found.append("dataMask")
    return tuple(found)


def prepare(source: str) -> PreparedSource:
    """Check the version and, for a simple script, wrap it into evaluatePixel (line numbers kept)."""
    check_version(source)
    if not is_simple_script(source):
        return PreparedSource(source + f"\n//# sourceURL={SCRIPT_URL}\n", False, ())
    bands = simple_script_bands(source)
    decl = "".join(f"var {b} = __samples[{json.dumps(b)}];" for b in bands)
    # The wrapper header shares line 1 with the script, so V8's line numbers are the user's.
    code = f"function evaluatePixel(__samples) {{ {decl} {source}\n}}\n//# sourceURL={SCRIPT_URL}\n"
    return PreparedSource(code, True, bands)
