"""Create-time checks of a request's outputs against its evalscript's setup(), made only when the answer
depends on it: with `cogOutput` (INT8 is refused) or PNG/JPEG responses (sample types and band counts).

The script's setup() runs in this process's V8 (one engine per thread, the evalscript sandbox limits);
nothing else of the script runs here. The engine's analysis checks the same again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eobatch.domain.plan import Output
from eobatch.processing.outputs import JPEG, PNG, validate_output_formats

_LOCAL = threading.local()
SETUP_TIMEOUT_S = 10.0


def needs_script(outputs: Sequence[Output], cog_output: bool) -> bool:
    """Whether the formats can be checked only against the script's outputs."""
    return cog_output or any(o.format in (PNG, JPEG) for o in outputs)


def check_script_outputs(evalscript: str, responses: Sequence[Output], *, cog_output: bool) -> None:
    """BadRequest (or EvalscriptError) when a response cannot hold its output: INT8 with cogOutput, FLOAT32 as
    PNG/JPEG, more than 4 bands as PNG/JPEG, a response that is not an output of the script."""
    if not needs_script(responses, cog_output):
        return
    with _engine().load(evalscript) as script:
        outputs = script.setup.outputs
    validate_output_formats(list(responses), outputs, cog_output=cog_output)


def _engine() -> Any:
    engine = getattr(_LOCAL, "engine", None)
    if engine is None:
        from eobatch.evalscript import EvalscriptEngine

        engine = _LOCAL.engine = EvalscriptEngine(timeout_s=SETUP_TIMEOUT_S, max_memory_mb=256)
    return engine
