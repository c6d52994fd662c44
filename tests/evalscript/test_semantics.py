"""Evalscript V3 semantics (doc section A): versions, setup(), argument shapes, hooks, return forms, errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from eobatch.errors import EvalscriptError
from eobatch.evalscript import InputSpec, OutputSpec, SceneInfo

from .conftest import band


def v3(setup: str, body: str, extra: str = "") -> str:
    return (
        f"//VERSION=3\n{extra}function setup() {{ return {setup}; }}\nfunction evaluatePixel(samples, scenes, "
        f"inputMetadata, customData, outputMetadata) {{\n{body}\n}}\n"
    )


def scene(n: int, day: int, hour: int = 10) -> SceneInfo:
    return SceneInfo(
        id=f"s{n}",
        date=datetime(2020, 12, day, hour, tzinfo=UTC),
        cloud_cover=float(n),
        data_path=f"s3://bucket/s{n}",
        tile_id=f"T{n}",
    )


# -- version detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["//VERSION=3", "// VERSION=3", "// DEM colours\n//VERSION = 3", "//VERSION=3 (auto-converted from 1)"]
)
def test_version_3_header_forms(engine, header):
    source = (
        header + "\nfunction setup(){return {input:['B04'], output:{bands:1}}}\n"
        "function evaluatePixel(s){return [s.B04]}\n"
    )
    with engine.load(source) as script:
        assert script.setup.outputs == (OutputSpec("default", 1, "AUTO", None),)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("//VERSION=2\nfunction setup(ds){}", "VERSION=2 is not supported"),
        ("return [B04];", "no //VERSION=3 header"),
    ],
)
def test_other_versions_are_rejected(engine, source, message):
    with pytest.raises(EvalscriptError, match=message):
        engine.load(source)


def test_simple_script_infers_bands_and_output(engine):
    source = "//VERSION=3\nlet index = (B08 - B04) / (B08 + B04);\nreturn [index, 2 * B04, dataMask];\n"
    with engine.load(source) as script:
        assert script.setup.inputs == (InputSpec(None, ("B08", "B04", "dataMask"), ("DEFAULT",) * 3, "SIMPLE"),)
        assert script.setup.outputs == (OutputSpec("default", 3, "AUTO", None),)
        out = script.evaluate({None: [{"B04": band(0.1), "B08": band(0.3), "dataMask": band(1)}]}, {})
    assert out["default"][:, 0, 0] == pytest.approx([0.5, 0.2, 1.0], rel=1e-6)


def test_simple_script_error_keeps_the_users_line_number(engine):
    source = "//VERSION=3\nvar a = 1;\nreturn [B04.foo.bar];\n"
    with pytest.raises(EvalscriptError) as err:
        engine.load(source)  # the probe pixel that sizes the output already fails
    assert err.value.line == 3 and "B04.foo.bar" in err.value.message


# -- setup() normalisation ---------------------------------------------------------------------------


def test_setup_input_objects_units_and_outputs(engine):
    source = v3(
        "{input: [{bands: ['B02', 'B03', 'dataMask'], units: ['reflectance', 'DN', 'dn']}], "
        "output: [{id: 'rgb', bands: 3, sampleType: SampleType.UINT16, nodataValue: 0}, "
        "{id: 'ndvi', bands: 1, sampleType: 'float32'}], mosaicking: Mosaicking.ORBIT}",
        "return {}",
    )
    with engine.load(source) as script:
        setup = script.setup
    assert setup.mosaicking == "ORBIT"
    assert setup.inputs == (InputSpec(None, ("B02", "B03", "dataMask"), ("REFLECTANCE", "DN", "DN"), "ORBIT"),)
    assert setup.outputs == (OutputSpec("rgb", 3, "UINT16", 0.0), OutputSpec("ndvi", 1, "FLOAT32", None))


def test_setup_single_unit_for_all_bands_and_const_arrow_style(engine):
    source = (
        "//VERSION=3\nconst setup = () => ({input: [{bands: ['B04', 'B08'], units: 'DN'}], "
        "output: {bands: 1}});\nconst evaluatePixel = (s) => [s.B04];\n"
    )
    with engine.load(source) as script:
        assert script.setup.inputs[0].units == ("DN", "DN")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("{input: ['B04'], output: {bands: 1}, mosaicking: 'TILES'}", "mosaicking 'TILES' is unknown"),
        ("{input: ['B04'], output: {bands: 1, sampleType: 'UINT32'}}", "sampleType 'UINT32' is unknown"),
        ("{input: [{bands: ['B04', 'B08'], units: ['DN']}], output: {bands: 1}}", "units has 1 entries for 2 bands"),
        ("{input: ['B04'], output: [{id: 'a', bands: 1}, {id: 'a', bands: 2}]}", "output ids must be unique"),
        ("{input: ['B04'], output: {id: 'userdata', bands: 1}}", "reserved"),
        ("{input: ['B04'], output: {bands: 1.5}}", "bands must be an integer"),
        ("{output: {bands: 1}}", "no input"),
        ("{input: ['B04'], output: {id: 'x'}}", "output\\[0\\].bands must be an integer, got undefined"),
        ("{input: ['B04'], output: {bands: true}}", "bands must be an integer, got true"),
    ],
)
def test_setup_errors_are_precise(engine, setup, message):
    with pytest.raises(EvalscriptError, match=message):
        engine.load(v3(setup, "return [1]"))


def test_missing_evaluate_pixel_and_syntax_error(engine):
    with pytest.raises(EvalscriptError, match="no evaluatePixel"):
        engine.load("//VERSION=3\nfunction setup(){return {input:['B04'], output:{bands:1}}}\n")
    with pytest.raises(EvalscriptError, match="does not compile: SyntaxError") as err:
        engine.load(
            "//VERSION=3\nfunction setup(){return {input:['B04'], output:{bands:1}}}\n"
            "function evaluatePixel(s) {\n  return [s.B04;\n}\n"
        )
    assert err.value.line == 4


@pytest.mark.parametrize(
    ("source", "line", "quoted"),
    [
        ("//VERSION=3\nfunction setup() {\n", 2, "function setup() {"),  # V8 reports the line after the script
        ("//VERSION=3\nreturn [B04];\n}\n", 3, "}"),  # a simple script closing its wrapper too early
    ],
)
def test_syntax_errors_at_the_end_name_a_line_of_the_script(engine, source, line, quoted):
    with pytest.raises(EvalscriptError, match="does not compile") as err:
        engine.load(source)
    assert err.value.line == line
    assert f"(at the end of the evalscript, line {line}: `{quoted}`)" in str(err.value)


def test_top_level_let_may_shadow_a_helper(engine):
    source = v3(
        "{input: ['B04'], output: {bands: 1, sampleType: 'FLOAT32'}}",
        "return [index * samples.B04]",
        extra="let index = 3;\nconst combine = 1;\nclass Identity {}\n",
    )
    with engine.load(source) as script:
        out = script.evaluate({None: [{"B04": band(2)}]}, {})
    assert out["default"][0, 0, 0] == 6


# -- evaluatePixel argument shapes ---------------------------------------------------------------------


def test_simple_mosaicking_shapes(engine):
    body = (
        "return [Object.keys(samples).join() === 'B04,dataMask' ? 1 : 0, Object.keys(scenes).length, "
        "inputMetadata.normalizationFactor, Object.keys(customData).length, "
        "'userData' in outputMetadata ? 1 : 0]"
    )
    source = v3("{input: ['B04', 'dataMask'], output: {bands: 5, sampleType: 'FLOAT32'}}", body)
    with engine.load(source) as script:
        out = script.evaluate({None: [{"B04": band(0.2), "dataMask": band(1)}]}, {})
    assert out["default"][:, 1, 2].tolist() == pytest.approx([1, 0, 0.0001, 0, 1])


def test_orbit_samples_are_per_day_and_scenes_carry_orbits_and_dates(engine):
    body = (
        "return [samples.length, samples[0].B04, samples[1].B04, scenes.orbits.length, "
        "scenes.orbits[0].tiles.length, scenes[0].date.getDate(), scenes[1].date.getMonth(), "
        "scenes.orbits[1].dateFrom === '2020-12-04T00:00:00Z' ? 1 : 0]"
    )
    source = v3("{input: ['B04'], output: {bands: 8, sampleType: 'FLOAT32'}, mosaicking: 'ORBIT'}", body)
    scenes = [scene(0, 6, 10), scene(1, 6, 11), scene(2, 4)]
    with engine.load(source) as script:
        out = script.evaluate({None: [{"B04": band(0.6)}, {"B04": band(0.4)}]}, {None: scenes})
    assert out["default"][:, 0, 0].tolist() == pytest.approx([2, 0.6, 0.4, 2, 2, 6, 11, 1], rel=1e-6)


def test_tile_samples_and_zero_scenes(engine):
    body = "return [samples.length, scenes.tiles.length, samples.length ? scenes.tiles[0].cloudCoverage : -1]"
    source = v3("{input: ['B04'], output: {bands: 3, sampleType: 'FLOAT32'}, mosaicking: 'TILE'}", body)
    with engine.load(source) as script:
        out = script.evaluate({None: [{"B04": band(1)}] * 2}, {None: [scene(3, 6), scene(4, 6)]})
        empty = script.evaluate({None: []}, {None: []}, shape=(2, 2))
    assert out["default"][:, 0, 0].tolist() == [2, 2, 3]
    assert empty["default"].shape == (3, 2, 2) and empty["default"][:, 0, 0].tolist() == [0, 0, -1]


def test_data_fusion_samples_are_keyed_arrays(engine):
    setup = (
        "{input: [{datasource: 's1', bands: ['VV']}, {datasource: 'l2a', bands: ['B04'], "
        "mosaicking: 'ORBIT'}], output: {bands: 3, sampleType: 'FLOAT32'}}"
    )
    body = "return [samples.s1.length, samples.s1[0].VV, samples.l2a.length]"
    with engine.load(v3(setup, body)) as script:
        assert [i.datasource for i in script.setup.inputs] == ["s1", "l2a"]
        out = script.evaluate(
            {"s1": [{"VV": band(0.25)}], "l2a": [{"B04": band(1)}] * 3},
            {"l2a": [scene(0, 6), scene(1, 5), scene(2, 4)]},
        )
    assert out["default"][:, 0, 0].tolist() == [1, 0.25, 3]


def test_globals_persist_across_chunks_and_reach_update_output_metadata(engine):
    extra = "var maxValue = -1;\nvar count = 0;\n"
    body = "count++; maxValue = Math.max(maxValue, samples.B04); return [samples.B04]"
    source = (
        v3("{input: ['B04'], output: {bands: 1, sampleType: 'FLOAT32'}}", body, extra)
        + "function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {\n"
        "  outputMetadata.userData = {max: maxValue, count: count};\n}\n"
    )
    from eobatch.evalscript import EvalscriptEngine

    small_chunks = EvalscriptEngine(timeout_s=10, max_memory_mb=128, chunk_pixels=7)
    values = np.arange(30, dtype=np.float32).reshape(5, 6)
    with small_chunks.load(source) as script:
        out = script.evaluate({None: [{"B04": values}]}, {})
        assert script.output_metadata() == {"max": 29, "count": 30}
    assert out["default"][0].tolist() == values.tolist()


# -- hooks ---------------------------------------------------------------------------------------------


def test_legacy_filter_scenes_gets_dates_and_time_range(engine):
    extra = (
        "function filterScenes(scenes, inputMetadata) {\n  return scenes.filter((s) => "
        "s.date.getTime() >= inputMetadata.to.getTime() - 2.5 * 24 * 3600 * 1000);\n}\n"
    )
    source = v3("{input: ['B04'], output: {bands: 1}, mosaicking: 'ORBIT'}", "return [1]", extra)
    scenes = [scene(0, 6, 10), scene(1, 6, 12), scene(2, 4), scene(3, 1)]
    with engine.load(source) as script:
        kept = script.filter_scenes(None, scenes, datetime(2020, 12, 1, tzinfo=UTC), datetime(2020, 12, 7, tzinfo=UTC))
    assert [s.id for s in kept] == ["s0", "s1"]


def test_pre_process_scenes_can_filter_and_reorder_tiles(engine):
    extra = (
        "function preProcessScenes(collections) {\n  collections.scenes.tiles = collections.scenes.tiles"
        ".filter((t) => t.cloudCoverage < 3).reverse();\n  return collections;\n}\n"
    )
    source = v3("{input: ['B04'], output: {bands: 1}, mosaicking: 'TILE'}", "return [1]", extra)
    with engine.load(source) as script:
        kept = script.filter_scenes(None, [scene(n, 6 - n) for n in range(5)], None, None)
    assert [s.id for s in kept] == ["s2", "s1", "s0"]


def test_update_output_sets_bands_from_scene_count(engine):
    extra = "function updateOutput(outputs, collection) { outputs.series.bands = collection.scenes.length; }\n"
    source = v3(
        "{input: ['B04'], output: {id: 'series', bands: 1, sampleType: 'FLOAT32'}, mosaicking: 'ORBIT'}",
        "return {series: samples.map((s) => s.B04)}",
        extra,
    )
    scenes = [scene(0, 6), scene(1, 5), scene(2, 4)]
    with engine.load(source) as script:
        outputs = script.update_output({None: 3}, {None: scenes})
        assert outputs == (OutputSpec("series", 3, "FLOAT32", None),)
        out = script.evaluate({None: [{"B04": band(v)} for v in (0.5, 1.5, 2.5)]}, {None: scenes})
    assert out["series"][:, 0, 0].tolist() == [0.5, 1.5, 2.5]


# -- return values -------------------------------------------------------------------------------------


def _run(engine, setup: str, body: str, strict: bool = False):
    from eobatch.evalscript import EvalscriptEngine

    eng = EvalscriptEngine(timeout_s=10, max_memory_mb=128, strict_band_count=strict) if strict else engine
    with eng.load(v3(setup, body)) as script:
        return script.evaluate({None: [{"B04": band(0.5, (2, 2))}]}, {})


def test_object_return_keyed_by_output_id(engine):
    setup = "{input: ['B04'], output: [{id: 'default', bands: 2}, {id: 'index', bands: 1, sampleType: 'FLOAT32'}]}"
    out = _run(engine, setup, "return {index: [samples.B04 * 4], default: [samples.B04, 1]}")
    assert out["index"][0, 0, 0] == 2 and out["default"][:, 1, 1].tolist() == [0.5, 1]


def test_coercions_and_undefined_return(engine):
    out = _run(
        engine,
        "{input: ['B04'], output: {bands: 4, sampleType: 'FLOAT32'}}",
        "return [true, null, [0.25], new Float32Array([2])[0]]",
    )
    assert out["default"][:, 0, 0].tolist() == [1, 0, 0.25, 2]
    nothing = _run(engine, "{input: ['B04'], output: {bands: 2, sampleType: 'FLOAT32'}}", "return undefined")
    assert np.isnan(nothing["default"]).all()


def test_bare_number_is_accepted_for_a_single_band(engine):
    out = _run(engine, "{input: ['B04'], output: {bands: 1, sampleType: 'FLOAT32'}}", "return samples.B04 + 1")
    assert out["default"][0, 0, 0] == 1.5


def test_extra_values_are_dropped_unless_strict(engine):
    setup = "{input: ['B04'], output: {bands: 2, sampleType: 'FLOAT32'}}"
    assert _run(engine, setup, "return [1, 2, 3]")["default"][:, 0, 0].tolist() == [1, 2]
    with pytest.raises(EvalscriptError, match='returned 3 values for output "default", which declares 2 bands'):
        _run(engine, setup, "return [1, 2, 3]", strict=True)


@pytest.mark.parametrize(
    ("setup", "body", "message"),
    [
        ("{input: ['B04'], output: {bands: 2}}", "return 1", "Script must return an array."),
        ("{input: ['B04'], output: {bands: 2}}", "return 'ab'", "Script must return an array."),
        ("{input: ['B04'], output: {bands: 3}}", "return [1, 2]", 'returned 2 values for output "default"'),
        ("{input: ['B04'], output: {bands: 2}}", "return [1, 'x']", 'returned the string "x" instead of a number'),
        ("{input: ['B04'], output: {bands: 2}}", "return [1, undefined]", "returned undefined instead of a number"),
        (
            "{input: ['B04'], output: [{id: 'a', bands: 1}, {id: 'b', bands: 1}]}",
            "return {a: [1]}",
            'without output "b"',
        ),
        (
            "{input: ['B04'], output: [{id: 'a', bands: 1}, {id: 'b', bands: 1}]}",
            "return [1, 2]",
            "object keyed by output id: a, b",
        ),
    ],
)
def test_wrong_return_shapes_name_the_problem_and_pixel(engine, setup, body, message):
    with pytest.raises(EvalscriptError, match="pixel \\(row 0, column 0\\)") as err:
        _run(engine, setup, body)
    assert message in err.value.message


def test_script_throwing_on_some_pixels_names_line_pixel_and_message(engine):
    body = "if (samples.B04 > 0.7) {\n  throw new Error('too bright: ' + samples.B04);\n}\nreturn [samples.B04]"
    source = v3("{input: ['B04'], output: {bands: 1}}", body)
    values = np.array([[0.1, 0.2, 0.3], [0.4, 0.9, 0.1]], dtype=np.float32)
    with engine.load(source) as script, pytest.raises(EvalscriptError) as err:
        script.evaluate({None: [{"B04": values}]}, {})
    assert err.value.line == 5
    assert "pixel (row 1, column 1)" in err.value.message and "too bright: 0.899999" in err.value.message
    assert "throw new Error" in err.value.message


def test_non_finite_nodata_values_survive_setup(engine):
    source = """//VERSION=3
function setup() {
  return {input: ["B04"], output: [{id: "a", bands: 1, sampleType: "FLOAT32", nodataValue: NaN},
                                   {id: "b", bands: 1, sampleType: "FLOAT32", nodataValue: -Infinity},
                                   {id: "c", bands: 1, nodataValue: 0}]};
}
function evaluatePixel(s) { return {a: [s.B04], b: [s.B04], c: [s.B04]}; }
"""
    with engine.load(source) as script:
        a, b, c = (o.nodata_value for o in script.setup.outputs)
    assert math.isnan(a) and b == float("-inf") and c == 0.0
