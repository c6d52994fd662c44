"""EvalscriptEngine (one per worker process) and Evalscript (one fresh V8 context per tile)."""

from __future__ import annotations

import atexit
import contextlib
import json
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any

from py_mini_racer import JSOOMException, JSTimeoutException, MiniRacer
from py_mini_racer._exc import JSTerminatedException, MiniRacerBaseException

from eobatch.errors import EvalscriptError
from eobatch.evalscript.chunks import ChunkRunner
from eobatch.evalscript.driver import driver_source, is_fusion
from eobatch.evalscript.jserrors import Limits, located, script_line, translate
from eobatch.evalscript.scenes import descriptor, group_by_day, iso, kept_scenes
from eobatch.evalscript.source import PreparedSource, prepare
from eobatch.evalscript.spec import (
    DEFAULT_UNIT,
    InputSpec,
    OutputSpec,
    SceneInfo,
    SetupInfo,
    normalise_outputs,
    normalise_setup,
    with_band_counts,
)
from eobatch.settings import Settings

_LIBRARY = ("prelude.js", "helpers.js", "runtime.js", "fastpath.js")
DEFAULT_CHUNK_PIXELS = 1 << 20
DEFAULT_CHUNK_BYTES = 64 << 20


_LIVE: weakref.WeakSet[Evalscript] = weakref.WeakSet()
_V8_READY = threading.Event()
_V8_INIT_LOCK = threading.Lock()
_KEPT: list[MiniRacer] = []  # the first context, kept open (ensure_v8_initialised)


def ensure_v8_initialised() -> None:
    """Create and run one context under a lock before any other, and keep it for the life of the process:
    V8 aborts the whole process (`Check failed: !IsConfigurablePoolInitialized()`) when threads create
    their first contexts at once. `EvalscriptEngine()` calls this, so the first context is made by the
    thread that builds the engine, before any thread uses it: where a short-lived thread made it while
    others waited, threads creating contexts at once afterwards crashed in context creation (seen on
    AMD EPYC; tests/evalscript/test_v8_init.py)."""
    if _V8_READY.is_set():
        return
    with _V8_INIT_LOCK:
        if not _V8_READY.is_set():
            first = MiniRacer()
            first.eval("0")
            _KEPT.append(first)
            _V8_READY.set()


@atexit.register
def _close_live_contexts() -> None:
    """mini-racer can hang at interpreter exit with open contexts; close whatever is left."""
    for script in list(_LIVE):
        script.close()
    while _KEPT:
        _KEPT.pop().close()


def _library() -> list[str]:
    folder = files("eobatch.evalscript") / "js"
    return [(folder / name).read_text(encoding="utf-8") for name in _LIBRARY]


@dataclass(frozen=True)
class ChunkOptions:
    """How evaluate() walks a tile: at most `chunk_pixels` pixels and about `chunk_bytes` of buffers."""

    chunk_pixels: int
    chunk_bytes: int
    strict_band_count: bool  # an array longer than the output's bands is an error (else cut)
    compiled: bool = True  # try the compiled (numba) path before V8
    compile_min_pixels: int = 0  # smaller evaluations use an already compiled kernel, never compile one


class EvalscriptEngine:
    """Runs evalscripts in V8 (mini-racer). One per worker process; `load` gives each tile a fresh context.

    Limits come from `Settings.evalscript_timeout_s` / `evalscript_max_memory_mb` unless given here.
    The time limit covers everything done with one loaded script (compile, setup, hooks, all chunks).
    `strict_band_count=True` turns an evaluatePixel array longer than its output's bands into an error;
    by default the extra values are dropped (public scripts rely on it). `compiled` (default
    `Settings.evalscript_compiled`) lets evaluate() use compiled kernels; an evaluation of fewer than
    `compile_min_pixels` pixel-samples only uses a kernel this process has already compiled.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        timeout_s: float | None = None,
        max_memory_mb: int | None = None,
        chunk_pixels: int = DEFAULT_CHUNK_PIXELS,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        strict_band_count: bool = False,
        compiled: bool | None = None,
        compile_min_pixels: int | None = None,
    ):
        settings = settings or Settings()
        self.compiled = settings.evalscript_compiled if compiled is None else compiled
        self.compile_min_pixels = (
            settings.evalscript_compile_min_pixels if compile_min_pixels is None else compile_min_pixels
        )
        self.limits = Limits(
            timeout_s=float(timeout_s if timeout_s is not None else settings.evalscript_timeout_s),
            max_memory_mb=int(max_memory_mb if max_memory_mb is not None else settings.evalscript_max_memory_mb),
        )
        if chunk_pixels < 1 or chunk_bytes < 1:
            raise ValueError("chunk_pixels and chunk_bytes must be positive")
        self.chunk_pixels = chunk_pixels
        self.chunk_bytes = chunk_bytes
        self.strict_band_count = strict_band_count
        self._library = _library()
        ensure_v8_initialised()

    def load(self, source: str) -> Evalscript:
        """Compile `source` in a fresh context and run setup(); EvalscriptError on any script problem."""
        if not isinstance(source, str) or not source.strip():
            raise EvalscriptError("Evalscript is empty; send a VERSION=3 script with setup() and evaluatePixel().")
        prepared = prepare(source)
        return Evalscript(
            source,
            prepared,
            self._library,
            self.limits,
            ChunkOptions(
                self.chunk_pixels, self.chunk_bytes, self.strict_band_count, self.compiled, self.compile_min_pixels
            ),
        )


class Evalscript:
    """One loaded script in its own V8 context; globals persist across chunks and hooks.

    `evaluate` runs the compiled path when the compiler proves it reproduces V8 for the script, else
    V8; `evaluation_path` ("compiled" or "v8") and `fallback_reason` tell what the last call did.
    """

    setup: SetupInfo
    evaluation_path: str | None = None
    fallback_reason: str | None = None
    v8_runs: int = 0  # evaluations in this context so far (every one goes through `_run`)

    def __init__(
        self, source: str, prepared: PreparedSource, library: list[str], limits: Limits, options: ChunkOptions
    ):
        self.source = source
        self.limits = limits
        self._deadline = time.monotonic() + limits.timeout_s
        ensure_v8_initialised()
        self._ctx: MiniRacer | None = MiniRacer()
        _LIVE.add(self)
        self._ctx.set_hard_memory_limit(limits.max_memory_mb << 20)
        self._filtered: dict[str | None, list[SceneInfo]] = {}
        self._time_range: tuple[str | None, str | None] = (None, None)
        try:
            for code in library:
                self._run(code, "library set-up")
            self._run(prepared.code, "script compilation", user_code=True)
            if self._run("typeof evaluatePixel", "script compilation") != "function":
                raise EvalscriptError(
                    "Evalscript defines no evaluatePixel() function; a VERSION=3 script "
                    "needs one (or must be a simple script ending in a top-level return)."
                )
            self.setup = self._simple_setup(prepared) if prepared.simple else self._script_setup()
            self.fusion = is_fusion(self.setup)
            self.outputs: tuple[OutputSpec, ...] = self.setup.outputs
            self._run(driver_source(self.setup), "driver set-up")
        except BaseException:
            self.close()
            raise
        self._chunks = ChunkRunner(self, options.chunk_pixels, options.chunk_bytes, options.strict_band_count)
        self._compiled_source = prepared.code if options.compiled else None
        self._compile_min_pixels = options.compile_min_pixels
        self._compiled: Any = None

    # -- plumbing -------------------------------------------------------------------------------

    def _run(self, code: str, phase: str, *, user_code: bool = False) -> Any:
        """Evaluate `code` under the tile's remaining time; translate every engine failure."""
        if self._ctx is None:
            raise EvalscriptError("This evalscript context was closed after an earlier failure; load it again.")
        self.v8_runs += 1  # anything evaluated may change globals (CompiledPath re-checks them)
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.close()
            raise EvalscriptError(
                f"Evalscript exceeded the time limit of {self.limits.timeout_s:g} s per tile before {phase}."
            )
        try:
            return self._ctx.eval(code, timeout_sec=remaining)
        except MiniRacerBaseException as exc:
            if isinstance(exc, JSTimeoutException | JSOOMException | JSTerminatedException):
                self._settle()
                self.close()  # the isolate may be unusable; this tile is lost, the worker is not
            raise translate(exc, phase, self.source, self.limits, user_code) from None

    def _settle(self) -> None:
        """Let V8 finish a terminated execution so no late callback outlives the context."""
        with contextlib.suppress(Exception):
            if self._ctx is not None:
                self._ctx.eval("0", timeout_sec=2)

    def _script_error(self, described: dict[str, Any], phase: str) -> EvalscriptError:
        """An EvalscriptError from the runtime's description of a thrown value."""
        name = described.get("name") or ""
        message = described.get("message") or ""
        text = f"{name}: {message}" if name and described.get("kind") == "script" else message
        return located(f"Evalscript failed in {phase}: {text}", script_line(described.get("stack") or ""), self.source)

    def _call(self, expr: str, phase: str) -> Any:
        """Call a runtime function that returns a JSON string; script exceptions become EvalscriptError."""
        code = f"(function () {{ try {{ return {expr}; }} catch (e) {{ return 'E' + __eobatch.describe(e); }} }})()"
        text = self._run(code, phase)
        if isinstance(text, str) and text.startswith("E{"):
            raise self._script_error(json.loads(text[1:]), phase)
        return json.loads(text) if isinstance(text, str) else None

    def close(self) -> None:
        """Release the V8 context (also done on any limit failure)."""
        ctx, self._ctx = self._ctx, None
        chunks = getattr(self, "_chunks", None)
        if chunks is not None:
            chunks.release()  # views over V8 buffers must go before their context does
        if ctx is not None:
            ctx.close()

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> Evalscript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setup ----------------------------------------------------------------------------------

    def _script_setup(self) -> SetupInfo:
        return normalise_setup(self._call("__eobatch.setup()", "setup()"))

    def _simple_setup(self, prepared: PreparedSource) -> SetupInfo:
        """Simple scripts: inputs from the band names they read; output bands from one probe pixel."""
        probe = {b: (1.0 if b == "dataMask" else 0.1) for b in prepared.simple_bands}
        length = self._call(
            f"(function (r) {{ return JSON.stringify(Array.isArray(r) ? r.length : "
            f"typeof r === 'number' ? 1 : -1); }})(evaluatePixel({json.dumps(probe)}))",
            "the simple script's body",
        )
        if not isinstance(length, int) or length < 1:
            raise EvalscriptError(
                "Script must return an array. The simple script's top-level return gave no array of numbers."
            )
        bands = prepared.simple_bands
        return SetupInfo(
            inputs=(InputSpec(None, bands, (DEFAULT_UNIT,) * len(bands), "SIMPLE"),),
            outputs=normalise_outputs([{"id": "default", "bands": length, "sampleType": "AUTO"}]),
            mosaicking="SIMPLE",
        )

    def input_for(self, datasource: str | None) -> InputSpec:
        """The input of setup() that `datasource` (None: the single input) refers to."""
        for spec in self.setup.inputs:
            if spec.datasource == datasource:
                return spec
        if datasource is None and len(self.setup.inputs) == 1:
            return self.setup.inputs[0]
        known = [s.datasource for s in self.setup.inputs]
        raise ValueError(f"datasource {datasource!r} is not an input of this evalscript; inputs: {known}")

    def key_of(self, spec: InputSpec) -> str | None:
        return spec.datasource if self.fusion else None

    # -- hooks ----------------------------------------------------------------------------------

    def filter_scenes(
        self, datasource: str | None, scenes: list[SceneInfo], time_from: datetime | None, time_to: datetime | None
    ) -> list[SceneInfo]:
        """Apply preProcessScenes (or the legacy filterScenes) to one input's scenes, in mosaicking order."""
        spec = self.input_for(datasource)
        self._time_range = (iso(time_from), iso(time_to))
        desc = descriptor(spec.datasource, spec.mosaicking, scenes)
        kept = self._call(
            f"JSON.stringify(__eobatch.filterScenes({json.dumps(desc)}, {json.dumps(self._time_range[0])}, "
            f"{json.dumps(self._time_range[1])}, {json.dumps(self.fusion)}))",
            "preProcessScenes()/filterScenes()",
        )
        result = list(scenes) if kept is None else kept_scenes(spec.mosaicking, scenes, kept)
        self._filtered[self.key_of(spec)] = result
        return result

    def _sample_dates(self, spec: InputSpec, count: int) -> list[str | None]:
        scenes = self._filtered.get(self.key_of(spec), [])
        if spec.mosaicking == "ORBIT":
            firsts = [scenes[g[0]].date for g in group_by_day(scenes)]
        else:
            firsts = [s.date for s in scenes]
        return [iso(d) for d in firsts] if len(firsts) == count else [None] * count

    def update_output(
        self, scene_counts: dict[str | None, int], scenes: dict[str | None, list[SceneInfo]] | None = None
    ) -> tuple[OutputSpec, ...]:
        """Run updateOutput(outputs, collection) if defined; returns (and keeps) the outputs' band counts.

        `scene_counts[datasource]` is the number of samples each input will have. Scene dates come
        from `scenes` when given, else from the last filter_scenes() of that input.
        """
        for key, listed in (scenes or {}).items():
            self._filtered[self.key_of(self.input_for(key))] = list(listed)
        counts = []
        for spec in self.setup.inputs:
            key = self.key_of(spec)
            count = scene_counts.get(spec.datasource, scene_counts.get(key, 0) if key is None else 0)
            counts.append({"key": spec.datasource, "dates": self._sample_dates(spec, int(count))})
        outs = [{"id": o.id, "bands": o.bands} for o in self.outputs]
        bands = self._call(
            f"__eobatch.updateOutput({json.dumps(outs)}, {json.dumps(counts)}, {json.dumps(self.fusion)})",
            "updateOutput()",
        )
        if bands is not None:
            self.outputs = with_band_counts(self.outputs, bands)
        return self.outputs

    def evaluate(
        self,
        samples: dict[str | None, list[dict[str, Any]]],
        scenes: dict[str | None, list[SceneInfo]] | None = None,
        shape: tuple[int, int] | None = None,
        *,
        compiled: bool = True,
        work: int | None = None,
        row0: int = 0,
    ) -> dict[str, Any]:
        """Run evaluatePixel over every pixel; returns {output_id: float64 (bands, H, W)} of raw values.

        `samples[datasource][k][band]` are (H, W) arrays (SIMPLE: exactly one sample, ORBIT: one per
        UTC day, TILE: one per scene, in mosaicking order); `shape` is needed only when no input has
        a sample (ORBIT/TILE without scenes). `compiled=False` skips the compiled path (no kernel is
        compiled, e.g. for a validation run on a few synthetic pixels).
        """
        prepared = self._chunks.prepare(samples, scenes or {}, shape)
        if self._compiled_source is not None and compiled:
            if self._compiled is None:
                from eobatch.evalscript.fast.runner import CompiledPath

                self._compiled = CompiledPath(
                    self, self._compiled_source, self._chunks.strict_band_count, self._compile_min_pixels
                )
            result = self._compiled.evaluate(prepared, work)
            if result is not None:
                self.evaluation_path, self.fallback_reason = "compiled", None
                return result
            self.fallback_reason = self._compiled.reason
        else:
            self.fallback_reason = "the compiled path is not used for this evaluation"
        self.evaluation_path = "v8"
        return self._chunks.evaluate(prepared, row0)

    @property
    def evaluation(self) -> str | None:
        """What the last evaluate() ran, for tile records and logs: "compiled", "v8: <reason>" or None."""
        if self.evaluation_path is None:
            return None
        if self.evaluation_path == "v8" and self.fallback_reason:
            return f"v8: {self.fallback_reason}"[:200]
        return self.evaluation_path

    def output_metadata(self) -> object | None:
        """Call updateOutputMetadata once and return outputMetadata.userData (JSON-compatible) or None."""
        return self._call("__eobatch.outputMetadata()", "updateOutputMetadata()")
