"""Output settings parsing and the create-time format validator."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eobatch.errors import BadRequest
from eobatch.processing import CogParameters, OutputSettings, validate_output_formats


@dataclass(frozen=True)
class Out:  # the shape of evalscript.OutputSpec
    id: str
    bands: int
    sample_type: str
    nodata_value: float | None = None


def _responses(*pairs):
    return [{"identifier": i, "format": {"type": t}} for i, t in pairs]


def test_valid_combinations_pass():
    outs = [Out("default", 4, "AUTO"), Out("index", 1, "FLOAT32")]
    validate_output_formats(
        _responses(("default", "image/png"), ("index", "image/tiff"), ("userdata", "application/json")), outs
    )
    validate_output_formats(_responses(("default", "image/jpeg")), [Out("default", 3, "UINT8")])
    validate_output_formats(_responses(("default", "image/tiff")), [Out("default", 1, "INT16")], cog_output=True)


@pytest.mark.parametrize(
    ("pairs", "outs", "cog", "words"),
    [
        ([("default", "image/jpeg")], [Out("default", 1, "FLOAT32")], False, "FLOAT32, which image/jpeg cannot"),
        ([("default", "image/png")], [Out("default", 1, "FLOAT32")], False, "image/png cannot hold"),
        ([("default", "image/png")], [Out("default", 1, "INT16")], False, "allowed: AUTO, UINT16, UINT8"),
        ([("default", "image/tiff")], [Out("default", 1, "INT8")], True, "INT8"),
        ([("default", "image/png")], [Out("default", 3, "UINT8")], True, "cogOutput requires"),
        ([("default", "image/webp")], [Out("default", 3, "UINT8")], False, "not supported"),
        ([("other", "image/tiff")], [Out("default", 3, "UINT8")], False, "not an evalscript output"),
        ([("userdata", "image/tiff")], [Out("default", 3, "UINT8")], False, "must be application/json"),
        ([("default", "application/json")], [Out("default", 3, "UINT8")], False, "only for the 'userdata'"),
        ([("default", "image/png")], [Out("default", 5, "UINT8")], False, "at most 4"),
    ],
)
def test_invalid_combinations_are_rejected(pairs, outs, cog, words):
    with pytest.raises(BadRequest) as err:
        validate_output_formats(_responses(*pairs), outs, cog_output=cog)
    assert words in err.value.message
    assert err.value.errors[0].parameter.startswith("processRequest.output.responses[0]")


def test_v1_output_settings():
    out = OutputSettings.parse(
        {
            "defaultTilePath": "s3://b/<tileName>/<outputId>.<format>",
            "overwrite": True,
            "cogOutput": True,
            "cogParameters": {"overviewLevels": [2, 4], "blockxsize": 512, "blockysize": 256, "usePredictor": False},
        },
        [{"identifier": "index", "tilePath": "s3://b/idx/<tileName>.<format>"}],
    )
    assert out.overwrite and out.cog_output and not out.skip_existing
    assert out.cog == CogParameters((2, 4), None, "average", 512, 256, False)
    assert out.template_for("index") == "s3://b/idx/<tileName>.<format>"
    assert out.template_for("default") == "s3://b/<tileName>/<outputId>.<format>"


def test_v2_delivery_and_bucket_name():
    out = OutputSettings.parse(
        {
            "type": "raster",
            "delivery": {"s3": {"url": "s3://b/x", "accessKey": "k", "secretAccessKey": "s", "region": "eu-central-1"}},
            "skipExisting": True,
        }
    )
    assert out.default_tile_path == "s3://b/x" and out.skip_existing
    assert out.credentials.access_key == "k" and out.credentials.region == "eu-central-1"
    assert OutputSettings.parse({"bucketName": "bkt"}).default_tile_path == "s3://bkt"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"resamplingAlgorithm": "bogus"}, "resamplingAlgorithm"),
        ({"blockxsize": 100}, "multiple of 16"),
        ({"overviewLevels": [1, 2]}, ">= 2"),
    ],
)
def test_bad_cog_parameters(params, words):
    with pytest.raises(BadRequest, match=words):
        CogParameters.parse(params)


def test_missing_location():
    with pytest.raises(BadRequest, match="No output location"):
        OutputSettings.parse({"overwrite": True})


def test_the_worker_reads_only_locations_checked_at_create():
    """`output.responses[].tilePath` (the spec form, checked at create) is honoured; undocumented aliases
    that create never checks (`path`, `default_tile_path`) are not read."""
    out = OutputSettings.parse(
        {
            "defaultTilePath": "s3://b/<tileName>/<outputId>.<format>",
            "responses": [{"identifier": "index", "tilePath": "s3://b/idx/<tileName>.<format>"}],
        }
    )
    assert out.template_for("index") == "s3://b/idx/<tileName>.<format>"
    for alias in ("path", "default_tile_path"):
        with pytest.raises(BadRequest, match="No output location"):
            OutputSettings.parse({alias: "s3://elsewhere/<tileName>"})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"blockxsize": "512"}, "blockxsize"),
        ({"blockysize": 256.5}, "blockysize"),
        ({"blockxsize": True}, "blockxsize"),
        ({"overviewLevels": 4}, "overviewLevels"),
        ({"overviewLevels": ["x"]}, "overviewLevels"),
        ({"overviewMinSize": "1"}, "overviewMinSize"),
        ({"usePredictor": "no"}, "usePredictor"),
        ({"resamplingAlgorithm": 3}, "resamplingAlgorithm"),
    ],
)
def test_cog_parameters_of_the_wrong_type_name_the_field(params, field):
    with pytest.raises(BadRequest) as err:
        CogParameters.parse(params)
    assert err.value.errors[0].parameter == f"output.cogParameters.{field}" and field in err.value.message
