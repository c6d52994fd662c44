import datetime as dt

import pytest

from eobatch.collections import validate_data_filter
from eobatch.errors import BadRequest

RANGE = {"from": "2024-04-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}


def test_valid_filter_is_parsed_with_defaults():
    parsed = validate_data_filter({"timeRange": RANGE})
    assert parsed.time_from == dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
    assert parsed.time_to == dt.datetime(2024, 6, 30, 23, 59, 59, tzinfo=dt.UTC)
    assert (parsed.max_cloud_coverage, parsed.mosaicking_order) == (100.0, "mostRecent")


def test_offsets_are_converted_to_utc_and_an_instant_range_is_allowed():
    parsed = validate_data_filter(
        {"timeRange": {"from": "2024-04-01T02:00:00+02:00", "to": "2024-04-01T00:00:00Z"}, "maxCloudCoverage": 0}
    )
    assert parsed.time_from == parsed.time_to
    assert parsed.max_cloud_coverage == 0.0


@pytest.mark.parametrize(
    ("data_filter", "parameter", "text"),
    [
        pytest.param(
            {"timeRange": {"from": "2024-05-01T00:00:00Z", "to": "2024-04-01T00:00:00Z"}},
            "processRequest.input.data[2].dataFilter.timeRange",
            "reversed",
            id="reversed",
        ),
        pytest.param({"timeRange": {}}, "processRequest.input.data[2].dataFilter.timeRange", "required", id="empty"),
        pytest.param({}, "processRequest.input.data[2].dataFilter.timeRange", "required", id="missing"),
        pytest.param(
            {"timeRange": {"from": "2024-04-01", "to": "2024-04-02T00:00:00Z"}},
            "processRequest.input.data[2].dataFilter.timeRange.from",
            "without time",
            id="date-only",
        ),
        pytest.param(
            {"timeRange": {"from": "2024-04-01T25:00:00Z", "to": "2024-04-02T00:00:00Z"}},
            "processRequest.input.data[2].dataFilter.timeRange.from",
            "ISO 8601",
            id="bad-hour",
        ),
        pytest.param(
            {"timeRange": RANGE, "maxCloudCoverage": 101},
            "processRequest.input.data[2].dataFilter.maxCloudCoverage",
            "0 to 100",
            id="cc-high",
        ),
        pytest.param(
            {"timeRange": RANGE, "maxCloudCoverage": -1},
            "processRequest.input.data[2].dataFilter.maxCloudCoverage",
            "0 to 100",
            id="cc-low",
        ),
        pytest.param(
            {"timeRange": RANGE, "maxCloudCoverage": "50"},
            "processRequest.input.data[2].dataFilter.maxCloudCoverage",
            "number",
            id="cc-string",
        ),
        pytest.param(
            {"timeRange": RANGE, "mosaickingOrder": "newest"},
            "processRequest.input.data[2].dataFilter.mosaickingOrder",
            "leastCC",
            id="order",
        ),
    ],
)
def test_bad_filters_name_the_parameter(data_filter, parameter, text):
    with pytest.raises(BadRequest, match=text) as caught:
        validate_data_filter(data_filter, index=2)
    assert [v.parameter for v in caught.value.errors] == [parameter]


def test_byoc_does_not_allow_least_cc():
    with pytest.raises(BadRequest, match=r"allowed: mostRecent, leastRecent$"):
        validate_data_filter({"timeRange": RANGE, "mosaickingOrder": "leastCC"}, collection_type="byoc-x")
    assert (
        validate_data_filter(
            {"timeRange": RANGE, "mosaickingOrder": "leastCC"}, collection_type="sentinel-2-l2a"
        ).mosaicking_order
        == "leastCC"
    )
