"""A task that carries its scenes (the request's single search) is processed from them, not from a
new search: the tile is built from exactly the scenes given, in mosaicking order."""

from __future__ import annotations

import dataclasses

import rasterio
import shapely

from eobatch.collections.request_scenes import forget_request, tile_scenes
from eobatch.processing import TargetGrid, process_tile
from eobatch.processing.aoi import search_area
from eobatch.processing.runtime import runtime_for
from tests.processing.conftest import make_task


def test_given_scenes_replace_the_search(settings, tile):
    task = make_task(settings, tile, request_id="given")
    entries = task.plan.inputs
    area = shapely.from_wkb(task.area_wgs84_wkb)
    registry = runtime_for(settings).registry
    found = tile_scenes("given", entries, registry, area, search_area(area, TargetGrid.of(task.pixel_grid)))
    assert [s.id for s in found[0]] == ["S_new", "S_mid", "S_old"]
    searched = process_tile(task)
    with_all = process_tile(dataclasses.replace(task, request_id="all", scenes=found))
    old = (tuple(s for s in found[0] if s.id == "S_old"),)
    only_old = process_tile(dataclasses.replace(task, request_id="old", scenes=old))
    nothing = process_tile(dataclasses.replace(task, request_id="none", scenes=((),)))
    forget_request("given")
    assert (searched.scene_count, with_all.scene_count, only_old.scene_count) == (3, 3, 1)
    assert nothing.no_data and nothing.scene_count == 0
    assert _pixels(settings, searched) == _pixels(settings, with_all)


def _pixels(settings, result) -> list[bytes]:
    out = []
    for url in result.outputs:
        with rasterio.open(settings.buckets_dir / url.removeprefix("s3://")) as src:
            out.append(src.read().tobytes())
    return out
