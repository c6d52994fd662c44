"""Evalscript V3 runtime: V8 via mini-racer, the SH helper library, setup() normalisation, sampleType."""

from eobatch.evalscript.engine import Evalscript, EvalscriptEngine
from eobatch.evalscript.sample_type import to_sample_type
from eobatch.evalscript.spec import InputSpec, OutputSpec, SceneInfo, SetupInfo
from eobatch.evalscript.validate import validate_evalscript

__all__ = [
    "Evalscript",
    "EvalscriptEngine",
    "InputSpec",
    "OutputSpec",
    "SceneInfo",
    "SetupInfo",
    "to_sample_type",
    "validate_evalscript",
]
