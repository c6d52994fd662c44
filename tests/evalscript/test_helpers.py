"""The built-in helper library, checked against the examples of the SH "Utility Functions" docs."""

from __future__ import annotations

import pytest

EXAMPLES = [
    # ColorMapVisualizer
    ("new ColorMapVisualizer([[200, 0xff0000], [300, 0x0000ff]]).process(199)", [1, 0, 0]),
    ("new ColorMapVisualizer([[200, 0xff0000], [300, 0x0000ff]]).process(200)", [1, 0, 0]),
    ("new ColorMapVisualizer([[200, 0xff0000], [300, 0x0000ff]]).process(250)", [1, 0, 0]),
    ("new ColorMapVisualizer([[200, 0xff0000], [300, 0x0000ff]]).process(299)", [1, 0, 0]),
    ("new ColorMapVisualizer([[200, 0xff0000], [300, 0x0000ff]]).process(300)", [0, 0, 1]),
    ("ColorMapVisualizer.createDefaultColorMap().process(0.95)", [0, 0x66 / 255, 0]),
    ("ColorMapVisualizer.createDefaultColorMap().process(-5)", [0, 0, 0]),
    # ColorRampVisualizer, hex and array colours
    ("new ColorRampVisualizer([[200, 0xFF0000], [300, 0x0000FF]]).process(199)", [1, 0, 0]),
    ("new ColorRampVisualizer([[200, 0xFF0000], [300, 0x0000FF]]).process(200)", [1, 0, 0]),
    (
        "new ColorRampVisualizer([[200, 0xFF0000], [300, 0x0000FF]]).process(250)",
        [0.4980392156862745, 0, 0.4980392156862745],
    ),
    (
        "new ColorRampVisualizer([[200, 0xFF0000], [300, 0x0000FF]]).process(299)",
        [0.00784313725490196, 0, 0.9882352941176471],
    ),
    ("new ColorRampVisualizer([[200, 0xFF0000], [300, 0x0000FF]]).process(300)", [0, 0, 1]),
    ("new ColorRampVisualizer([[200, [1, 0, 0]], [300, [0, 0, 1]]]).process(199)", [1, 0, 0]),
    ("new ColorRampVisualizer([[200, [1, 0, 0]], [300, [0, 0, 1]]]).process(300)", [0, 0, 1]),
    ("new ColorRampVisualizer([[0, 0x000000], [1, 0xFFFFFF]], 10, 20).process(15)", [127 / 255] * 3),
    ("new ColorRampVisualizer([[0, 0xFF0000], [1, 0x0000FF]]).inverse().process(0)", [0, 0, 1]),
    ("ColorRampVisualizer.createRedTemperature(0.0, 1.0).process(0.0)", [0, 0, 0]),
    ("ColorRampVisualizer.createRedTemperature(0.0, 1.0).process(0.3)", [1, 0.43137254901960786, 0]),
    ("ColorRampVisualizer.createRedTemperature(0.0, 1.0).process(0.5)", [1, 0.5137254901960784, 0]),
    ("ColorRampVisualizer.createRedTemperature(0.0, 1.0).process(0.8)", [1, 0.8, 0.5764705882352941]),
    ("ColorRampVisualizer.createRedTemperature(0.0, 1.0).process(1.0)", [1, 1, 1]),
    ("ColorRampVisualizer.createWhiteGreen(0.0, 1.0).process(0.0)", [0, 0, 0]),
    ("ColorRampVisualizer.createWhiteGreen(0.0, 1.0).process(0.3)", [0, 0.4, 0]),
    ("ColorRampVisualizer.createWhiteGreen(0.0, 1.0).process(0.5)", [0.3333333333333333, 0.6, 0]),
    (
        "ColorRampVisualizer.createWhiteGreen(0.0, 1.0).process(0.8)",
        [0.7490196078431373, 0.8509803921568627, 0.4980392156862745],
    ),
    ("ColorRampVisualizer.createWhiteGreen(0.0, 1.0).process(1.0)", [1, 1, 1]),
    ("ColorRampVisualizer.createBlueRed(0.0, 1.0).process(0.0)", [0, 0, 0.5019607843137255]),
    ("ColorRampVisualizer.createBlueRed(0.0, 1.0).process(0.3)", [0, 0.6980392156862745, 1]),
    ("ColorRampVisualizer.createBlueRed(0.0, 1.0).process(0.5)", [0.4980392156862745, 1, 0.4980392156862745]),
    ("ColorRampVisualizer.createBlueRed(0.0, 1.0).process(0.8)", [1, 0.2980392156862745, 0]),
    ("ColorRampVisualizer.createBlueRed(0.0, 1.0).process(1.0)", [0.5019607843137255, 0, 0]),
    ("ColorRampVisualizer.createOceanColor(0, 1).process(0)", [147 / 255, 0, 108 / 255]),
    # ColorGradientVisualizer (deprecated)
    ("ColorGradientVisualizer.createRedTemperature(0.0, 1.0).process(0.0)", [0, 0, 0]),
    ("ColorGradientVisualizer.createRedTemperature(0.0, 1.0).process(0.3)", [0.43137254901960786, 0, 0]),
    (
        "ColorGradientVisualizer.createRedTemperature(0.0, 1.0).process(0.5)",
        [0.7176470588235294, 0.047058823529411764, 0],
    ),
    ("ColorGradientVisualizer.createRedTemperature(0.0, 1.0).process(0.8)", [1, 0.6196078431372549, 0.2]),
    ("ColorGradientVisualizer.createRedTemperature(0.0, 1.0).process(1.0)", [1, 1, 1]),
    ("ColorGradientVisualizer.createWhiteGreen(0.0, 1.0).process(0.0)", [0, 0, 0]),
    ("ColorGradientVisualizer.createWhiteGreen(0.0, 1.0).process(0.3)", [0, 0.2980392156862745, 0]),
    ("ColorGradientVisualizer.createWhiteGreen(0.0, 1.0).process(0.5)", [0.16862745098039217, 0.5019607843137255, 0]),
    ("ColorGradientVisualizer.createWhiteGreen(0.0, 1.0).process(0.8)", [0.6666666666666666, 0.8, 0.3333333333333333]),
    ("ColorGradientVisualizer.createWhiteGreen(0.0, 1.0).process(1.0)", [1, 1, 1]),
    ("ColorGradientVisualizer.createBlueRed(0.0, 1.0).process(0.0)", [0, 0, 0.5019607843137255]),
    ("ColorGradientVisualizer.createBlueRed(0.0, 1.0).process(0.3)", [0, 0.7019607843137254, 1]),
    ("ColorGradientVisualizer.createBlueRed(0.0, 1.0).process(0.5)", [0.5019607843137255, 1, 0.5019607843137255]),
    ("ColorGradientVisualizer.createBlueRed(0.0, 1.0).process(0.8)", [1, 0.2980392156862745, 0]),
    ("ColorGradientVisualizer.createBlueRed(0.0, 1.0).process(1.0)", [0.5019607843137255, 0, 0]),
    # HighlightCompressVisualizer(0.1, 0.4)
    ("new HighlightCompressVisualizer(0.1, 0.4).process(0)", 0),
    ("new HighlightCompressVisualizer(0.1, 0.4).process(0.1)", 0),
    ("new HighlightCompressVisualizer(0.1, 0.4).process(0.25)", 0.5),
    ("new HighlightCompressVisualizer(0.1, 0.4).process(0.376)", 0.92),
    ("new HighlightCompressVisualizer(0.1, 0.4).process(0.4)", 0.925925925925926),
    ("new HighlightCompressVisualizer(0.1, 0.4).process(0.7)", 1),
    ("new HighlightCompressVisualizer(0.1, 0.4).process(1.1)", 1),
    ("new HighlightCompressVisualizerSingle(0.1, 0.4).process(0.25)", [0.5]),
    ("new HighlightCompressVisualizer(0.1, 0.4).processList([0.1, 0.25])", [0, 0.5]),
    ("new DefaultVisualizer(0, 0.4).process(0.2)", 0.5),
    ("new DefaultVisualizer(0, 0.4).process(0.8)", 1),
    ("new DefaultVisualizer(0, 1, 1, 0, 2).process(0.5)", 0.25),
    ("new Identity().process(3)", [3]),
    ("new Identity().process([1, 2])", [1, 2]),
    # helper functions
    ("int2rgb(255)", [0, 0, 255]),
    ("int2rgb(256)", [0, 1, 0]),
    ("int2rgb(65537)", [1, 0, 1]),
    ("rgb2int([0, 0, 255])", 255),
    ("rgb2int([0, 1, 0])", 256),
    ("rgb2int([1, 0, 1])", 65537),
    ("normalizeRGB([255, 0, 51])", [1, 0, 0.2]),
    ("combine([100, 0, 0], [0, 100, 0], 1)", [100, 0, 0]),
    ("combine([100, 0, 0], [0, 100, 0], 0)", [0, 100, 0]),
    ("combine([100, 0, 0], [0, 100, 0], 0.5)", [50, 50, 0]),
    ("index(0.6, 0.4)", 0.2),
    ("index(0.5, -0.5)", 0),
    ("inverse(2.0)", 0.5),
    ("inverse(5.0)", 0.2),
    ("inverse(0)", 1.7976931348623157e308),
    ("valueMap(5, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900])", 500),
    ("valueMap(1, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900])", 100),
    ("valueMap(2, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900])", 300),
    ("valueMap(12, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900])", 900),
    ("valueMap(50)", 50),
    ("valueInterpolate(0, [-10, -5, 0, 5, 10], [-1000, -50, 0, 50, 1000])", 0),
    ("valueInterpolate(-10, [-10, -5, 0, 5, 10], [-1000, -50, 0, 50, 1000])", -1000),
    ("valueInterpolate(9, [-10, -5, 0, 5, 10], [-1000, -50, 0, 50, 1000])", 810),
    ("valueInterpolate(50)", 50),
    (
        "valueInterpolate(0.1, [0, 0.2, 0.4, 0.6, 0.8, 1], [[0, 0, 0], [0.1, 0.2, 0.5], [0.25, 0.4, 0.5], "
        "[0.4, 0.6, 0.5], [0.75, 0.8, 0.5], [1, 1, 0.5]])",
        [0.05, 0.1, 0.25],
    ),
    ("colorBlend(9, [-10, -5, 0, 5, 10], [-1000, -50, 0, 50, 1000])", 810),
    ("colorMap(0.5, [0, 1], [[1, 0, 0], [0, 1, 0]])", [0, 1, 0]),
    ("colorMap(2, [0, 1], [[1, 0, 0], [0, 1, 0]])", [0, 1, 0]),
    (
        "decodeL8C2Qa(55052)",
        {
            "cirrus": 1,
            "cirrusConfidence": 3,
            "clear": 0,
            "cloud": 1,
            "cloudConfidence": 3,
            "cloudShadow": 0,
            "cloudShadowConfidence": 1,
            "dilatedCloud": 0,
            "fill": 0,
            "snow": 0,
            "snowIceConfidence": 1,
            "water": 0,
        },
    ),
    ("decodeS3OLCIQualityFlags(2 ** 31 + 1).land", 1),
    ("decodeS3OLCIQualityFlags(2 ** 31 + 1).saturatedB21", 1),
    ("decodeS3OLCIQualityFlags(2 ** 31 + 1).saturatedB01", 0),
    ("decodeLs8Qa(16).cloud", 1),
    ("JAVA_DOUBLE_MAX_VAL", 1.7976931348623157e308),
    ("[blueRed.length, redTemperature.length, greenWhite.length, oceanColor.length]", [6, 5, 4, 21]),
    (
        "[SampleType.AUTO, SampleType.UINT16, SampleType.FLOAT32, Mosaicking.ORBIT, Mosaicking.TILE]",
        ["AUTO", "UINT16", "FLOAT32", "ORBIT", "TILE"],
    ),
]


def _close(actual, expected) -> bool:
    if isinstance(expected, dict | str):
        return actual == expected
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(_close(a, e) for a, e in zip(actual, expected, strict=True))
    return actual == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("expr", "expected"), EXAMPLES, ids=[e[0][:60] for e in EXAMPLES])
def test_documented_example(js, expr, expected):
    assert _close(js(expr), expected), js(expr)


def test_color_blend_does_not_mutate_its_colours(js):
    assert js("(() => { const c = [[0, 0, 0], [1, 1, 1]]; colorBlend(0.5, [0, 1], c); return c; })()") == [
        [0, 0, 0],
        [1, 1, 1],
    ]


def test_gain_override_global_is_read_by_visualizers(engine):
    script = engine.load(
        "//VERSION=3\nvar gainOverride = 2;\n"
        "function setup(){return {input:['B04'], output:{bands:1, sampleType:'FLOAT32'}}}\n"
        "function evaluatePixel(s){return [new DefaultVisualizer(0, 1).process(s.B04)]}\n"
    )
    import numpy as np

    out = script.evaluate({None: [{"B04": np.full((1, 1), 0.25, np.float32)}]}, {})
    assert out["default"][0, 0, 0] == 0.5
    script.close()


def test_dates_use_utc_whatever_the_host_zone(js):
    assert js("new Date('2020-12-06T23:30:00Z').getDate()") == 6
    assert js("new Date(2020, 0, 1).getTime()") == 1577836800000
    assert js("new Date('2020-01-01T00:00:00').getTimezoneOffset()") == 0
    assert js("new Date('2020-01-01T00:00:00').getTime()") == 1577836800000
    assert js("new Date(0) instanceof Date") is True
