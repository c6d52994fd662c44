"""The analysis computes its figures for all tiles at once; each must equal the straightforward per-tile
computation: pixel sizes and grids, footprints and their GeoJSON, scene counts, PU estimates."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping

from eobatch.collections.scene import Scene
from eobatch.collections.scene_index import SceneIndex
from eobatch.domain import cost
from eobatch.engine.estimate import CostInputs, estimate
from eobatch.grids import (
    area_from_bounds,
    footprint_wgs84,
    footprints_wgs84,
    pixel_grid,
    pixel_grids,
    pixel_sizes,
    tile_by_id,
    tiles_for_area,
)
from eobatch.grids.geo import WGS84, as_geojson, as_geojson_many, split_antimeridian, transformer

CASES = [  # grid, resolution, bbox: zone edges, the equator, the antimeridian, LAEA and WGS84 cells
    (1, 10.0, [5.8, 45.0, 6.3, 45.3]),
    (0, 60.0, [10.0, -0.3, 10.4, 0.3]),
    (2, 360.0, [179.0, 0.5, -179.5, 1.5]),
    (1, 20.0, [179.9, 10.0, -179.9, 10.1]),
    (3, 0.0002, [13.5, 45.5, 16.5, 47.5]),
    (6, 100.0, [10.0, 50.0, 14.0, 53.0]),
    (7, 20.0, [14.0, 46.0, 14.6, 46.4]),
]


def _per_tile_footprint(tile) -> shapely.Geometry:
    """The tile's corners transformed one tile at a time (SW, SE, NE, NW), cut at 180 when it jumps."""
    minx, miny, maxx, maxy = tile.bounds
    xs, ys = [minx, maxx, maxx, minx, minx], [miny, miny, maxy, maxy, miny]
    if tile.epsg != WGS84:
        xs, ys = transformer(tile.epsg, WGS84).transform(xs, ys)
    return split_antimeridian(shapely.Polygon(list(zip(xs, ys, strict=True))))


@pytest.mark.parametrize(("grid_id", "resolution", "bbox"), CASES)
def test_sizes_grids_footprints_and_geojson_of_all_tiles_equal_the_per_tile_functions(grid_id, resolution, bbox):
    tiles = tiles_for_area(grid_id, area_from_bounds({"bbox": bbox}))
    assert len(tiles) > 1
    assert [tile_by_id(grid_id, t.id) for t in tiles] == tiles  # ids, names, CRSs and bounds, one at a time
    one_by_one = [pixel_grid(t, resolution, 3, 5) for t in tiles]
    assert pixel_grids(tiles, resolution, 3, 5) == one_by_one
    assert pixel_sizes(tiles, resolution, 3, 5) == [(p.width, p.height) for p in one_by_one]
    footprints = footprints_wgs84(tiles)
    reference = [_per_tile_footprint(t) for t in tiles]
    assert [f.wkb for f in footprints] == [r.wkb for r in reference] == [footprint_wgs84(t).wkb for t in tiles]
    geojson = as_geojson_many(footprints)
    assert geojson == [as_geojson(f) for f in footprints]
    assert [list(g) for g in geojson] == [list(mapping(f)) for f in footprints]  # same key order
    if grid_id == 2:
        assert any(f.geom_type == "MultiPolygon" for f in footprints), "a tile cut at the antimeridian"


def test_geojson_of_mixed_geometries_equals_one_at_a_time() -> None:
    holed = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 1)]])
    geoms = [
        shapely.box(0, 0, 1, 1),
        holed,
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 2), (0, 0, 1)]),
        shapely.Polygon([(0, 0), (3, 0), (3, 1), (2, 2), (0, 1)]),
        shapely.box(5, 5, 6, 7),
    ]
    assert as_geojson_many(geoms) == [as_geojson(g) for g in geoms]
    assert as_geojson_many([]) == []


def _scenes(rng: random.Random, n: int) -> list[Scene]:
    start = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
    scenes = []
    for k in range(n):
        x, y = rng.uniform(13.0, 16.0), rng.uniform(45.0, 47.0)
        w, h = rng.choice([0.05, 0.3, 1.0]), rng.choice([0.05, 0.3, 1.0])
        cloud = rng.choice([None, 5.0, 40.0, 90.0])
        when = start + dt.timedelta(days=rng.uniform(-10, 40))
        scenes.append(Scene(f"S{k}", when, cloud, {}, shapely.box(x, y, x + w, y + h), 32633))
    return scenes


def test_scene_counts_of_all_tiles_equal_one_search_per_tile() -> None:
    rng = random.Random(14)
    tiles = tiles_for_area(1, area_from_bounds({"bbox": [13.5, 45.5, 15.5, 46.5]}))
    footprints = footprints_wgs84(tiles)
    touching = shapely.Polygon(footprints[0].exterior.coords[:-1][::-1])  # shares the first tile's outline
    corner = footprints[5].exterior.coords[0]
    index = SceneIndex(
        [
            *_scenes(rng, 60),
            Scene("edge", dt.datetime(2024, 4, 10, tzinfo=dt.UTC), 1.0, {}, touching, None),
            Scene("point", dt.datetime(2024, 4, 11, tzinfo=dt.UTC), 1.0, {}, shapely.box(*corner, *corner), None),
        ]
    )
    for time_from, time_to, max_cc in (
        (dt.datetime(2024, 4, 1, tzinfo=dt.UTC), dt.datetime(2024, 4, 30, tzinfo=dt.UTC), 100.0),
        (dt.datetime(2024, 4, 5, tzinfo=dt.UTC), dt.datetime(2024, 4, 20, tzinfo=dt.UTC), 30.0),
        (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 2, 1, tzinfo=dt.UTC), 100.0),
    ):
        counts = index.counts(footprints, time_from, time_to, max_cc)
        expected = [len(index.search(f, time_from, time_to, max_cc)) for f in footprints]
        assert counts.tolist() == expected
    assert max(expected) == 0
    wide = index.counts(footprints, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 12, 1, tzinfo=dt.UTC))
    assert wide.max() > 1 and wide.min() >= 0 and len(set(wide.tolist())) > 2  # the comparison saw real overlaps
    assert SceneIndex([]).counts(footprints, time_from, time_to).tolist() == [0] * len(footprints)


def _per_tile_estimate(sizes, inputs: CostInputs, scenes: list[int]) -> tuple[float, dict, list[float]]:
    """Every tile priced on its own (the rule of docs/engine.md, 'Processing units')."""

    def samples(n: int) -> int:
        return 1 if inputs.mosaicking.upper() == "SIMPLE" else max(n, 1)

    def charged(w: int, h: int, n: int) -> float:
        pu = cost.tile_pu(w, h, inputs.bands, float32=inputs.float32, samples=samples(n), fusion=inputs.fusion)
        return cost.charged_pu(w, h, pu)

    value = sum(
        [
            cost.tile_pu(
                w, h, inputs.bands, float32=inputs.float32, samples=inputs.estimated_samples, fusion=inputs.fusion
            )
            for w, h in sizes
        ]
    )
    per_tile = [charged(w, h, n) for (w, h), n in zip(sizes, scenes, strict=True)]
    low = sum([charged(w, h, min(scenes)) for w, h in sizes])
    high = sum([charged(w, h, max(scenes)) for w, h in sizes])
    expected = sum(per_tile)
    figures = {
        "low": max(low, 100.0),
        "high": max(high, 100.0),
        "expected": max(expected, 100.0),
        "scenes_per_tile": {"min": min(scenes), "max": max(scenes)},
    }
    return value, figures, per_tile


@pytest.mark.parametrize("mosaicking", ["SIMPLE", "ORBIT", "TILE"])
def test_estimate_equals_pricing_every_tile_on_its_own(mosaicking) -> None:
    rng = np.random.default_rng(3)
    sizes = [(1000, 1000)] * 500 + [tuple(int(v) for v in rng.integers(50, 3000, 2)) for _ in range(200)]
    rng.shuffle(sizes)
    scenes = [int(v) for v in rng.integers(0, 9, len(sizes))]
    inputs = CostInputs(
        bands=("B02", "B03", "B04", "B08", "dataMask"),
        float32=mosaicking == "TILE",
        fusion=1.0,
        mosaicking=mosaicking,
        estimated_samples=cost.estimated_samples(
            mosaicking, dt.datetime(2024, 4, 1, tzinfo=dt.UTC), dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
        ),
    )
    figures = estimate(sizes, inputs, scenes)
    value, cost_estimate, per_tile = _per_tile_estimate(sizes, inputs, scenes)
    assert figures.value_estimate == value  # exactly: the same floats summed in the same order
    assert figures.cost_estimate == cost_estimate
    assert figures.tile_pu == per_tile
