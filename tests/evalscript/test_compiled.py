"""Differential tests: the compiled (numba) path writes what the V8 path writes.

Every corpus script runs on both paths over synthetic inputs (with zeros, so divisions by zero and
index() edge cases occur) and, where its bands exist there, over real Sentinel-2 L1C pixels from
../shared/data; the outputs after sampleType conversion must be identical (FLOAT32: within one unit
in the last place). Generated scripts (hypothesis, a small expression grammar) are compared too. The
last test reports how many corpus scripts ran compiled and fails if that share drops.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.enums import Resampling

from eobatch.errors import EvalscriptError
from eobatch.evalscript import EvalscriptEngine, SceneInfo, to_sample_type
from eobatch.evalscript.synthetic import synthetic_samples, synthetic_scenes

from .conftest import CORPUS, SHARED
from .test_corpus import DEFAULT_RANGE, KNOWN_FAILURES, SCRIPTS, TIME_RANGES

SHAPE = (6, 7)
REAL = SHARED / "data" / "s2-l1c-real"
REAL_BANDS = {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"}
# Scripts that stay in V8, each with the reason the compiler gives (the list may only shrink).
EXPECTED_V8 = {
    "l8_land_surface_temperature_mapping.js": "array property",  # samples[i] on [sample]
    "s1_sar_multi-temporal_backscatter_coefficient_composite.js": "Math.log",
    "s2_ccc.js": "Math.cos",
    "s2_cloudless_mosaic_values.js": "evaluatePixel returns",
    "s2_deep_bais2.js": "longer than",
    "s2_fcover.js": "Math.cos",
    "s2_forest_cut_temporal_detection.js": "changes inside a loop",  # arrays grown per pixel
    "s2_interpolated_time_series.js": "changes inside a loop",
    "s2_monthly_snow_report.js": "changes inside a loop",
}
PATHS: dict[str, str] = {}


@pytest.fixture(scope="module")
def engines():
    compiled = EvalscriptEngine(timeout_s=60, max_memory_mb=256, compiled=True, compile_min_pixels=0)
    v8 = EvalscriptEngine(timeout_s=60, max_memory_mb=256, compiled=False)
    return compiled, v8


def _with_zeros(samples):
    """Put exact zeros (and one negative value) into every band but dataMask: edge cases of / and index()."""
    for stack in samples.values():
        for k, sample in enumerate(stack):
            for band, values in sample.items():
                if band != "dataMask":
                    values.flat[k % values.size] = 0.0
                    values.flat[(k + 3) % values.size] = -0.0
    return samples


def _evaluate(engine, source, scenes_for, samples_for):
    """(outputs converted to their sample types, path, reason) or the EvalscriptError raised."""
    with engine.load(source) as script:
        scenes = {spec.datasource: scenes_for(script, spec) for spec in script.setup.inputs}
        samples = samples_for(script, scenes)
        outputs = script.update_output({k: len(v) for k, v in samples.items()}, scenes)
        raw = script.evaluate(samples, scenes, shape=SHAPE)
        written = {o.id: to_sample_type(raw[o.id], o.sample_type) for o in outputs}
        return written, script.evaluation_path, script.fallback_reason


def _assert_same(fast: dict, slow: dict) -> None:
    assert fast.keys() == slow.keys()
    for key, expected in slow.items():
        got = fast[key]
        assert got.dtype == expected.dtype and got.shape == expected.shape
        if got.dtype == np.float32:
            finite = np.isfinite(expected)
            assert np.array_equal(np.isnan(got), np.isnan(expected))
            assert np.array_equal(got[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)])
            np.testing.assert_array_max_ulp(got[finite], expected[finite], maxulp=1)
        else:
            assert np.array_equal(got, expected), key


def _synthetic(name):
    time_from, time_to = TIME_RANGES.get(name, DEFAULT_RANGE)

    def scenes_for(script, spec):
        listed = synthetic_scenes(spec.mosaicking, time_from, time_to)
        return script.filter_scenes(spec.datasource, listed, time_from, time_to)

    def samples_for(script, scenes):
        return _with_zeros(synthetic_samples(script.setup, scenes, SHAPE))

    return scenes_for, samples_for


@pytest.mark.parametrize("name", SCRIPTS)
def test_corpus_script_same_on_both_paths(engines, name):
    compiled, v8 = engines
    source = (CORPUS / name).read_text(encoding="utf-8")
    scenes_for, samples_for = _synthetic(name)
    if name in KNOWN_FAILURES:
        for engine in engines:
            with pytest.raises(EvalscriptError):
                _evaluate(engine, source, scenes_for, samples_for)
        PATHS[name] = "v8"
        return
    fast, path, reason = _evaluate(compiled, source, scenes_for, samples_for)
    slow, slow_path, _ = _evaluate(v8, source, scenes_for, samples_for)
    assert slow_path == "v8"
    _assert_same(fast, slow)
    PATHS[name] = path
    if name in EXPECTED_V8:
        assert path == "v8" and EXPECTED_V8[name] in reason
    else:
        assert path == "compiled", reason


def _real_scenes() -> list[tuple[SceneInfo, Path]]:
    folders = sorted(p for p in REAL.iterdir() if p.is_dir())
    out = []
    for n, folder in enumerate(reversed(folders)):  # newest first, like mostRecent
        stamp = datetime.strptime(folder.name.split("_")[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        out.append((SceneInfo(folder.name, stamp, None, str(folder), f"T{n}"), folder))
    return out


def _read_real(folder: Path, band: str) -> np.ndarray:
    with rasterio.open(folder / f"{band}.tif") as ds:
        raw = ds.read(1, out_shape=SHAPE, resampling=Resampling.nearest)
    return raw


def _real_cases() -> list[str]:
    """S2 corpus scripts whose bands all exist in the real L1C sample."""
    engine = EvalscriptEngine(timeout_s=20, max_memory_mb=128, compiled=False)
    names = []
    for name in SCRIPTS:
        if name in KNOWN_FAILURES or not name.startswith("s2_"):
            continue
        with engine.load((CORPUS / name).read_text(encoding="utf-8")) as probe:
            bands = {b for spec in probe.setup.inputs for b in spec.bands}
        if bands <= REAL_BANDS | {"dataMask"}:
            names.append(name)
    return names


@pytest.mark.parametrize("name", _real_cases())
def test_corpus_script_same_on_real_sentinel2_pixels(engines, name):
    compiled, v8 = engines
    source = (CORPUS / name).read_text(encoding="utf-8")
    scenes = _real_scenes()
    cache: dict[tuple[str, str], np.ndarray] = {}

    def sample(folder: Path, wanted) -> dict[str, np.ndarray]:
        out = {}
        for band in wanted:
            source_band = "B04" if band == "dataMask" else band
            key = (str(folder), source_band)
            if key not in cache:
                cache[key] = _read_real(folder, source_band)
            raw = cache[key]
            out[band] = (raw != 0).astype(np.float32) if band == "dataMask" else (raw * 1e-4).astype(np.float32)
        return out

    def scenes_for(script, spec):
        listed = [s for s, _ in scenes] if spec.mosaicking != "SIMPLE" else [scenes[0][0]]
        time_from, time_to = datetime(2015, 7, 1, tzinfo=UTC), datetime(2015, 9, 10, tzinfo=UTC)
        return script.filter_scenes(spec.datasource, listed, time_from, time_to)

    def samples_for(script, chosen):
        folders = {s.id: f for s, f in scenes}
        out = {}
        for spec in script.setup.inputs:
            listed = chosen[spec.datasource]
            picked = listed[:1] if spec.mosaicking == "SIMPLE" else listed
            out[spec.datasource] = [sample(folders[s.id], spec.bands) for s in picked]
        return out

    fast, path, reason = _evaluate(compiled, source, scenes_for, samples_for)
    slow, _, _ = _evaluate(v8, source, scenes_for, samples_for)
    _assert_same(fast, slow)
    assert path == ("v8" if name in EXPECTED_V8 else "compiled"), reason


# -- generated scripts ------------------------------------------------------------------------------

BANDS = ("B02", "B04", "B08")
_leaf = st.one_of(
    st.sampled_from([f"s.{b}" for b in BANDS]),
    st.sampled_from(["0", "1", "0.5", "-2", "3.25", "1e-3", "NaN", "Infinity", "true", "null"]),
)


def _extend(inner):
    binary = st.tuples(
        inner,
        st.sampled_from(["+", "-", "*", "/", "%", "<", ">=", "==", "===", "!=", "&&", "||", "&", "|", "<<", ">>"]),
        inner,
    ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    # A space after the operator: "-" before the literal "-2" must not read as the decrement "--".
    unary = st.tuples(st.sampled_from(["-", "!", "+", "~"]), inner).map(lambda t: f"({t[0]} {t[1]})")
    ternary = st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})")
    calls = st.tuples(
        st.sampled_from(
            ["Math.abs", "Math.floor", "Math.ceil", "Math.sqrt", "Math.round", "Math.sign", "Math.trunc", "isNaN"]
        ),
        inner,
    ).map(lambda t: f"{t[0]}({t[1]})")
    pairs = st.tuples(st.sampled_from(["Math.min", "Math.max", "index"]), inner, inner).map(
        lambda t: f"{t[0]}({t[1]}, {t[2]})"
    )
    square = inner.map(lambda e: f"Math.pow({e}, 2)")  # esprima 4 predates the ** operator
    return st.one_of(binary, unary, ternary, calls, pairs, square)


EXPRESSIONS = st.recursive(_leaf, _extend, max_leaves=8)


def _generated(expr: str, sample_type: str, statement: str) -> str:
    return (
        "//VERSION=3\n"
        f"function setup() {{ return {{input: {list(BANDS)}, output: {{bands: 2, sampleType: '{sample_type}'}}}}; }}\n"
        f"function evaluatePixel(s) {{ let v = {expr};\n{statement}\n return [v, {expr} ? 1 : -1]; }}\n"
    )


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 1e-8, 3.0e9, np.nan, np.inf, -np.inf], dtype=np.float32)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expr=EXPRESSIONS,
    sample_type=st.sampled_from(["FLOAT32", "UINT8", "INT16", "AUTO"]),
    statement=st.sampled_from(
        ["", "if (v > 0.25) { v = v * 2; } else { v = -v; }", "for (let i = 0; i < 3; i++) { v = v + i; }"]
    ),
    seed=st.integers(0, 2**16),
)
def test_generated_scripts_same_on_both_paths(engines, expr, sample_type, statement, seed):
    compiled, v8 = engines
    rng = np.random.default_rng(seed)
    bands = {b: rng.choice(SPECIAL, size=SHAPE) for b in BANDS}
    bands["B08"] = rng.uniform(-1, 1, size=SHAPE).astype(np.float32)
    source = _generated(expr, sample_type, statement)

    def scenes_for(script, spec):
        return []

    def samples_for(script, scenes):
        return {None: [{b: v.copy() for b, v in bands.items()}]}

    fast, path, reason = _evaluate(compiled, source, scenes_for, samples_for)
    slow, _, _ = _evaluate(v8, source, scenes_for, samples_for)
    _assert_same(fast, slow)
    # the grammar mixes types; a value that is a number on one path and a boolean on another stays in V8
    assert path == "compiled" or any(m in reason for m in MIXED_TYPES), reason


MIXED_TYPES = ("on one path", "a value changes from")


def test_compiled_share_of_the_corpus_is_reported(engines):
    """Prints the share of corpus scripts that run compiled (reusing the corpus cases' verdicts)."""
    for name in SCRIPTS:
        if name not in PATHS:
            scenes_for, samples_for = _synthetic(name)
            try:
                PATHS[name] = _evaluate(
                    engines[0], (CORPUS / name).read_text(encoding="utf-8"), scenes_for, samples_for
                )[1]
            except EvalscriptError:
                PATHS[name] = "v8"
    compiled = sorted(n for n, p in PATHS.items() if p == "compiled")
    in_v8 = sorted(set(PATHS) - set(compiled))
    print(f"\ncompiled path: {len(compiled)} of {len(SCRIPTS)} corpus scripts; in V8: {in_v8}")
    assert len(compiled) >= len(SCRIPTS) - len(EXPECTED_V8)


NDVI = (
    "//VERSION=3\nfunction setup() { return {input: ['B04', 'B08'], output: {bands: 1, sampleType: 'FLOAT32'}}; }\n"
    "function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }\n"
)


def test_small_evaluations_do_not_compile_but_use_a_compiled_kernel():
    engine = EvalscriptEngine(timeout_s=60, max_memory_mb=256, compile_min_pixels=400)
    source = NDVI.replace("(s.B08 + s.B04)", "(s.B04 + s.B08 + 0.125)")  # a kernel no other test compiled
    small = {None: [{"B04": np.full((4, 5), 0.25, np.float32), "B08": np.full((4, 5), 0.5, np.float32)}]}
    large = {None: [{"B04": np.full((20, 20), 0.25, np.float32), "B08": np.full((20, 20), 0.5, np.float32)}]}
    with engine.load(source) as script:
        first = script.evaluate(small, {})
        assert script.evaluation_path == "v8" and "do not pay for compiling" in script.fallback_reason
        script.evaluate(large, {})
        assert script.evaluation_path == "compiled"
    with engine.load(source) as script:  # a new tile in the same process: the kernel is there
        again = script.evaluate(small, {})
        assert script.evaluation_path == "compiled"
    assert np.array_equal(first["default"], again["default"])


def test_the_compiled_path_can_be_switched_off():
    engine = EvalscriptEngine(timeout_s=60, max_memory_mb=256, compiled=False)
    bands = {"B04": np.full((3, 3), 0.25, np.float32), "B08": np.full((3, 3), 0.5, np.float32)}
    with engine.load(NDVI) as script:
        script.evaluate({None: [bands]}, {})
        assert script.evaluation_path == "v8" and script.fallback_reason


def _pixels(engine, source, bands):
    with engine.load(source) as script:
        out = script.evaluate({None: [bands]}, {})["default"]
        return out, script.evaluation_path, script.fallback_reason


@pytest.mark.parametrize(
    ("body", "path"),
    [
        # written before read in every pixel: a per-pixel variable in effect
        ("total = 0; for (i = 0; i < 3; i++) { total = total + s.B04; } return [total];", "compiled"),
        # read before written: depends on the pixels before (a running count), V8 only
        ("count = count + 1; return [count * s.B04];", "v8"),
    ],
)
def test_globals_written_by_evaluate_pixel(engines, body, path):
    compiled, v8 = engines
    source = (
        "//VERSION=3\nvar count = 0; var total = 5; var i;\n"
        "function setup() { return {input: ['B04'], output: {bands: 1, sampleType: 'FLOAT32'}}; }\n"
        f"function evaluatePixel(s) {{ {body} }}\n"
    )
    bands = {"B04": np.arange(12, dtype=np.float32).reshape(3, 4) / 7}
    fast, got_path, reason = _pixels(compiled, source, bands)
    slow, _, _ = _pixels(v8, source, bands)
    assert np.array_equal(fast, slow)
    assert got_path == path, reason


def test_globals_written_by_evaluate_pixel_stay_in_v8_when_a_later_hook_reads_them(engines):
    source = (
        "//VERSION=3\nvar last = 0;\n"
        "function setup() { return {input: ['B04'], output: {bands: 1, sampleType: 'FLOAT32'}}; }\n"
        "function evaluatePixel(s) { last = s.B04; return [last]; }\n"
        "function updateOutputMetadata(scenes, inputData, outputMetadata) { outputMetadata.userData = last; }\n"
    )
    bands = {"B04": np.full((2, 2), 0.5, np.float32)}
    _, path, reason = _pixels(engines[0], source, bands)
    assert path == "v8" and "assignment to the global last" in reason


@pytest.mark.parametrize(
    ("expr", "path"),
    [
        ("[s.B04] - [s.B08]", "compiled"),  # Number([x]) is x (and +0 for -0)
        ("2 * [-0]", "compiled"),
        ("[s.B04, 1] * 1", "compiled"),  # "a,b" is NaN
        ("([s.B04] + [s.B08]) * 1", "v8"),  # string concatenation, then Number("0.50.25")
        ("[s.B04 * 2]", None),  # [NaN] as a band value: the driver throws on both paths
    ],
)
def test_arrays_as_numbers(engines, expr, path):
    compiled, v8 = engines
    source = (
        "//VERSION=3\nfunction setup() { return {input: ['B04', 'B08'], output: {bands: 2, sampleType: 'FLOAT32'}}; }\n"
        f"function evaluatePixel(s) {{ return [{expr}, s.B08 / s.B04]; }}\n"
    )
    b4 = np.array([[0.0, -0.0, 0.5], [np.nan, 2.0, -1.0]], np.float32)
    bands = {"B04": b4, "B08": np.array([[0.0, 1.0, 0.25], [1.0, np.inf, 3.0]], np.float32)}
    slow_error = fast_error = None
    try:
        slow, _, _ = _pixels(v8, source, bands)
    except EvalscriptError as exc:  # [NaN] as a band value: the driver throws
        slow_error = exc
    try:
        fast, got_path, reason = _pixels(compiled, source, bands)
    except EvalscriptError as exc:
        fast_error = exc
    assert (slow_error is None) == (fast_error is None) == (path is not None)
    if slow_error is None:
        assert np.array_equal(fast, slow, equal_nan=True) and np.array_equal(np.signbit(fast), np.signbit(slow))
        assert got_path == path, reason


def test_a_built_in_changed_in_v8_between_evaluations_is_seen(engines):
    """The compiled path re-checks what it read from V8 only when V8 ran something since the last check;
    a hook that replaces a built-in between two evaluations must still send the next one to V8."""
    compiled, _ = engines
    source = (
        "//VERSION=3\nvar calls = 0;\n"
        "function setup() { return {input: ['B04'], output: {bands: 1, sampleType: 'FLOAT32'}}; }\n"
        "function preProcessScenes(collections) {\n"
        "  if (++calls == 2) { Math.max = function (a, b) { return 42; }; }\n"
        "  return collections;\n"
        "}\n"
        "function evaluatePixel(s) { return [Math.max(s.B04, -1)]; }\n"
    )
    start, end = DEFAULT_RANGE
    with compiled.load(source) as script:
        spec = script.setup.inputs[0]

        def scenes():
            listed = synthetic_scenes("SIMPLE", start, end)
            return {spec.datasource: script.filter_scenes(spec.datasource, listed, start, end)}

        found = scenes()
        samples = synthetic_samples(script.setup, found, SHAPE)
        band = samples[spec.datasource][0]["B04"]
        first = script.evaluate(samples, found, shape=SHAPE)["default"][0]
        assert script.evaluation_path == "compiled" and np.array_equal(first, np.maximum(band, -1))
        again = script.evaluate(samples, found, shape=SHAPE)["default"][0]  # nothing ran in V8 in between
        assert script.evaluation_path == "compiled" and np.array_equal(again, first)
        found = scenes()  # the hook replaces Math.max
        after = script.evaluate(samples, found, shape=SHAPE)["default"][0]
        assert script.evaluation_path == "v8" and set(after.ravel().tolist()) == {42.0}
