"""Output settings as the plan holds them (parsed at intake) and the format validator."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eobatch.api.intake import IntakeContext
from eobatch.api.intake import parse_cog_parameters as parse_cog
from eobatch.api.v1.intake import parse_v1
from eobatch.api.v2.intake import parse_v2
from eobatch.domain.plan import Destination, Output
from eobatch.errors import BadRequest
from eobatch.processing import CogParameters, validate_output_formats
from eobatch.settings import Settings
from tests.api.helpers import body
from tests.v2.test_api_v2 import v2_body


@dataclass(frozen=True)
class Out:  # the shape of evalscript.OutputSpec
    id: str
    bands: int
    sample_type: str
    nodata_value: float | None = None


def _responses(*pairs):
    return [
        Output(id=i, format=t, destination=Destination(path="s3://bkt/<tileName>/<outputId>.<format>"))
        for i, t in pairs
    ]


def _plan(output: dict, responses=None, bucket_name=None):
    """The plan of a v1 body with this `output` (and extra `processRequest.output.responses`)."""
    request = body(output=output, bucketName=bucket_name)
    request["processRequest"]["output"]["responses"] = responses or [{"identifier": "default"}]
    return parse_v1(request, IntakeContext(Settings(), stored=True)).plan


def _template_for(plan, output_id: str) -> str:
    return next(o.destination.path for o in plan.outputs if o.id == output_id)


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
    out = _plan(
        {
            "defaultTilePath": "s3://bkt/<tileName>/<outputId>.<format>",
            "overwrite": True,
            "cogOutput": True,
            "cogParameters": {"overviewLevels": [2, 4], "blockxsize": 512, "blockysize": 256, "usePredictor": False},
        },
        [{"identifier": "default"}, {"identifier": "index", "tilePath": "s3://bkt/idx/<tileName>.<format>"}],
    )
    assert out.write.overwrite and out.cog is not None and not out.write.skip_existing
    assert out.cog == CogParameters((2, 4), None, "average", 512, 256, False)
    assert _template_for(out, "index") == "s3://bkt/idx/<tileName>.<format>"
    assert _template_for(out, "default") == "s3://bkt/<tileName>/<outputId>.<format>"


def test_v2_delivery_and_bucket_name():
    intake = parse_v2(
        v2_body(
            output={
                "type": "raster",
                "delivery": {
                    "s3": {"url": "s3://bkt/x", "accessKey": "k", "secretAccessKey": "s", "region": "eu-central-1"}
                },
                "skipExisting": True,
            }
        ),
        IntakeContext(Settings(), stored=True),
    )
    out = intake.plan
    assert out.delivery.path.startswith("s3://bkt/x/") and out.write.skip_existing
    assert intake.credentials["accessKey"] == "k" and intake.credentials["region"] == "eu-central-1"
    assert _plan(None, bucket_name="bkt").delivery.path.startswith("s3://bkt/")


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
        parse_cog(params)


def test_missing_location():
    with pytest.raises(BadRequest, match="No output location"):
        _plan({"overwrite": True})


def test_the_worker_reads_only_locations_checked_at_create():
    """`output.responses[].tilePath` (the spec form, checked at create) is honoured; undocumented aliases
    that create never checks (`path`, `default_tile_path`) are not read."""
    out = _plan(
        {
            "defaultTilePath": "s3://bkt/<tileName>/<outputId>.<format>",
            "responses": [{"identifier": "index", "tilePath": "s3://bkt/idx/<tileName>.<format>"}],
        },
        [{"identifier": "default"}, {"identifier": "index"}],
    )
    assert _template_for(out, "index") == "s3://bkt/idx/<tileName>.<format>"
    for alias in ("path", "default_tile_path"):
        with pytest.raises(BadRequest, match="No output location"):
            _plan({alias: "s3://elsewhere/<tileName>"})


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
        parse_cog(params)
    assert err.value.errors[0].parameter == f"output.cogParameters.{field}" and field in err.value.message
