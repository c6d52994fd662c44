"""Typed results of `setup()`: inputs, outputs, mosaicking; and their normalisation from raw JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eobatch.errors import EvalscriptError

SAMPLE_TYPES = ("AUTO", "INT8", "UINT8", "INT16", "UINT16", "FLOAT32")
MOSAICKINGS = ("SIMPLE", "ORBIT", "TILE")
DEFAULT_UNIT = "DEFAULT"  # the collection's default unit for that band
USERDATA_ID = "userdata"


@dataclass(frozen=True)
class InputSpec:
    """One input of setup(): its datasource id (None = the single, unnamed input) and bands."""

    datasource: str | None
    bands: tuple[str, ...]
    units: tuple[str, ...]  # upper-case, one per band; DEFAULT = the collection's default unit
    mosaicking: str  # SIMPLE | ORBIT | TILE


@dataclass(frozen=True)
class OutputSpec:
    """One output raster of setup()."""

    id: str
    bands: int
    sample_type: str
    nodata_value: float | None


@dataclass(frozen=True)
class SetupInfo:
    """setup() normalised."""

    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    mosaicking: str


@dataclass
class SceneInfo:
    """One catalogue scene as the script sees it (`scenes.tiles[i]`, `scenes.orbits[k].tiles[j]`)."""

    id: str
    date: datetime
    cloud_cover: float | None
    data_path: str
    tile_id: str


def _js(value: Any) -> str:
    """A value from the script as JavaScript writes it: a missing field (None) is `undefined`."""
    if value is None:
        return "undefined"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value)


def _fail(message: str, hook: str = "setup()") -> EvalscriptError:
    return EvalscriptError(f"{hook}: {message}")


def _mosaicking(value: Any, default: str, where: str) -> str:
    if value is None:
        return default
    name = str(value).upper()
    if name not in MOSAICKINGS:
        raise _fail(f"{where}mosaicking {_js(value)} is unknown; allowed: {', '.join(MOSAICKINGS)}.")
    return name


def _bands(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(b, str) and b for b in value):
        raise _fail(f"{where}bands must be a non-empty array of band names, got {_js(value)}.")
    if len(set(value)) != len(value):
        raise _fail(f"{where}bands lists a band twice: {_js(value)}.")
    return tuple(value)


def _units(value: Any, bands: tuple[str, ...], where: str) -> tuple[str, ...]:
    if value is None:
        return (DEFAULT_UNIT,) * len(bands)
    if isinstance(value, str):
        return (value.upper(),) * len(bands)
    if isinstance(value, list) and all(isinstance(u, str) for u in value):
        if len(value) != len(bands):
            raise _fail(
                f"{where}units has {len(value)} entries for {len(bands)} bands; give one unit "
                "per band or a single string for all."
            )
        return tuple(u.upper() for u in value)
    raise _fail(f"{where}units must be a string or an array of strings, got {_js(value)}.")


def _inputs(raw: Any, mosaicking: str) -> tuple[InputSpec, ...]:
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise _fail("input must be an array of band names or of input objects.")
    if all(isinstance(b, str) for b in raw):
        bands = _bands(raw, "input ")
        return (InputSpec(None, bands, (DEFAULT_UNIT,) * len(bands), mosaicking),)
    specs: list[InputSpec] = []
    for n, item in enumerate(raw):
        where = f"input[{n}]."
        if not isinstance(item, dict):
            raise _fail(f"{where[:-1]} must be an object with bands, got {_js(item)}.")
        bands = _bands(item.get("bands"), where)
        ds = item.get("datasource")
        specs.append(
            InputSpec(
                datasource=None if ds is None else str(ds),
                bands=bands,
                units=_units(item.get("units"), bands, where),
                mosaicking=_mosaicking(item.get("mosaicking"), mosaicking, where),
            )
        )
    keys = [s.datasource for s in specs]
    if len(specs) > 1 and (None in keys or len(set(keys)) != len(keys)):
        raise _fail(
            "with several inputs (data fusion) each needs its own datasource id matching a request "
            f"input.data[].id; got {_js(keys)}."
        )
    return tuple(specs)


def _bands_count(value: Any, where: str, minimum: int, hook: str = "setup()") -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise _fail(f"{where}bands must be an integer, got {_js(value)}.", hook)
    if value < minimum:
        raise _fail(f"{where}bands must be at least {minimum}, got {_js(value)}.", hook)
    return int(value)


NON_FINITE = ("NaN", "Infinity", "-Infinity")


def _output(item: Any, n: int) -> OutputSpec:
    where = f"output[{n}]."
    if not isinstance(item, dict):
        raise _fail(f"output[{n}] must be an object with id and bands, got {_js(item)}.")
    out_id = item.get("id", "default")
    if not isinstance(out_id, str) or not out_id:
        raise _fail(f"{where}id must be a non-empty string, got {_js(out_id)}.")
    if out_id == USERDATA_ID:
        raise _fail(f'{where}id "userdata" is reserved for outputMetadata.userData.')
    sample_type = item.get("sampleType", "AUTO")
    if not isinstance(sample_type, str) or sample_type.upper() not in SAMPLE_TYPES:
        raise _fail(f"{where}sampleType {_js(sample_type)} is unknown; allowed: {', '.join(SAMPLE_TYPES)}.")
    nodata = item.get("nodataValue")
    if nodata in NON_FINITE:
        nodata = float(nodata)  # the runtime sends NaN and the infinities by name
    if nodata is not None and (isinstance(nodata, bool) or not isinstance(nodata, int | float)):
        raise _fail(f"{where}nodataValue must be a number, got {_js(nodata)}.")
    return OutputSpec(
        out_id,
        _bands_count(item.get("bands"), where, 1),
        sample_type.upper(),
        None if nodata is None else float(nodata),
    )


def normalise_outputs(raw: Any) -> tuple[OutputSpec, ...]:
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise _fail("output must be an output object or a non-empty array of them.")
    outs = tuple(_output(item, n) for n, item in enumerate(raw))
    ids = [o.id for o in outs]
    if len(set(ids)) != len(ids):
        raise _fail(f"output ids must be unique, got {_js(ids)}.")
    return outs


def normalise_setup(raw: Any) -> SetupInfo:
    """Normalise the JSON-decoded return value of setup() into a SetupInfo, or raise EvalscriptError."""
    if not isinstance(raw, dict):
        raise _fail(f"must return an object with input and output, got {_js(raw)}.")
    mosaicking = _mosaicking(raw.get("mosaicking"), "SIMPLE", "")
    if "input" not in raw:
        raise _fail("the returned object has no input.")
    if "output" not in raw:
        raise _fail("the returned object has no output.")
    return SetupInfo(_inputs(raw["input"], mosaicking), normalise_outputs(raw["output"]), mosaicking)


def with_band_counts(outputs: tuple[OutputSpec, ...], bands: dict[str, Any]) -> tuple[OutputSpec, ...]:
    """Apply the band counts updateOutput() left in its `outputs` argument."""
    updated = []
    for o in outputs:
        value = bands.get(o.id, o.bands)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        updated.append(
            OutputSpec(
                o.id, _bands_count(value, f"outputs.{o.id}.", 0, "updateOutput()"), o.sample_type, o.nodata_value
            )
        )
    return tuple(updated)
