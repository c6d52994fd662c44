"""The area of interest: CRSs, bbox and geometry, the antimeridian and the precise errors for bad input."""

from __future__ import annotations

import pytest
import shapely

from eobatch.errors import BadRequest
from eobatch.grids import area_from_bounds

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def polygon(*ring: tuple[float, float]) -> dict:
    return {"type": "Polygon", "coordinates": [[list(p) for p in (*ring, ring[0])]]}


def rejected(bounds: dict) -> tuple[str, str]:
    with pytest.raises(BadRequest) as info:
        area_from_bounds(bounds)
    return info.value.errors[0].parameter, info.value.errors[0].violation


def test_bbox_defaults_to_crs84() -> None:
    area = area_from_bounds({"bbox": [13.8, 45.8, 14.6, 46.3]})
    assert area.bounds == pytest.approx((13.8, 45.8, 14.6, 46.3))


@pytest.mark.parametrize(
    "crs",
    [
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
        EPSG + "4326",
        "urn:ogc:def:crs:EPSG::4326",
    ],
)
def test_geographic_crs_urls_are_read_in_lon_lat_order(crs: str) -> None:
    area = area_from_bounds({"bbox": [13.8, 45.8, 14.6, 46.3], "properties": {"crs": crs}})
    assert area.bounds == pytest.approx((13.8, 45.8, 14.6, 46.3))


@pytest.mark.parametrize(
    ("code", "bbox", "lonlat"),
    [
        (32633, [461000, 5099000, 462000, 5100000], (14.5, 46.04)),  # UTM 33N, Ljubljana
        (32756, [334000, 6250000, 335000, 6251000], (151.21, -33.87)),  # UTM 56S, Sydney
        (3857, [1614000, 5790000, 1615000, 5791000], (14.5, 46.05)),  # Web Mercator
        (3035, [4300000, 3200000, 4301000, 3201000], (9.70, 51.91)),  # LAEA Europe, near its origin (10E 52N)
    ],
)
def test_projected_bbox_is_transformed_to_lon_lat(code: int, bbox: list, lonlat: tuple) -> None:
    area = area_from_bounds({"bbox": bbox, "properties": {"crs": f"{EPSG}{code}"}})
    centre = area.centroid
    assert (centre.x, centre.y) == pytest.approx(lonlat, abs=0.1)


def test_bbox_and_geometry_give_their_intersection() -> None:
    area = area_from_bounds({"bbox": [0, 0, 2, 2], "geometry": polygon((1, 1), (3, 1), (3, 3), (1, 3))})
    assert area.equals(shapely.box(1, 1, 2, 2))


def test_bbox_west_of_east_edge_crosses_the_antimeridian() -> None:
    area = area_from_bounds({"bbox": [179.0, 10.0, -179.0, 11.0]})
    assert area.geom_type == "MultiPolygon"
    assert area.area == pytest.approx(2.0)
    assert area.bounds == pytest.approx((-180.0, 10.0, 180.0, 11.0))


def test_polygon_running_past_180_is_cut_and_wrapped() -> None:
    area = area_from_bounds({"geometry": polygon((178, 0), (182, 0), (182, 1), (178, 1))})
    assert area.area == pytest.approx(4.0)
    assert shapely.box(-180, 0, -178, 1).equals(shapely.intersection(area, shapely.box(-180, -1, 0, 2)))


def test_utm_area_across_the_antimeridian_stays_continuous() -> None:
    # zone 60 coordinates reaching past 180 degrees east
    area = area_from_bounds({"bbox": [700000, 1000000, 900000, 1100000], "properties": {"crs": f"{EPSG}32660"}})
    assert area.area < 5.0  # not a band around the globe
    assert area.bounds[0] == pytest.approx(-180.0) and area.bounds[2] == pytest.approx(180.0)


@pytest.mark.parametrize(
    ("bounds", "parameter", "fragment"),
    [
        ({"geometry": polygon((0, 0), (1, 1), (1, 0), (0, 1))}, "geometry", "Self-intersection"),
        ({"geometry": {"type": "Polygon", "coordinates": []}}, "geometry", "empty"),
        ({"geometry": polygon((0, 0), (1, 1), (2, 2))}, "geometry", "not a valid polygon"),
        ({"geometry": {"type": "Point", "coordinates": [0, 0]}}, "geometry", "Polygon or MultiPolygon"),
        ({"bbox": [0, 0, 1]}, "bbox", "four numbers"),
        ({"bbox": [0, 1, 1, 0]}, "bbox", "minY"),
        ({"bbox": [0, 0, 1, 95]}, "bbox", "latitude 95"),
        ({"geometry": polygon((0, 0), (400, 0), (400, 1))}, "geometry", "longitude 400"),
        ({"bbox": [0, 0, 9e6, 1e6], "properties": {"crs": f"{EPSG}32633"}}, "bbox", "valid domain"),
        ({"bbox": [-9e6, 0, -8e6, 1e6], "properties": {"crs": f"{EPSG}3035"}}, "bbox", "valid domain"),
        ({"bbox": [0, 0, 1, 1], "properties": {"crs": "http://example.com/crs/1"}}, "properties.crs", "Unknown CRS"),
        ({"bbox": [0, 0, 1, 1], "properties": {"crs": f"{EPSG}999999"}}, "properties.crs", "Unknown CRS"),
        ({"bbox": [0, 0, 1, 1], "geometry": polygon((5, 5), (6, 5), (6, 6))}, "bounds", "do not overlap"),
        ({}, "bounds", "bbox"),
    ],
)
def test_bad_areas_are_rejected_with_the_field_and_the_reason(bounds: dict, parameter: str, fragment: str) -> None:
    got_parameter, violation = rejected(bounds)
    assert got_parameter.startswith("processRequest.input.bounds")
    assert got_parameter.endswith(parameter)
    assert fragment in violation
