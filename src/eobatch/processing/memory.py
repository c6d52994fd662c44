"""How much memory one tile needs in a worker, and how many rows the pipeline processes at once.

The pipeline works on a tile in row blocks (docs/engine.md, "Tiles in blocks"): per block it holds the
float32 samples the evalscript reads (every input band plus `dataMask`, for each sample: one with
SIMPLE mosaicking, one per scene or day with TILE/ORBIT), the scene being read, and the float64 values
plus typed copies of every output band. `block_rows` sizes a block so that this stays near
`BLOCK_BYTES` (at least `MIN_ROWS` rows), so a worker's peak depends on the block, not the tile.

The estimate checked at analysis is the same model: `BASE_BYTES` (a worker with V8, numba, GDAL and the
collections loaded), GDAL's block cache (`GDAL_CACHE_BYTES`: source blocks read and output blocks
staged), and `SAFETY` times one block. Calibrated with bench/bench_tile_memory.py (issue 14): a 20 km
tile at 10 m and a 100 km tile at 30 m with 13 bands in and out, and the WGS84 1° tile at 0.0001° with
4 bands, each peak below 1.5 GB.
"""

from __future__ import annotations

from dataclasses import dataclass

from eobatch.errors import BadRequest

BASE_BYTES = 640 * 2**20
GDAL_CACHE_BYTES = 256 * 2**20  # GDAL's block cache: 128 MiB while assembling (processing/assemble.py), reads
BLOCK_BYTES = 256 * 2**20  # working arrays of one block, before SAFETY
MIN_ROWS = 16
ALIGN_ROWS = 16  # block heights are a multiple of this
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

    @property
    def bytes_per_pixel(self) -> int:
        """Working bytes per pixel of a block: the samples, one scene being read, outputs as float64
        plus their typed copy (at most 4 bytes)."""
        return 4 * self.input_bands * (max(self.samples, 1) + 1) + 12 * self.output_bands


def block_rows(tile: TileFootprint, budget: int = BLOCK_BYTES) -> int:
    """Rows per block: about as many as `budget` holds, at least MIN_ROWS, at most the tile's height (then
    the tile is one block); the blocks of a tile are made about equal (a multiple of ALIGN_ROWS rows)."""
    per_row = max(1, tile.bytes_per_pixel * max(tile.width, 1))
    rows = max(MIN_ROWS, budget // per_row)
    if rows >= tile.height:
        return max(1, tile.height)
    blocks = -(-tile.height // rows)
    rows = -(-tile.height // blocks)
    return min(tile.height, rows + (-rows % ALIGN_ROWS))


def tile_memory_bytes(tile: TileFootprint) -> int:
    """Estimated peak resident memory of a worker processing this tile."""
    block = block_rows(tile) * tile.width * tile.bytes_per_pixel
    return int(BASE_BYTES + GDAL_CACHE_BYTES + SAFETY * block)


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
        f"sample(s) and {tile.output_bands} output bands needs about {needed / 2**20:,.0f} MiB in a worker "
        f"(processed {block_rows(tile)} rows at a time), more than the {worker_memory_mb:,} MiB a worker may "
        "use (EOBATCH_WORKER_MEMORY_MB). Use fewer bands or samples (a shorter time range, fewer scenes per "
        "tile), a grid with narrower tiles or a coarser resolution, or give the workers more memory."
    )
