"""Create bodies of both APIs become one typed plan: one spelling of every destination, checked once."""

from __future__ import annotations

import pytest

from eobatch.api.intake import IntakeContext
from eobatch.api.v1.intake import parse_v1
from eobatch.api.v2.intake import parse_v2
from eobatch.domain.plan import BatchPlan, FeatureTiling, GridTiling
from eobatch.errors import BadRequest
from eobatch.settings import Settings
from tests.api.helpers import body
from tests.v2.test_api_v2 import v2_body


@pytest.fixture
def context(tmp_path) -> IntakeContext:
    return IntakeContext(Settings(data_dir=tmp_path))


def test_every_v1_spelling_of_a_destination_becomes_one_output_path(context):
    request = body(
        output={
            "defaultTilePath": "s3://results/<requestId>/<tileName>/<outputId>.<format>",
            "tilePaths": {"default": "s3://results/tp/<tileName>.<format>"},
            "overwrite": True,
        }
    )
    request["processRequest"]["output"]["responses"].append(
        {"identifier": "userdata", "format": {"type": "application/json"}, "tilePath": "s3://results/ud/<tileName>"}
    )
    plan = parse_v1(request, context).plan
    assert [(o.id, o.format, o.destination.path) for o in plan.outputs] == [
        ("default", "image/tiff", "s3://results/tp/<tileName>.<format>"),
        ("userdata", "application/json", "s3://results/ud/<tileName>"),
    ]
    assert plan.delivery.path == "s3://results/<requestId>/<tileName>/<outputId>.<format>"
    assert plan.write.overwrite and not plan.write.skip_existing and plan.cog is None
    assert isinstance(plan.tiling, GridTiling) and plan.tiling.resolution == 10.0
    assert plan.inputs[0].max_cloud_coverage == 60 and plan.area.crs.endswith("CRS84")

    bucket_only = parse_v1(body(output=None, bucketName="results"), context).plan
    assert bucket_only.outputs[0].destination.path == "s3://results/<requestId>/<tileName>/<outputId>.<format>"


def test_v1_and_v2_bodies_for_the_same_work_give_the_same_plan_parts(context):
    v1 = parse_v1(body(output={"defaultTilePath": "s3://results/<tileName>/<outputId>.<format>"}), context)
    request = v2_body(
        output={"type": "raster", "delivery": {"s3": {"url": "s3://results/<tileName>/<outputId>.<format>"}}}
    )
    request["processRequest"] = body()["processRequest"]
    v2 = parse_v2(request, context)
    for part in ("inputs", "area", "tiling", "outputs", "delivery", "write", "cog", "evalscript"):
        assert getattr(v1.plan, part) == getattr(v2.plan, part), part


def test_v2_keys_are_referenced_by_the_plan_and_kept_out_of_it(context):
    intake = parse_v2(v2_body(), context)
    assert intake.plan.delivery.credentials == "delivery"
    assert {o.destination.credentials for o in intake.plan.outputs} == {"delivery"}
    assert intake.credentials == {"accessKey": "AKIAEXAMPLE", "secretAccessKey": "s3cr3t", "region": "us-east-1"}
    assert "s3cr3t" not in str(intake.plan.to_json()) and intake.plan.cog is not None


def test_a_zarr_body_gives_one_array_output_per_response(context):
    request = v2_body(
        input={"type": "tiling-grid", "id": 3, "resolution": 0.0001},
        output={
            "type": "zarr",
            "delivery": {"s3": {"url": "s3://results/zarr/<requestId>"}},
            "group": {"zarr_format": 2, "coordinates": {"origin": "bottomLeft"}},
            "arrayParameters": {"dtype": "float32", "chunks": [1, 1000, 1000], "fill_value": "NaN"},
        },
    )
    request["processRequest"]["output"]["responses"] = [{"identifier": "ndvi", "format": {"type": "zarr/array"}}]
    plan = parse_v2(request, context).plan
    assert [(o.id, o.format, o.destination.path) for o in plan.outputs] == [
        ("ndvi", "zarr/array", "s3://results/zarr/<requestId>/ndvi")
    ]
    assert plan.zarr.origin == "bottomLeft" and plan.zarr.arrays[0].chunks == (1000, 1000)
    assert plan.zarr.arrays[0].fill_value == "NaN"


def test_a_plan_survives_its_json_form(context):
    plan = parse_v2(v2_body(), context).plan
    assert BatchPlan.from_json(plan.to_json()) == plan
    with pytest.raises(ValueError, match="schema version"):
        BatchPlan.from_json({**plan.to_json(), "version": 99})


def test_a_geopackage_input_is_a_feature_tiling(context, tmp_path):
    request = v2_body(input={"type": "geopackage", "features": {"s3": {"url": "s3://inputs/f.gpkg"}}})
    del request["processRequest"]["input"]["bounds"]
    plan = parse_v2(request, IntakeContext(context.settings, stored=True)).plan
    assert isinstance(plan.tiling, FeatureTiling) and plan.features == plan.tiling and plan.area is None
    assert plan.grid is None
    assert plan.tiling.url == "s3://inputs/f.gpkg" and plan.tiling.credentials is None


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_the_grid_rule_names_the_parameter_in_both_apis(context, api):
    if api == "v1":
        request, prefix = body(tilingGrid={"id": 1, "resolution": 7.0, "bufferX": 3}), "tilingGrid"
        parse = parse_v1
    else:
        request, prefix = v2_body(input={"type": "tiling-grid", "id": 1, "resolution": 7.0}), "input"
        parse = parse_v2
    with pytest.raises(BadRequest) as err:
        parse(request, context)
    assert err.value.errors[0].parameter == f"{prefix}.resolution"
    assert "Resolution 7.0 is not supported by tiling grid 1" in err.value.message
    assert "allowed: 10, 20" in err.value.message
