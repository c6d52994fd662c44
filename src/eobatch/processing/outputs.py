"""Output formats of the tile pipeline and the check that an evalscript's outputs fit them.

Where outputs go, how they are written (overwrite, skipExisting) and the COG parameters are in the
request's plan (`domain.plan`): the pipeline reads nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eobatch.domain.plan import (
    DEFAULT_JPEG_QUALITY,
    EXTENSIONS,
    JPEG,
    JSON,
    PNG,
    TIFF,
    USERDATA,
    CogParameters,
    Output,
)
from eobatch.errors import BadRequest, Violation

RASTER_FORMATS = (TIFF, PNG, JPEG)

__all__ = [
    "DEFAULT_JPEG_QUALITY",
    "EXTENSIONS",
    "JPEG",
    "JSON",
    "PNG",
    "RASTER_FORMATS",
    "TIFF",
    "USERDATA",
    "CogParameters",
    "validate_output_formats",
]

# sample types each format can hold
_FORMAT_SAMPLE_TYPES = {
    TIFF: {"AUTO", "UINT8", "UINT16", "INT8", "INT16", "FLOAT32"},
    PNG: {"AUTO", "UINT8", "UINT16"},
    JPEG: {"AUTO", "UINT8"},
}
_MAX_BANDS = {PNG: 4, JPEG: 4}
_FILE_FORMATS = (TIFF, PNG, JPEG, JSON)


def validate_output_formats(
    plan_outputs: Sequence[Output], setup_outputs: Sequence[Any], *, cog_output: bool = False
) -> None:
    """BadRequest when an output cannot be written: unknown id or format, or a sampleType the format can't hold."""
    outputs = {o.id: o for o in setup_outputs}
    for i, planned in enumerate(plan_outputs):
        where = f"processRequest.output.responses[{i}]"
        output_id, fmt = planned.id, planned.format
        if fmt not in _FILE_FORMATS:
            allowed = ", ".join(_FILE_FORMATS)
            raise _bad(f"{where}.format.type", f"Output format {fmt!r} is not supported; allowed: {allowed}")
        if output_id == USERDATA:
            if fmt != JSON:
                raise _bad(f"{where}.format.type", f"The 'userdata' output must be {JSON}, got {fmt!r}")
            continue
        if fmt == JSON:
            raise _bad(f"{where}.format.type", f"{JSON} is only for the 'userdata' output, not {output_id!r}")
        spec = outputs.get(output_id)
        if spec is None:
            raise _bad(
                f"{where}.identifier",
                f"Response {output_id!r} is not an evalscript output; outputs: {', '.join(outputs) or 'none'}",
            )
        sample_type = str(spec.sample_type).upper()
        if sample_type not in _FORMAT_SAMPLE_TYPES[fmt]:
            allowed = ", ".join(sorted(_FORMAT_SAMPLE_TYPES[fmt]))
            raise _bad(
                f"{where}.format.type",
                f"Output {output_id!r} has sampleType {sample_type}, which {fmt} cannot hold; allowed: {allowed}",
            )
        if fmt in _MAX_BANDS and spec.bands > _MAX_BANDS[fmt]:
            raise _bad(
                f"{where}.format.type",
                f"Output {output_id!r} has {spec.bands} bands; {fmt} holds at most {_MAX_BANDS[fmt]}",
            )
        if cog_output and fmt != TIFF:
            raise _bad(f"{where}.format.type", f"cogOutput requires every output to be {TIFF}; {output_id!r} is {fmt}")
        if cog_output and sample_type == "INT8":
            raise _bad(f"{where}.format.type", f"cogOutput does not allow sampleType INT8 (output {output_id!r})")


def _bad(parameter: str, message: str) -> BadRequest:
    return BadRequest(message, [Violation(parameter, message)])
