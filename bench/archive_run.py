"""One bench arm in a fresh process (no GDAL cache carried over between rounds): process the given
tiles of one collection one after the other on one core and print the processing seconds.

`python -m bench.archive_run CONFIG.json` where CONFIG has settings, collection type, bounds, tiles.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import shapely
from tests.support.plans import tile_plan

from eobatch import grids
from eobatch.collections.request_scenes import tile_scenes
from eobatch.processing import TileTask, process_tile
from eobatch.processing.aoi import search_area
from eobatch.processing.grid import TargetGrid
from eobatch.processing.runtime import runtime_for
from eobatch.settings import Settings


def main(path: str) -> None:
    config = json.loads(Path(path).read_text())
    settings = Settings(**config["settings"])
    registry = runtime_for(settings).registry
    area = grids.area_from_bounds({"bbox": config["bounds"]})
    request = config["process_request"]
    plan, keys = tile_plan(
        evalscript=request["evalscript"],
        responses=request["output"]["responses"],
        output={"defaultTilePath": config["output"]},
        data=request["input"]["data"],
        resolution=config["resolution"],
    )
    started = time.perf_counter()
    cpu = time.process_time()
    pixels = 0
    for name in config["tiles"]:
        tile = next(t for t in grids.tiles_for_area(1, area) if t.name == name)
        pixel_grid = grids.pixel_grid(tile, config["resolution"], 0, 0)
        where = search_area(area, TargetGrid.of(pixel_grid))
        scenes = tile_scenes(config["request_id"], request["input"]["data"], registry, area, where)
        task = TileTask(
            request_id=config["request_id"],
            account_id="bench",
            tile=tile,
            pixel_grid=pixel_grid,
            area_wgs84_wkb=shapely.to_wkb(area),
            plan=plan,
            settings=settings,
            credentials=keys,
            scenes=scenes,
        )
        result = process_tile(task)
        assert result.outputs and not result.no_data, name
        pixels += pixel_grid.width * pixel_grid.height
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu_s": time.process_time() - cpu}))


if __name__ == "__main__":
    main(sys.argv[1])
