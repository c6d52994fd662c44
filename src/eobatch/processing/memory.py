"""How much memory one tile needs in a worker, estimated at analysis so that a tile that cannot fit the
configured worker memory is refused before any worker runs (and dies) on it.

The pipeline holds, per pixel, the float32 samples the evalscript reads (every input band plus
`dataMask`, for each sample: one with SIMPLE mosaicking, one per scene or day with TILE/ORBIT) next to
the float64 values the evalscript returns for every output band; reading, the typed outputs and the
encoders stay below that. `SAFETY` covers allocator and encoder copies; `BASE_BYTES` is a worker with
V8, GDAL and the collections loaded. Calibrated on real tiles: 1000 x 1000 and 2000 x 2000 px with
4 bands and 5 output bands peaked at 630 and 800 MiB; 20 km at 10 m and 100 km at 30 m with 13 bands
at about 1 and 2.1 GB (issue 14).
"""

from __future__ import annotations

from dataclasses import dataclass

from eobatch.errors import BadRequest

BASE_BYTES = 640 * 2**20
SAFETY = 1.5
DATA_MASK = "dataMask"


@dataclass(frozen=True)
class TileFootprint:
    """What decides a tile's memory: its pixels, what the evalscript reads and what it returns."""

    width: int
    height: int
    input_bands: int  # bands read over all inputs, dataMask included
    samples: int  # samples held at once: 1 for SIMPLE, else scenes (or days) over the tile
    output_bands: int  # bands over all outputs


def tile_memory_bytes(tile: TileFootprint) -> int:
    """Estimated peak resident memory of a worker processing this tile."""
    pixels = tile.width * tile.height
    per_pixel = 4 * tile.input_bands * max(tile.samples, 1) + 8 * tile.output_bands
    return int(BASE_BYTES + SAFETY * per_pixel * pixels)


def footprint_of(width: int, height: int, setup, max_scenes: int) -> TileFootprint:
    """The footprint of a tile of `width` x `height` px for an evalscript's `SetupInfo`."""
    input_bands = sum(len(set(i.bands) | {DATA_MASK}) for i in setup.inputs)
    samples = 1 if str(setup.mosaicking).upper() == "SIMPLE" else max_scenes
    return TileFootprint(width, height, input_bands, samples, sum(o.bands for o in setup.outputs))


def check_tile_memory(tile: TileFootprint, worker_memory_mb: int) -> None:
    """BadRequest when the tile's estimate exceeds `worker_memory_mb` (0: no limit)."""
    if worker_memory_mb <= 0:
        return
    needed = tile_memory_bytes(tile)
    if needed <= worker_memory_mb * 2**20:
        return
    raise BadRequest(
        f"A tile of {tile.width} x {tile.height} px with {tile.input_bands} input bands x {tile.samples} "
        f"sample(s) and {tile.output_bands} output bands needs about {needed / 2**20:,.0f} MiB in a worker, "
        f"more than the {worker_memory_mb:,} MiB a worker may use (EOBATCH_WORKER_MEMORY_MB). Use a coarser "
        "resolution, a grid with smaller tiles, fewer bands or samples, or give the workers more memory."
    )
