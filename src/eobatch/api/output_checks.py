"""Create-time checks of a request's outputs against its evalscript's setup(), made only when the answer
depends on it: with `cogOutput` (INT8 is refused) or PNG/JPEG responses (sample types and band counts),
and for outputs added to a batch collection (single band).

The script's top level and setup() run in a confined worker (engine/sandbox.py), never in the API's own
process: a hostile script can fail only its own request. The engine's analysis checks the same again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eobatch.domain.plan import Output
from eobatch.processing.outputs import JPEG, PNG, validate_output_formats
from eobatch.settings import Settings


def needs_script(outputs: Sequence[Output], cog_output: bool) -> bool:
    """Whether the formats can be checked only against the script's outputs."""
    return cog_output or any(o.format in (PNG, JPEG) for o in outputs)


def script_outputs(evalscript: str, settings: Settings) -> tuple[Any, ...]:
    """The `OutputSpec`s the script's setup() declares, from a confined worker."""
    from eobatch.engine.sandbox import setup_outputs_confined

    return setup_outputs_confined(settings, evalscript)


def check_script_outputs(evalscript: str, responses: Sequence[Output], *, cog_output: bool, settings: Settings) -> None:
    """BadRequest (or EvalscriptError) when a response cannot hold its output: INT8 with cogOutput, FLOAT32 as
    PNG/JPEG, more than 4 bands as PNG/JPEG, a response that is not an output of the script."""
    if not needs_script(responses, cog_output):
        return
    validate_output_formats(list(responses), list(script_outputs(evalscript, settings)), cog_output=cog_output)
