"""validate_evalscript: compile, setup(), responses, bands, and a synthetic run, before any tile."""

from __future__ import annotations

import pytest

from eobatch.errors import EvalscriptError
from eobatch.evalscript import validate_evalscript

L2A = {"B02", "B03", "B04", "B08", "SCL"}
SCRIPT = (
    "//VERSION=3\nfunction setup() {\n  return {input: ['B04', 'B08', 'dataMask'],\n"
    "    output: [{id: 'default', bands: 2}, {id: 'ndvi', bands: 1, sampleType: 'FLOAT32'}]};\n}\n"
    "function evaluatePixel(s) {\n  return {default: [s.B04, s.dataMask], ndvi: [index(s.B08, s.B04)]};\n}\n"
)


def test_valid_script_returns_its_setup(engine):
    setup = validate_evalscript(SCRIPT, ["default", "ndvi", "userdata"], {None: L2A}, engine=engine)
    assert [o.id for o in setup.outputs] == ["default", "ndvi"]


def test_band_lookup_may_be_a_callable(engine):
    seen = []
    validate_evalscript(SCRIPT, ["default"], lambda ds: seen.append(ds) or L2A, engine=engine)
    assert seen == [None]


def test_response_not_in_outputs(engine):
    with pytest.raises(EvalscriptError, match=r"'rgb' requested in output.responses is not defined.*default, ndvi"):
        validate_evalscript(SCRIPT, ["rgb"], {None: L2A}, engine=engine)


def test_unknown_band_with_case_hint(engine):
    with pytest.raises(EvalscriptError, match=r"Band 'B08' .*did you mean 'b08'"):
        validate_evalscript(SCRIPT, ["default"], {None: {"B04", "b08"}}, engine=engine)


def test_fusion_datasource_must_match_request_inputs(engine):
    source = (
        "//VERSION=3\nfunction setup() { return {input: [{datasource: 's1', bands: ['VV']}, "
        "{datasource: 'l2a', bands: ['B04']}], output: {bands: 1}}; }\n"
        "function evaluatePixel(s) { return [s.s1[0].VV + s.l2a[0].B04]; }\n"
    )
    validate_evalscript(source, ["default"], {"s1": {"VV", "VH"}, "l2a": L2A}, engine=engine)
    with pytest.raises(EvalscriptError, match=r"datasource 's1' matches no input\.data"):
        validate_evalscript(source, ["default"], {"l2a": L2A}, engine=engine)


def test_runtime_error_surfaces_with_message_and_line(engine):
    source = SCRIPT.replace("index(s.B08, s.B04)", "s.B08.toFixed(2).missing.x")
    with pytest.raises(EvalscriptError) as err:
        validate_evalscript(source, ["default"], {None: L2A}, engine=engine)
    assert err.value.line == 7
    assert "Cannot read properties of undefined (reading 'x')" in err.value.message


def test_orbit_script_must_cope_with_the_synthetic_scene_series(engine):
    source = (
        "//VERSION=3\nfunction setup() { return {input: ['B04'], output: {bands: 1}, mosaicking: 'ORBIT'}; }\n"
        "function evaluatePixel(samples) {\n  return [samples[0].B04 / samples.length];\n}\n"
    )
    validate_evalscript(source, ["default"], {None: L2A}, engine=engine)
