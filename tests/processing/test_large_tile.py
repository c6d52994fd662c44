"""The largest tile the API accepts runs in bounded memory: a WGS84 1° tile at 0.0001° (10000 x 10000 px,
100 Mpx) with 4 bands, processed in a real worker process under a 1.5 GiB memory limit (a memory cgroup
where one can be made, else the pool's RSS watchdog), its peak resident memory read from the worker."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from eobatch.engine.worker_pool import WorkerLimits, WorkerPool
from eobatch.grids import pixel_grid
from eobatch.processing.runtime import clear_runtime_cache
from eobatch.settings import Settings
from tests.processing import large_tile
from tests.processing.conftest import make_task

LIMIT = 1536 << 20


@pytest.fixture(scope="module")
def large_config(tmp_path_factory):
    return large_tile.write_large_archive(tmp_path_factory.mktemp("large-archive"))


def test_a_one_degree_tile_at_0_0001_degrees_stays_under_1_5_gib_and_is_a_valid_cog(tmp_path, large_config):
    clear_runtime_cache()
    settings = Settings(data_dir=tmp_path / "data", collections_file=large_config)
    tile = large_tile.large_tile()
    task = make_task(
        settings,
        tile,
        resolution=large_tile.RESOLUTION,
        area=large_tile.AREA,
        evalscript=large_tile.EVALSCRIPT,
        data={"type": large_tile.COLLECTION, "dataFilter": {"timeRange": large_tile.TIME_RANGE}},
        responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
        output={"defaultTilePath": "s3://out/<tileName>/<outputId>.<format>", "cogOutput": True},
    )
    pool = WorkerPool(1, WorkerLimits(memory_bytes=LIMIT, wall_s=600), large_tile.process_and_measure)
    pool.start()
    try:
        attempt = pool.call(task)
    finally:
        pool.shutdown(0)
    assert attempt.ok, f"{attempt.error} (memory confined by {pool.confinement})"
    peak, result = attempt.result["peak_rss"], attempt.result["result"]
    assert 0 < peak < LIMIT, f"peak resident memory {peak / 2**20:.0f} MiB"
    assert (result.scene_count, result.no_data) == (1, False)

    path = settings.buckets_dir / result.outputs[0].removeprefix("s3://")
    assert cog_validate(str(path), quiet=True)[0]
    grid = pixel_grid(tile, large_tile.RESOLUTION)
    with rasterio.open(path) as src:
        assert (src.width, src.height, src.count, src.dtypes[0]) == (10000, 10000, 1, "uint16")
        assert src.crs.to_epsg() == 4326 and src.transform.almost_equals(grid.transform)
        assert src.block_shapes == [(1024, 1024)] and src.overviews(1) == [2, 4, 8]
        assert src.compression.name == "deflate"
        # whole rows at the tile's edges, across block boundaries and in the middle, and random windows
        for r0 in (0, 9, 10, 303, 511, 1023, 4999, 9989, 9990, 9999):
            rows, cols = np.array([[r0]]), np.arange(10000)[np.newaxis, :]
            assert np.array_equal(src.read(1, window=((r0, r0 + 1), (0, 10000))), large_tile.expected(rows, cols)), r0
        rng = np.random.default_rng(14)
        for r0, c0 in rng.integers(0, 10000 - 64, size=(12, 2)):
            rows, cols = np.arange(r0, r0 + 64)[:, np.newaxis], np.arange(c0, c0 + 64)[np.newaxis, :]
            window = src.read(1, window=((r0, r0 + 64), (c0, c0 + 64)))
            assert np.array_equal(window, large_tile.expected(rows, cols)), (r0, c0)
        overview = src.read(1, out_shape=(1250, 1250))
        assert overview.shape == (1250, 1250) and overview[100:1150, 100:1150].min() > 0
