"""Output path templates: default layout, placeholders, validation."""

from __future__ import annotations

import pytest

from eobatch.errors import BadRequest
from eobatch.storage import render_tile_path, split_s3_url, validate_path_template

IDS = {"request_id": "req-1", "tile_name": "33TVM_1_2", "tile_id": 2108082, "output_id": "default", "fmt": "tif"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("s3://bkt/folder", "s3://bkt/folder/req-1/33TVM_1_2/default.tif"),
        ("s3://bkt/folder/", "s3://bkt/folder/req-1/33TVM_1_2/default.tif"),
        ("s3://bkt", "s3://bkt/req-1/33TVM_1_2/default.tif"),
        ("bkt", "s3://bkt/req-1/33TVM_1_2/default.tif"),
        ("s3://bkt/<tileName>/<outputId>.<format>", "s3://bkt/33TVM_1_2/default.tif"),
        ("s3://bkt/<taskId>/<tileId>-<outputId>.<format>", "s3://bkt/req-1/2108082-default.tif"),
        ("s3://bkt/x/<requestId>_<tileName>.<format>", "s3://bkt/x/req-1_33TVM_1_2.tif"),
    ],
)
def test_render_tile_path(template, expected):
    assert render_tile_path(template, **IDS) == expected


def test_valid_templates_pass():
    validate_path_template("s3://bkt/folder", 3)
    validate_path_template("s3://bkt/<tileId>.<format>", 1)
    validate_path_template("s3://bkt/<tileName>/<outputId>.<format>", 2)


@pytest.mark.parametrize(
    ("template", "n_outputs", "words"),
    [
        ("s3://bkt/<requestId>/<outputId>.<format>", 1, "<tileName> or <tileId>"),
        ("s3://bkt/<tileName>.<format>", 2, "<outputId>"),
        ("s3://bkt/<tileName>/<bogus>.tif", 1, "unknown placeholder"),
        ("http://bkt/<tileName>", 1, "s3://"),
        ("s3://B!/<tileName>", 1, "Bucket name"),
        ("s3://bkt/../<tileName>", 1, "'..'"),
    ],
)
def test_invalid_templates_name_the_problem(template, n_outputs, words):
    with pytest.raises(BadRequest) as err:
        validate_path_template(template, n_outputs)
    assert words in err.value.message
    assert err.value.errors


def test_split_s3_url():
    assert split_s3_url("s3://my-bucket/a/b.tif") == ("my-bucket", "a/b.tif")
