"""validate_evalscript: the ANALYSE-time check of a request's evalscript, before any tile runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from eobatch.errors import EvalscriptError
from eobatch.evalscript.engine import Evalscript, EvalscriptEngine
from eobatch.evalscript.spec import USERDATA_ID, SetupInfo
from eobatch.evalscript.synthetic import synthetic_samples, synthetic_scenes

BandLookup = Callable[[str | None], Iterable[str] | None] | Mapping[str | None, Iterable[str]]
ALWAYS_AVAILABLE = frozenset({"dataMask"})
SYNTHETIC_SHAPE = (4, 4)


def _available(band_lookup: BandLookup, datasource: str | None) -> set[str] | None:
    if callable(band_lookup):
        found = band_lookup(datasource)
    else:
        found = band_lookup.get(datasource)
        if found is None and datasource is None and len(band_lookup) == 1:
            found = next(iter(band_lookup.values()))
    return None if found is None else set(found)


def check_responses(setup: SetupInfo, response_ids: Iterable[str]) -> None:
    """Every requested responses[].identifier must be an output id of setup() or `userdata`."""
    ids = [o.id for o in setup.outputs]
    for rid in response_ids:
        if rid != USERDATA_ID and rid not in ids:
            raise EvalscriptError(
                f"Output {rid!r} requested in output.responses is not defined in the "
                f"evalscript's setup(); its outputs are: {', '.join(ids)} (plus userdata)."
            )


def check_bands(setup: SetupInfo, band_lookup: BandLookup) -> None:
    """Every band of every input must exist in the collection its datasource refers to."""
    for spec in setup.inputs:
        available = _available(band_lookup, spec.datasource)
        if available is None:
            raise EvalscriptError(
                f"setup() input datasource {spec.datasource!r} matches no input.data[].id of the request."
            )
        for band in spec.bands:
            if band in available or band in ALWAYS_AVAILABLE:
                continue
            hint = [b for b in available if b.lower() == band.lower()]
            extra = f" (did you mean {hint[0]!r}? band names are case-sensitive)" if hint else ""
            where = "" if spec.datasource is None else f" of datasource {spec.datasource!r}"
            raise EvalscriptError(
                f"Band {band!r}{where} requested in setup() does not exist in the collection"
                f"{extra}; available: {', '.join(sorted(available))}."
            )


def _try_sample(script: Evalscript, time_range: tuple[datetime, datetime] | None = None) -> None:
    """Run the hooks and evaluatePixel on a small synthetic tile so runtime errors surface now.

    Synthetic scenes are spread over the request's time range when given (scripts that pick scenes by
    date then see dates they expect), else over the 400 days before 2024-06-30.
    """
    if time_range is not None:
        time_from, now = time_range
    else:
        now = datetime(2024, 6, 30, tzinfo=UTC)
        time_from = now - timedelta(days=400)
    counts: dict[str | None, int] = {}
    scenes = {}
    for spec in script.setup.inputs:
        listed = synthetic_scenes(spec.mosaicking, time_from, now)
        kept = script.filter_scenes(spec.datasource, listed, time_from, now)
        scenes[spec.datasource] = kept
    samples = synthetic_samples(script.setup, scenes, SYNTHETIC_SHAPE)
    for spec in script.setup.inputs:
        counts[spec.datasource] = len(samples[spec.datasource])
    script.update_output(counts)
    script.evaluate(samples, scenes, shape=SYNTHETIC_SHAPE, compiled=False)  # V8 errors, no compile cost
    script.output_metadata()


def validate_evalscript(
    source: str,
    response_ids: Iterable[str],
    band_lookup: BandLookup,
    engine: EvalscriptEngine | None = None,
    time_range: tuple[datetime, datetime] | None = None,
    *,
    synthetic: bool = True,
) -> SetupInfo:
    """Compile, run setup(), check outputs and bands, evaluate a synthetic sample; EvalscriptError on failure.

    `band_lookup` maps a datasource id (None: the single, unnamed input) to the band names its
    collection serves, as a callable or a dict. `synthetic=False` skips the synthetic sample (the
    caller evaluates a real one: engine/sample_window.py).
    """
    engine = engine or EvalscriptEngine()
    with engine.load(source) as script:
        check_responses(script.setup, response_ids)
        check_bands(script.setup, band_lookup)
        if synthetic:
            _try_sample(script, time_range)
        return script.setup
