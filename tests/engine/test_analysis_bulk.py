"""The analysis computes its figures for all tiles at once; each must equal the straightforward per-tile
computation: tiles, pixel sizes and grids, footprints and their GeoJSON (and its JSON text), scene counts, PU
estimates, and the tiles a real analysis stores must be the rows the per-tile path stores."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from pathlib import Path

import numpy as np
import pytest
import shapely
import shapely.geometry
from shapely.geometry import mapping
from sqlalchemy import Text, cast, insert, select

from eobatch.api.stored_plans import plan_for_stored
from eobatch.collections.scene import Scene
from eobatch.collections.scene_index import SceneIndex
from eobatch.domain import cost
from eobatch.domain.states import UserAction
from eobatch.engine.analysis import _registry, analyse_request
from eobatch.engine.estimate import CostInputs, estimate
from eobatch.engine.keys import plan_of
from eobatch.grids import (
    TileColumns,
    area_from_bounds,
    footprint_envelopes,
    footprint_rings,
    footprint_texts,
    footprint_wgs84,
    footprints_wgs84,
    pixel_grid,
    pixel_grids,
    pixel_sizes,
    tile_by_id,
    tile_columns_for_area,
    tiles_for_area,
)
from eobatch.grids.geo import WGS84, as_geojson, as_geojson_many, geojson_texts, split_antimeridian, transformer
from eobatch.settings import Settings
from eobatch.store import work
from eobatch.store.actions import apply_action
from eobatch.store.models import BatchRequest, Tile
from tests.engine.factory import make_account

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
    when = dt.datetime(2024, 4, 10, tzinfo=dt.UTC)
    middle = SceneIndex([Scene("m", when, 1.0, {}, shapely.box(14.4, 45.9, 14.6, 46.1), None)])
    counts = middle.counts(footprints, when, when)
    reached = middle.reach(footprint_envelopes(footprint_rings(tiles)))
    assert reached.any() and not reached.all() and counts.any()
    assert not counts[~reached].any()  # an envelope beyond every scene's holds no scene
    assert not SceneIndex([]).reach(footprint_envelopes(footprint_rings(tiles))).any()


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


def test_columns_equal_the_tiles_of_an_area() -> None:
    for grid_id, resolution, bbox in CASES:
        area = area_from_bounds({"bbox": bbox})
        tiles = tiles_for_area(grid_id, area)
        columns = tile_columns_for_area(grid_id, area)
        assert columns.tiles() == tiles == [columns.tile(k) for k in range(len(columns))]
        assert TileColumns.of(tiles).tiles() == tiles
        assert pixel_sizes(columns, resolution, 2, 1) == pixel_sizes(tiles, resolution, 2, 1)
        assert [f.wkb for f in footprints_wgs84(columns)] == [f.wkb for f in footprints_wgs84(tiles)]


@pytest.mark.parametrize(("grid_id", "resolution", "bbox"), CASES)
def test_geojson_texts_are_json_dumps_of_the_geojson(grid_id, resolution, bbox) -> None:
    columns = tile_columns_for_area(grid_id, area_from_bounds({"bbox": bbox}))
    footprints = footprints_wgs84(columns)
    expected = [json.dumps(as_geojson(f)) for f in footprints]
    assert geojson_texts(footprints) == expected
    rings = footprint_rings(columns)
    assert footprint_texts(rings) == expected == footprint_texts(footprint_rings(columns.tiles()))  # from the corners
    envelopes = footprint_envelopes(rings)
    for envelope, footprint in zip(envelopes.tolist(), footprints, strict=True):  # each holds its footprint
        assert shapely.box(*envelope).covers(footprint)
    half = np.arange(len(columns))[::2]
    assert columns.take(half).tiles() == columns.tiles()[::2]


def test_geojson_texts_of_odd_values_and_mixed_geometries_are_json_dumps() -> None:
    geoms = [
        shapely.Polygon([(0.1 + 0.2, 1e-300), (1.7976931348623157e308, -0.0), (0.0, 0.0)]),
        shapely.Polygon([(-0.0, 5e22), (1 / 3, -1e-7), (2.0, 0.0)]),
        shapely.Polygon([(1.0, 1.0), (2.0, float("inf")), (3.0, 4.0)]),  # json.dumps writes Infinity
        _with_nan(),  # and NaN
        shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 1)]]),
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 2), (0, 0, 1)]),
        shapely.box(5, 5, 6, 7),
    ]
    texts = geojson_texts(geoms)
    assert texts == [json.dumps(as_geojson(g)) for g in geoms]
    assert "[1.7976931348623157e+308, -0.0], [0.0, 0.0]" in texts[0]  # 0.0 and -0.0 formatted apart
    assert "Infinity" in texts[2] and "NaN" in texts[3]
    assert geojson_texts([]) == []


def _with_nan() -> shapely.Polygon:
    with np.errstate(invalid="ignore"):  # GEOS takes it, numpy warns
        return shapely.Polygon([(1.0, 1.0), (float("nan"), 2.0), (3.0, 4.0)])


ORBIT_SCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08"], output: {bands: 1, sampleType: "FLOAT32"}, mosaicking: "ORBIT"};
}
function evaluatePixel(samples) { return [samples.length]; }
"""
AROUND_DEMO = [11.6, 44.95, 12.45, 45.35]  # the demo archive's area and beyond, across the 12°E zone edge


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """One data folder (and demo archive, generated on first search) for the module."""
    return tmp_path_factory.mktemp("demo")


def _analysing_request(database, account: str, grid_id: int, resolution: float) -> str:
    """A request over AROUND_DEMO, claimable for analysis."""
    process_request = {
        "input": {
            "bounds": {"bbox": AROUND_DEMO},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {"timeRange": {"from": "2024-04-01T00:00:00Z", "to": "2024-06-30T00:00:00Z"}},
                }
            ],
        },
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": ORBIT_SCRIPT,
    }
    output = {"defaultTilePath": "s3://out/<requestId>/<tileName>/<outputId>.<format>"}
    request_id = str(uuid.uuid4())
    with database.session() as s:
        request = BatchRequest(
            id=request_id,
            account_id=account,
            status="CREATED",
            body={},
            process_request=process_request,
            grid_id=grid_id,
            resolution=resolution,
            output=output,
        )
        request.plan = plan_for_stored(
            {"process_request": process_request, "grid_id": grid_id, "resolution": resolution, "output": output}
        )
        s.add(request)
        s.flush()
        apply_action(s, request, UserAction.ANALYSE)
    return request_id


def _stored_tiles(session, request_id: str) -> list[tuple]:
    """Every column an analysis writes, the footprint also as its stored JSON text, by tile id."""
    rows = session.execute(
        select(Tile, cast(Tile.geometry, Text).label("text"))
        .where(Tile.request_id == request_id)
        .order_by(Tile.tile_id)
    ).all()
    return [(*(getattr(t, c) for c in STORED), text) for t, text in rows]


STORED = [
    "account_id", "tile_id", "name", "epsg", "minx", "miny", "maxx", "maxy", "width_px", "height_px", "geometry",
    "status", "attempts", "cost", "charged_pu", "error", "no_data", "scene_count", "evaluation", "scene_ids",
    "bytes_written", "duration_s", "outputs", "estimated_pu", "created", "updated", "heartbeat_at",
]  # fmt: skip


@pytest.mark.parametrize(("grid_id", "resolution"), [(1, 20.0), (0, 60.0)])
def test_stored_tiles_of_a_real_analysis_equal_the_per_tile_reference(database, demo_dir, grid_id, resolution):
    """A real analysis (demo archive, sandboxed evalscript check, bulk insert) stores, for every tile, the
    values of the straightforward path: `tiles_for_area`, `pixel_grid`, the footprint transformed one tile at
    a time, one scene search per footprint, each tile priced on its own, rows inserted by the ORM."""
    settings = Settings(data_dir=demo_dir, workers=1)
    account = make_account(database)
    request_id = _analysing_request(database, account, grid_id, resolution)
    now = dt.datetime(2026, 12, 2, 13, 14, 15, 161718, tzinfo=dt.UTC)
    with database.session() as s:
        (snapshot,) = work.claim_analyses(s, "test", 1, now, 600.0)
    result = analyse_request(snapshot, settings)
    with database.session() as s:
        assert work.finish_analysis(s, "test", request_id, now, result, None).value == "ANALYSIS_DONE"

    plan = plan_of(snapshot)
    tiles = tiles_for_area(grid_id, shapely.geometry.shape(plan.area.geometry))
    footprints = [_per_tile_footprint(t) for t in tiles]
    source = plan.inputs[0]
    collection = _registry(settings).get(source.type, 0)
    scenes_found = collection.search(
        shapely.geometry.shape(plan.area.geometry), source.time_from, source.time_to, source.max_cloud_coverage
    )
    index = SceneIndex(scenes_found)
    scenes = [len(index.search(f, source.time_from, source.time_to, source.max_cloud_coverage)) for f in footprints]
    assert 0 == min(scenes) < max(scenes)  # tiles with and without scenes
    sizes = [(p.width, p.height) for p in (pixel_grid(t, resolution) for t in tiles)]
    inputs = CostInputs(
        bands=("B04", "B08"),
        float32=True,
        fusion=1.0,
        mosaicking="ORBIT",
        estimated_samples=cost.estimated_samples("ORBIT", source.time_from, source.time_to),
    )
    value, cost_estimate, per_tile = _per_tile_estimate(sizes, inputs, scenes)
    with database.session() as s:
        reference = _request_copy(s, account)
        s.execute(
            insert(Tile),
            [
                dict(
                    request_id=reference,
                    account_id=account,
                    tile_id=t.id,
                    name=t.name,
                    epsg=t.epsg,
                    minx=t.bounds[0],
                    miny=t.bounds[1],
                    maxx=t.bounds[2],
                    maxy=t.bounds[3],
                    width_px=w,
                    height_px=h,
                    geometry=as_geojson(f),
                    estimated_pu=pu,
                    status="PENDING",
                    attempts=0,
                    charged_pu=0.0,
                    no_data=False,
                    created=now,
                    updated=now,
                )
                for t, (w, h), f, pu in zip(tiles, sizes, footprints, per_tile, strict=True)
            ],
        )
    with database.session() as s:
        stored, expected = _stored_tiles(s, request_id), _stored_tiles(s, reference)
        row = s.get(BatchRequest, request_id)
        assert (row.tile_count, row.value_estimate, row.cost_estimate) == (len(tiles), value, cost_estimate)
    assert len(stored) == len(tiles) > 10
    assert stored == expected
    assert {r[STORED.index("epsg")] for r in stored} == {32632, 32633}


def _request_copy(session, account: str) -> str:
    """A bare request row to hold the reference tiles."""
    row = BatchRequest(
        id=str(uuid.uuid4()), account_id=account, status="CREATED", body={}, process_request={}, output={}, grid_id=1
    )
    session.add(row)
    session.flush()
    return row.id
