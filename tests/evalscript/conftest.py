"""Shared fixtures: one engine for the session (as in a worker process), and small helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eobatch.evalscript import EvalscriptEngine

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
CORPUS = SHARED / "evalscripts"


@pytest.fixture(scope="session")
def engine() -> EvalscriptEngine:
    return EvalscriptEngine(timeout_s=20, max_memory_mb=256)


@pytest.fixture
def js(engine):
    """Evaluate a JS expression in a fresh context with the helper library; returns JSON-decoded value."""
    import json

    script = engine.load(
        "//VERSION=3\nfunction setup(){return {input:['B04'], output:{bands:1}}}\n"
        "function evaluatePixel(s){return [s.B04]}\n"
    )

    def run(expr: str):
        text = script._run(f"JSON.stringify({expr})", "test")
        return json.loads(text)

    yield run
    script.close()


def band(value: float, shape=(2, 3)) -> np.ndarray:
    return np.full(shape, value, dtype=np.float32)
