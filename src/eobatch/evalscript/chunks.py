"""Feed a tile's band arrays through the JS driver chunk by chunk, over buffers shared with V8.

The Float32/Float64 arrays are allocated inside V8 once per (chunk size, sample counts, band counts)
and wrapped with `np.frombuffer` without copying, so one chunk costs one copy in, one `eval`, one copy
out. Memory beyond the caller's inputs and the returned outputs stays bounded by `chunk_bytes`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from eobatch.errors import EvalscriptError
from eobatch.evalscript.scenes import descriptor, group_by_day

if TYPE_CHECKING:
    from eobatch.evalscript.engine import Evalscript
    from eobatch.evalscript.spec import InputSpec, SceneInfo


@dataclass
class Prepared:
    """One evaluate() call's checked arguments: samples per input, tile shape, scene descriptors."""

    per_input: list[list[dict[str, Any]]]
    height: int
    width: int
    counts: list[int]
    descs: list[dict[str, Any]]


class ChunkRunner:
    """Evaluation over chunks for one Evalscript (private helper of Evalscript.evaluate)."""

    def __init__(self, script: Evalscript, chunk_pixels: int, chunk_bytes: int, strict_band_count: bool):
        self.script = script
        self.strict_band_count = strict_band_count
        self.chunk_pixels = chunk_pixels
        self.chunk_bytes = chunk_bytes
        self._layout: tuple | None = None
        self._inputs: list[list[np.ndarray]] = []
        self._outputs: list[np.ndarray] = []
        self._scenes_js = ""

    # -- argument checks --------------------------------------------------------------------------

    def _samples_of(self, spec: InputSpec, samples: dict) -> list[dict[str, Any]]:
        key = self.script.key_of(spec)
        for candidate in (spec.datasource, key):
            if candidate in samples:
                return list(samples[candidate])
        if len(self.script.setup.inputs) == 1 and len(samples) == 1:
            return list(next(iter(samples.values())))
        raise ValueError(f"samples has no entry for input {spec.datasource!r}; keys given: {list(samples)}")

    def _shape(self, per_input: list[list[dict[str, Any]]], shape: tuple[int, int] | None) -> tuple[int, int]:
        for stack in per_input:
            for sample in stack:
                for array in sample.values():
                    return tuple(np.shape(array))  # type: ignore[return-value]
        if shape is None:
            raise ValueError("no input has a sample; pass shape=(height, width) to evaluate()")
        return (int(shape[0]), int(shape[1]))

    def _check(self, spec: InputSpec, stack: list[dict[str, Any]], shape: tuple[int, int]) -> None:
        if spec.mosaicking == "SIMPLE" and not self.script.fusion and len(stack) != 1:
            raise ValueError(f"SIMPLE mosaicking needs exactly one (mosaicked) sample, got {len(stack)}")
        for k, sample in enumerate(stack):
            missing = [b for b in spec.bands if b not in sample]
            if missing:
                raise ValueError(f"sample {k} of input {spec.datasource!r} lacks bands {missing}")
            for band in spec.bands:
                if np.shape(sample[band]) != shape:
                    raise ValueError(f"band {band} of sample {k} has shape {np.shape(sample[band])}, expected {shape}")

    def _descriptor(self, spec: InputSpec, count: int, scenes: dict) -> dict[str, Any]:
        listed: list[SceneInfo] = list(scenes.get(spec.datasource, scenes.get(self.script.key_of(spec), [])))
        if spec.mosaicking == "SIMPLE":
            return descriptor(spec.datasource, "SIMPLE", listed)
        have = len(group_by_day(listed)) if spec.mosaicking == "ORBIT" else len(listed)
        if have != count:
            unit = "UTC days" if spec.mosaicking == "ORBIT" else "scenes"
            raise ValueError(
                f"input {spec.datasource!r} has {count} samples but its scenes cover {have} {unit}; "
                f"{spec.mosaicking} mosaicking needs one sample per {unit[:-1]}"
            )
        return descriptor(spec.datasource, spec.mosaicking, listed)

    # -- buffers ----------------------------------------------------------------------------------

    def _chunk_size(self, pixels: int, counts: list[int]) -> int:
        inputs = self.script.setup.inputs
        per_pixel = sum(4 * max(1, k) * len(s.bands) for k, s in zip(counts, inputs, strict=True))
        per_pixel += sum(8 * o.bands for o in self.script.outputs)
        return max(1, min(pixels, self.chunk_pixels, self.chunk_bytes // max(1, per_pixel)))

    def _allocate(self, size: int, counts: list[int]) -> None:
        bands = [o.bands for o in self.script.outputs]
        layout = (size, tuple(counts), tuple(bands))
        if layout == self._layout:
            return
        self.release()
        ids = [o.id for o in self.script.outputs]
        run = self.script._run
        run(
            f"__eobatch.driver.alloc({size}, {json.dumps(counts)}, {json.dumps(bands)}, {json.dumps(ids)}, "
            f"{json.dumps(self.strict_band_count)})",
            "buffer allocation",
        )
        for n, spec in enumerate(self.script.setup.inputs):
            self._inputs.append(
                [
                    np.frombuffer(
                        run(f"__eobatch.driver.inputs[{n}][{j}].buffer", "buffer allocation"), dtype=np.float32
                    )
                    for j in range(len(spec.bands))
                ]
            )
        for o, b in enumerate(bands):
            view = np.frombuffer(run(f"__eobatch.driver.outputs[{o}].buffer", "buffer allocation"), dtype=np.float64)
            self._outputs.append(view[: b * size].reshape(b, size))
        self._layout = layout

    def release(self) -> None:
        """Drop every numpy view over V8 memory (before the context is closed)."""
        self._inputs, self._outputs, self._layout = [], [], None

    # -- evaluation -------------------------------------------------------------------------------

    def prepare(self, samples: dict, scenes: dict, shape: tuple[int, int] | None) -> Prepared:
        """Check evaluate()'s arguments against setup() (ValueError when they do not match)."""
        inputs = self.script.setup.inputs
        per_input = [self._samples_of(spec, samples) for spec in inputs]
        height, width = self._shape(per_input, shape)
        for spec, stack in zip(inputs, per_input, strict=True):
            self._check(spec, stack, (height, width))
        counts = [len(stack) for stack in per_input]
        descs = [self._descriptor(spec, k, scenes) for spec, k in zip(inputs, counts, strict=True)]
        return Prepared(per_input, height, width, counts, descs)

    def evaluate(self, prepared: Prepared, row0: int = 0) -> dict[str, np.ndarray]:
        """Run evaluatePixel in V8 over every pixel, chunk by chunk (`row0`: the block's first row in its
        tile, for error messages)."""
        script = self.script
        inputs = script.setup.inputs
        per_input, height, width = prepared.per_input, prepared.height, prepared.width
        counts, descs = prepared.counts, prepared.descs
        scenes_js = f"__eobatch.setScenes({json.dumps(descs)}, {json.dumps(script.fusion)})"
        if scenes_js != self._scenes_js:
            script._run(scenes_js, "scene set-up")
            self._scenes_js = scenes_js
        pixels = height * width
        results = {o.id: np.empty((o.bands, pixels), dtype=np.float64) for o in script.outputs}
        if pixels == 0:
            return {k: v.reshape(v.shape[0], height, width) for k, v in results.items()}
        size = self._chunk_size(pixels, counts)
        self._allocate(size, counts)
        flat = [
            [{b: np.asarray(s[b]).reshape(-1) for b in spec.bands} for s in stack]
            for spec, stack in zip(inputs, per_input, strict=True)
        ]
        for start in range(0, pixels, size):
            n = min(size, pixels - start)
            for buffers, spec, stack in zip(self._inputs, inputs, flat, strict=True):
                for j, band in enumerate(spec.bands):
                    for k, sample in enumerate(stack):
                        buffers[j][k * size : k * size + n] = sample[band][start : start + n]
            failure = script._run(f"__eobatch.driver.run({n})", "evaluatePixel()")
            if failure:
                raise self._pixel_error(json.loads(failure), start, width, row0)
            for o, out in zip(script.outputs, self._outputs, strict=True):
                results[o.id][:, start : start + n] = out[:, :n]
        return {k: v.reshape(v.shape[0], height, width) for k, v in results.items()}

    def _pixel_error(self, described: dict[str, Any], start: int, width: int, row0: int = 0) -> EvalscriptError:
        row, col = divmod(start + int(described.get("pixel") or 0), width)
        row += row0
        error = self.script._script_error(described, f"evaluatePixel() at pixel (row {row}, column {col})")
        return error
