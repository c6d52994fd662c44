"""Evalscript runtime benchmarks: NDVI vs numpy float32, a real colour-ramp script vs numpy, the share of
the corpus on the compiled path, fixed cost per tile, peak memory.

Every figure is measured in this run next to its reference, in paired alternating rounds (load and CPU
time recorded), after checking that both sides give the same pixels. Peak memory runs in a child process so
its RSS high-water mark is not polluted by the rest of the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.paired import paired, row
from eobatch.evalscript import EvalscriptEngine, to_sample_type

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "evalscripts"
N = 1000
NDVI = (
    "//VERSION=3\nfunction setup() { return {input: ['B04', 'B08'], output: {bands: 1, sampleType: 'FLOAT32'}}; }\n"
    "function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }\n"
)
RAMP_SCRIPT = "s2_ndwi.js"  # index() + ColorRampVisualizer, 3 bands AUTO


def _best(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _bands(names, shape, seed=0):
    rng = np.random.default_rng(seed)
    out = {b: rng.uniform(0.01, 0.6, size=shape).astype(np.float32) for b in names}
    if "dataMask" in out:
        out["dataMask"][:] = 1
    return out


def _row(name, value, unit, reference, reference_value, ratio, target, note):
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "reference": reference,
        "reference_value": reference_value,
        "ratio": ratio,
        "target": target,
        "note": note,
    }


REPEAT = 5  # evaluations per arm and round (one 1 Mpx NDVI takes about a millisecond)
ROUNDS = 7


def _same_written(fast: np.ndarray, slow: np.ndarray, sample_type: str) -> bool:
    """Outputs as written: integer types identical, FLOAT32 within one unit in the last place."""
    a, b = to_sample_type(fast, sample_type), to_sample_type(slow, sample_type)
    if sample_type != "FLOAT32":
        return bool(np.array_equal(a, b))
    nan = np.isnan(b)
    if not np.array_equal(np.isnan(a), nan):
        return False
    try:
        np.testing.assert_array_max_ulp(a[~nan], b[~nan], maxulp=1)
    except AssertionError:
        return False
    return True


def _repeat(fn):
    def run():
        for _ in range(REPEAT):
            fn()

    return run


def _ndvi(compiled, v8) -> list[dict]:
    bands = _bands(["B04", "B08"], (N, N))
    b4, b8 = bands["B04"], bands["B08"]
    samples = {None: [bands]}
    fast = compiled.load(NDVI)
    slow = v8.load(NDVI)
    try:
        out_fast = fast.evaluate(samples, {})["default"][0]  # compiles the kernel once, before the rounds
        path = fast.evaluation_path
        out_slow = slow.evaluate(samples, {})["default"][0]
        reference64 = (b8.astype(np.float64) - b4) / (b8.astype(np.float64) + b4)
        same = _same_written(out_fast, out_slow, "FLOAT32") and np.array_equal(out_fast, reference64)
        result = paired(
            {
                "compiled": _repeat(lambda: fast.evaluate(samples, {})),
                "numpy32": _repeat(lambda: (b8 - b4) / (b8 + b4)),
                "v8": _repeat(lambda: slow.evaluate(samples, {})),
            },
            ROUNDS,
        )
    finally:
        fast.close()
        slow.close()
    mpx = N * N / 1e6 * REPEAT
    return [
        row(
            "ndvi_1Mpx_compiled_vs_numpy_float32",
            result,
            "compiled",
            "numpy32",
            label="numpy float32 (b8-b4)/(b8+b4)",
            target=">= 0.8",
            speed=True,
            value=mpx / result.wall("compiled"),
            reference_value=mpx / result.wall("numpy32"),
            unit="Mpx/s",
            note=f"evaluate() on path {path!r}, float64 output like V8; same pixels as V8 and as numpy float64: {same}",
        ),
        row(
            "ndvi_1Mpx_v8_vs_numpy_float32",
            result,
            "v8",
            "numpy32",
            label="numpy float32",
            target="info",
            speed=True,
            value=mpx / result.wall("v8"),
            reference_value=mpx / result.wall("numpy32"),
            unit="Mpx/s",
            note="the V8 path (EOBATCH_EVALSCRIPT_COMPILED=false), same rounds",
        ),
    ]


def _ndwi_numpy(b3: np.ndarray, b8: np.ndarray) -> np.ndarray:
    """s2_ndwi.js in numpy (float64 like JS): index(), then a white->green or white->blue ramp."""
    x3, x8 = b3.astype(np.float64), b8.astype(np.float64)
    total = x3 + x8
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(total == 0, 0.0, (x3 - x8) / total)
    neg = val < 0
    with np.errstate(invalid="ignore"):
        t = np.where(neg, -val, np.sqrt(np.sqrt(val)))
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)  # ramp stops at 0 and 1; NaN takes the first stop
    white = np.array([255.0, 255.0, 255.0])
    green, blue = np.array([0.0, 128.0, 0.0]), np.array([0.0, 0.0, 204.0])
    end = np.where(neg[None], green[:, None, None], blue[:, None, None])
    return np.trunc(white[:, None, None] + (end - white[:, None, None]) * t[None]) / 255


def _ramp(compiled, v8) -> list[dict]:
    source = (CORPUS / RAMP_SCRIPT).read_text()
    bands = _bands(["B03", "B08"], (N, N))
    samples = {None: [bands]}
    fast = compiled.load(source)
    slow = v8.load(source)
    try:
        out_fast = fast.evaluate(samples, {})["default"]
        path = fast.evaluation_path
        out_slow = slow.evaluate(samples, {})["default"]
        reference = _ndwi_numpy(bands["B03"], bands["B08"])
        same = _same_written(out_fast, out_slow, "AUTO") and _same_written(out_fast, reference, "AUTO")
        result = paired(
            {
                "compiled": lambda: fast.evaluate(samples, {}),
                "numpy": lambda: _ndwi_numpy(bands["B03"], bands["B08"]),
                "v8": lambda: slow.evaluate(samples, {}),
            },
            ROUNDS,
        )
    finally:
        fast.close()
        slow.close()
    mpx = N * N / 1e6
    return [
        row(
            f"ramp_{RAMP_SCRIPT}_compiled_vs_numpy",
            result,
            "compiled",
            "numpy",
            label="numpy float64 equivalent",
            target=">= 0.5",
            speed=True,
            value=mpx / result.wall("compiled"),
            reference_value=mpx / result.wall("numpy"),
            unit="Mpx/s",
            note=f"real corpus script (index + 2 ColorRampVisualizers + sqrt), path {path!r}; same AUTO "
            f"pixels as V8 and numpy: {same}",
        ),
        row(
            f"ramp_{RAMP_SCRIPT}_v8_vs_numpy",
            result,
            "v8",
            "numpy",
            label="numpy float64 equivalent",
            target="info",
            speed=True,
            value=mpx / result.wall("v8"),
            reference_value=mpx / result.wall("numpy"),
            unit="Mpx/s",
            note="the V8 path, same rounds",
        ),
    ]


def _corpus_share(compiled) -> list[dict]:
    """How many corpus scripts evaluate compiled (synthetic 8x8 inputs, as the corpus test runs them)."""
    from datetime import UTC, datetime

    from eobatch.evalscript.synthetic import synthetic_samples, synthetic_scenes

    time_from, time_to = datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 6, 30, tzinfo=UTC)
    paths: dict[str, str] = {}
    for script_path in sorted(CORPUS.glob("*.js")):
        try:
            with compiled.load(script_path.read_text()) as script:
                scenes = {
                    spec.datasource: script.filter_scenes(
                        spec.datasource, synthetic_scenes(spec.mosaicking, time_from, time_to), time_from, time_to
                    )
                    for spec in script.setup.inputs
                }
                samples = synthetic_samples(script.setup, scenes, (8, 8))
                script.update_output({k: len(v) for k, v in samples.items()})
                script.evaluate(samples, scenes, shape=(8, 8))
                paths[script_path.name] = script.evaluation_path or "v8"
        except Exception:  # scripts that fail in V8 too (the corpus test lists them)
            paths[script_path.name] = "v8 (fails)"
    count = sum(p == "compiled" for p in paths.values())
    in_v8 = ", ".join(sorted(n for n, p in paths.items() if p != "compiled"))
    return [
        {
            "name": "corpus_share_compiled",
            "value": count,
            "unit": "scripts",
            "reference": "corpus scripts",
            "reference_value": len(paths),
            "ratio": round(count / max(1, len(paths)), 3),
            "target": "reported",
            "note": f"in V8: {in_v8}",
        }
    ]


def _fixed_cost(engine) -> list[dict]:
    source = (CORPUS / RAMP_SCRIPT).read_text()

    def load_and_close():
        engine.load(source).close()

    t = _best(load_and_close, repeat=10)
    with engine.load(NDVI) as script:
        t_eval = _best(lambda: script._run("0", "bench"), repeat=20)
    return [
        _row(
            "fixed_cost_per_tile",
            t * 1e3,
            "ms",
            "one V8 eval round trip",
            t_eval * 1e3,
            t / t_eval,
            "info",
            "fresh context + helper library + compile + setup() + driver",
        )
    ]


PEAK_CHILD = r"""
import json, resource, sys
import numpy as np
from bench.paired import paired, row
from eobatch.evalscript import EvalscriptEngine, to_sample_type
H = W = int(sys.argv[1])
bands = {b: np.full((H, W), 0.2 + 0.1 * k, np.float32) for k, b in enumerate(["B02", "B03", "B04", "B08"])}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
src = ("//VERSION=3\nfunction setup(){return {input:['B02','B03','B04','B08'], "
       "output:{bands:1, sampleType:'FLOAT32'}}}\n"
       "function evaluatePixel(s){return [(s.B08 - s.B04) / (s.B08 + s.B04) + s.B02 - s.B03]}\n")
with EvalscriptEngine(timeout_s=600, max_memory_mb=1024).load(src) as script:
    out = script.evaluate({None: [bands]}, {})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024, "output_mb": out["default"].nbytes / 2**20}))
"""


def _peak_memory() -> list[dict]:
    side = 10000
    done = subprocess.run([sys.executable, "-c", PEAK_CHILD, str(side)], capture_output=True, text=True, check=True)
    m = json.loads(done.stdout.strip().splitlines()[-1])
    extra = m["peak_mb"] - m["before_mb"] - m["output_mb"]
    return [
        _row(
            "peak_memory_10000x10000_4bands",
            extra,
            "MB",
            "inputs held by caller (4 x float32)",
            m["before_mb"],
            extra / m["before_mb"],
            "bounded (chunked)",
            f"RSS growth beyond inputs and the float64 output ({m['output_mb']:.0f} MB); peak RSS "
            f"{m['peak_mb']:.0f} MB",
        )
    ]


def run() -> list[dict]:
    engine = EvalscriptEngine(timeout_s=600, max_memory_mb=1024, compiled=False)
    compiled = EvalscriptEngine(timeout_s=600, max_memory_mb=1024, compiled=True, compile_min_pixels=0)
    rows = _ndvi(compiled, engine) + _ramp(compiled, engine) + _corpus_share(compiled) + _fixed_cost(engine)
    return rows + _peak_memory()
