"""Sandbox: no host access, and the time and heap limits fail one tile but leave the worker healthy."""

from __future__ import annotations

import numpy as np
import pytest

from eobatch.errors import EvalscriptError
from eobatch.evalscript import EvalscriptEngine
from eobatch.settings import Settings

HEADER = "//VERSION=3\nfunction setup(){return {input:['B04'], output:{bands:1, sampleType:'FLOAT32'}}}\n"
SAMPLES = {None: [{"B04": np.full((4, 4), 0.5, np.float32)}]}


def _healthy(engine: EvalscriptEngine) -> None:
    with engine.load(HEADER + "function evaluatePixel(s){return [s.B04 * 2]}\n") as script:
        assert script.evaluate(SAMPLES, {})["default"].tolist() == [[[1.0] * 4] * 4]


@pytest.mark.parametrize("name", ["require", "process", "fetch", "XMLHttpRequest", "Deno", "Bun"])
def test_no_host_apis(engine, name):
    with engine.load(HEADER + f"function evaluatePixel(s){{return [typeof {name} === 'undefined' ? 1 : 0]}}\n") as s:
        assert s.evaluate(SAMPLES, {})["default"][0, 0, 0] == 1


def test_endless_loop_fails_the_tile_then_the_worker_goes_on():
    engine = EvalscriptEngine(timeout_s=0.5, max_memory_mb=256)
    script = engine.load(HEADER + "function evaluatePixel(s){ while (true) {} }\n")
    with pytest.raises(EvalscriptError, match=r"time limit of 0.5 s per tile during evaluatePixel"):
        script.evaluate(SAMPLES, {})
    with pytest.raises(EvalscriptError, match="closed"):
        script.evaluate(SAMPLES, {})
    _healthy(engine)


def test_endless_loop_at_top_level_is_stopped_at_load():
    engine = EvalscriptEngine(timeout_s=0.5, max_memory_mb=256)
    with pytest.raises(EvalscriptError, match="time limit"):
        engine.load(HEADER + "while (true) {}\nfunction evaluatePixel(s){ return [1] }\n")
    _healthy(engine)


def test_endless_allocation_fails_the_tile_then_the_worker_goes_on():
    engine = EvalscriptEngine(timeout_s=20, max_memory_mb=64)
    script = engine.load(
        HEADER + "var keep = [];\nfunction evaluatePixel(s){ for (;;) keep.push(new Array(1e5).fill(s.B04)); }\n"
    )
    with pytest.raises(EvalscriptError, match="memory limit of 64 MB during evaluatePixel"):
        script.evaluate(SAMPLES, {})
    _healthy(engine)


def test_limits_default_from_settings():
    engine = EvalscriptEngine(Settings(evalscript_timeout_s=7.5, evalscript_max_memory_mb=99))
    assert (engine.limits.timeout_s, engine.limits.max_memory_mb) == (7.5, 99)
