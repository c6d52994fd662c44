"""The compiled evaluation path of one loaded Evalscript: compile, check its globals, run, or decline.

`CompiledPath.evaluate` returns the outputs, or None when this evaluation must run in V8; `reason`
then says why. Compiled plans are reused while the script globals they were compiled against are
unchanged (they are described again, cheaply, before every evaluation).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from eobatch.evalscript.fast import kernel, syntax
from eobatch.evalscript.fast.compiler import EXIT_BUDGET, EXIT_RANGE, EXIT_THROW, Compiler, InputShape, Output
from eobatch.evalscript.fast.values import (
    UNDEFINED,
    Arr,
    Builtin,
    Const,
    Func,
    Namespace,
    Obj,
    Unsupported,
    Value,
    Viz,
)

if TYPE_CHECKING:
    from eobatch.evalscript.chunks import Prepared
    from eobatch.evalscript.engine import Evalscript

LOOP_BUDGET_PER_PIXEL = 10_000
EXIT_REASONS = {
    EXIT_BUDGET: "a loop ran longer than the compiled path allows",
    EXIT_RANGE: "a sample or scene index is out of range",
    EXIT_THROW: "the script throws",
}


@dataclass
class Plan:
    signature: tuple
    described: dict[str, Any]
    dispatcher: Any


def _number(text: str) -> float:
    return {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan, "-0": -0.0}.get(text) or float(text)


def plain(d: dict[str, Any]) -> Any:
    """A described value as plain Python (visualizer state)."""
    k = d["k"]
    if k == "num":
        return _number(d["v"])
    if k in ("bool", "str"):
        return d["v"]
    if k == "null":
        return None
    if k == "undef":
        return UNDEFINED
    if k == "arr":
        return [plain(i) for i in d["items"]]
    if k == "obj":
        return {key: plain(v) for key, v in d["fields"].items()}
    raise Unsupported("visualizer state that is not plain data")


def to_value(d: dict[str, Any], script: syntax.Script, name: str) -> Value:
    """A global, as described by js/fastpath.js, as a compile-time value."""
    k = d["k"]
    if k == "missing":
        raise Unsupported(f"{name} is not defined")
    if k == "opaque":
        raise Unsupported(f"the global {name} is not plain data, a script function or a library helper")
    if k == "num":
        return Const(_number(d["v"]))
    if k in ("bool", "str"):
        return Const(d["v"])
    if k == "null":
        return Const(None)
    if k == "undef":
        return Const(UNDEFINED)
    if k == "arr":
        return Arr(tuple(to_value(i, script, name) for i in d["items"]), frozen=True)
    if k == "obj":
        return Obj({key: to_value(v, script, name) for key, v in d["fields"].items()}, frozen=True)
    if k == "helper":
        return Builtin(d["name"])
    if k == "math":
        return Namespace("Math")
    if k == "viz":
        return Viz(d["cls"], {key: plain(v) for key, v in d["state"].items()})
    if k == "fn":
        node = script.function_with_text(d["src"])
        if node is None:
            raise Unsupported(f"the function {name} is not one the script declares at top level")
        return Func(node, (), name)
    raise Unsupported(f"global {name}")


def _scene_table(desc: dict[str, Any]) -> np.ndarray:
    """Per sample: getTime, getFullYear, getMonth, getDate, getDay, getHours, getMinutes, getSeconds, ms."""
    items = desc.get("items", []) if desc.get("mosaicking") != "SIMPLE" else []
    table = np.full((9, len(items)), np.nan)
    for k, item in enumerate(items):
        text = item.get("date")
        if not text:
            continue
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        millis = round(moment.timestamp() * 1000)
        table[:, k] = [
            float(millis),
            moment.year,
            moment.month - 1,
            moment.day,
            (moment.weekday() + 1) % 7,
            moment.hour,
            moment.minute,
            moment.second,
            moment.microsecond // 1000,
        ]
    return table


class CompiledPath:
    """Compiled evaluation for one Evalscript (see module docstring)."""

    def __init__(self, script: Evalscript, code: str, strict_band_count: bool, min_pixels: int = 0):
        self.script = script
        self.min_pixels = min_pixels
        self._work = 0  # pixels x samples of the evaluation at hand
        self.code = code
        self.strict_band_count = strict_band_count
        self.reason: str | None = None
        self._plan: Plan | None = None
        self._declined: tuple | None = None  # (signature, described) of the last Unsupported verdict
        self._checked_at = -1  # the script's `v8_runs` when the plan's globals were last checked

    def _describe(self, names: list[str]) -> dict[str, Any]:
        text = self.script._run(f"__eobatch.fast.describe({json.dumps(names)})", "compilation")
        described = json.loads(text)
        if not described["intact"]:
            raise Unsupported("the script changes JavaScript built-ins the helpers rely on")
        return described["values"]

    def _shapes(self) -> tuple[list[InputShape], list[Output], tuple]:
        setup = self.script.setup
        fusion = self.script.fusion
        inputs = [
            InputShape(
                spec.datasource if spec.datasource is not None else str(n),
                spec.bands,
                fusion or spec.mosaicking != "SIMPLE",
            )
            for n, spec in enumerate(setup.inputs)
        ]
        outputs = [Output(o.id, o.bands) for o in self.script.outputs]
        signature = (
            tuple((s.key, s.bands, s.multi) for s in inputs),
            tuple((o.id, o.bands) for o in outputs),
            fusion,
        )
        return inputs, outputs, signature

    def _compile(self, inputs: list[InputShape], outputs: list[Output], signature: tuple) -> Plan:
        script = syntax.parse(self.code)
        described: dict[str, Any] = {}

        def resolve(name: str) -> Value:
            if not name.isidentifier():
                raise Unsupported(f"global {name!r}")
            if name not in described:
                described.update(self._describe([name]))
            return to_value(described[name], script, name)

        compiler = Compiler(script, inputs, self.script.fusion, outputs, self.strict_band_count, resolve)
        try:
            source = compiler.compile()
        except Unsupported:
            self._declined = (signature, described)  # the verdict holds while these globals do
            raise
        if self._work < self.min_pixels and not kernel.is_compiled(source, compiler.tables):
            raise Unsupported(
                f"{self._work} pixel-samples do not pay for compiling the kernel (minimum {self.min_pixels}); "
                "V8 runs until a larger evaluation compiles it in this process"
            )
        dispatcher = kernel.compile_kernel(source, compiler.tables)
        return Plan(signature, described, dispatcher)

    def _plan_for(self) -> Plan:
        inputs, outputs, signature = self._shapes()
        plan = self._plan
        if plan is not None and plan.signature == signature:
            if self._checked_at == self.script.v8_runs:  # nothing ran in V8 since the globals were checked
                return plan
            if self._describe(list(plan.described)) == plan.described:
                self._checked_at = self.script.v8_runs
                return plan
        if self._declined is not None and self._declined[0] == signature:
            declined = self._declined[1]
            if self._describe(list(declined)) == declined and self.reason is not None:
                raise Unsupported(self.reason)
        self._plan = None
        self._plan = self._compile(inputs, outputs, signature)
        self._checked_at = self.script.v8_runs
        return self._plan

    def evaluate(self, prepared: Prepared, work: int | None = None) -> dict[str, np.ndarray] | None:
        """The outputs as float64 (bands, H, W), or None (then `reason` says why V8 must run). `work`: the
        pixel-samples of the whole tile when this is one block of it (decides whether compiling pays)."""
        self._work = max(prepared.height * prepared.width * max([1, *prepared.counts]), work or 0)
        try:
            plan = self._plan_for()
            return self._run(plan, prepared)
        except Unsupported as exc:
            self.reason = str(exc)
            return None

    def _run(self, plan: Plan, prepared: Prepared) -> dict[str, np.ndarray] | None:
        height, width = prepared.height, prepared.width
        pixels = height * width
        results = {o.id: np.empty((o.bands, pixels), dtype=np.float64) for o in self.script.outputs}
        setup = self.script.setup
        scenes = [_scene_table(d) for d in prepared.descs]
        flat = [
            [[np.asarray(sample[band], dtype=np.float32).reshape(-1) for sample in stack] for band in spec.bands]
            for spec, stack in zip(setup.inputs, prepared.per_input, strict=True)
        ]
        per_pixel = 4 * sum(
            max(1, len(stack)) * len(spec.bands) for spec, stack in zip(setup.inputs, prepared.per_input, strict=True)
        )
        single = all(len(stack) <= 1 for stack in prepared.per_input)
        size = pixels if single else max(1, min(pixels, self.script._chunks.chunk_bytes // max(1, per_pixel)))
        outs = list(results.values())
        for start in range(0, pixels, max(1, size)):
            n = min(size, pixels - start)
            args: list[Any] = [n, n * LOOP_BUDGET_PER_PIXEL + 1_000_000]
            for bands in flat:
                for samples_of_band in bands:
                    args.append(_stack(samples_of_band, start, n))
            args.extend(scenes)
            args.extend(out[:, start : start + n] for out in outs)
            code = kernel.run_kernel(plan.dispatcher, args)
            if code != 0:
                raise Unsupported(EXIT_REASONS.get(code, f"kernel exit {code}"))
        return {k: v.reshape(v.shape[0], height, width) for k, v in results.items()}


def _stack(arrays: list[np.ndarray], start: int, n: int) -> np.ndarray:
    if not arrays:
        return np.empty((0, n), dtype=np.float32)
    if len(arrays) == 1:
        return arrays[0][start : start + n].reshape(1, n)
    out = np.empty((len(arrays), n), dtype=np.float32)
    for k, a in enumerate(arrays):
        out[k] = a[start : start + n]
    return out
