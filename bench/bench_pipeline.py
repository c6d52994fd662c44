"""Per-tile pipeline: eobatch's process_tile against a competent hand-written rasterio + numpy script.

Workload: one 10 km tile at 10 m (1000 x 1000 px, grid 1, 33TVL_8_1) over real-derived, off-grid
scenes (bench/realdata.py: the real L1C scenes tiled out, pixels of 9.995 m, origins a few metres off
the grid), four bands, SIMPLE mosaicking (mostRecent) over 3 scenes of which the newest covers 60 % of
the tile, NDVI (FLOAT32) + true colour with alpha (AUTO), written as COGs to a local bucket folder.

The reference does the same work the way a competent programmer would with the same libraries:
`rasterio.warp.reproject` of each band of each scene (newest first, stopping when the tile is full),
the mosaic and the maths in numpy, GDAL's COG driver (DEFLATE + predictor), atomic local writes. Both
outputs are read back and compared pixel by pixel before any time is taken. Paired alternating rounds.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.warp import reproject
from tests.support.plans import tile_plan

from bench.paired import paired, row
from bench.realdata import COLLECTION, Region, archive
from eobatch.grids import pixel_grid, tiles_for_area
from eobatch.processing import TargetGrid, TileTask, process_tile
from eobatch.processing.runtime import clear_runtime_cache
from eobatch.settings import Settings

REGION = Region(460000.0, 5070000.0, 500000.0, 5090000.0)  # 4 x 2 tiles of grid 1
TILE_NAME = "33TVL_8_1"  # x 480000-490000: the newest scene ends at x 484000
BANDS4 = ("B02", "B03", "B04", "B08")
ROUNDS = 5
SCALE = np.float32(0.0001)  # L1C DN -> reflectance

NDVI_RGB = """//VERSION=3
function setup() {
  return {input: [{bands: ["B02", "B03", "B04", "B08", "dataMask"]}],
          output: [{id: "default", bands: 4, sampleType: "AUTO"}, {id: "ndvi", bands: 1, sampleType: "FLOAT32"}]};
}
function evaluatePixel(s) {
  return {default: [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02, s.dataMask], ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)]};
}
"""
RESPONSES = [
    {"identifier": "default", "format": {"type": "image/tiff"}},
    {"identifier": "ndvi", "format": {"type": "image/tiff"}},
]


def make_task(settings: Settings, tile, resolution: float, out: str, area=None) -> TileTask:
    """The TileTask of one bench tile (NDVI + true colour COGs written under `out`)."""
    data = {
        "type": COLLECTION,
        "dataFilter": {"timeRange": {"from": "2015-06-01T00:00:00Z", "to": "2015-09-30T00:00:00Z"}},
    }
    plan, keys = tile_plan(
        evalscript=NDVI_RGB,
        responses=RESPONSES,
        output={"defaultTilePath": out, "overwrite": True, "cogOutput": True},
        data=[data],
        grid_id=tile.grid_id,
        resolution=resolution,
    )
    area_wkb = shapely.to_wkb(area if area is not None else REGION.area_wgs84())
    return TileTask("bench", "acc", tile, pixel_grid(tile, resolution), area_wkb, plan, settings, keys)


def bench_tile():
    return next(t for t in tiles_for_area(1, REGION.area_wgs84()) if t.name == TILE_NAME)


# -- the hand-written reference ---------------------------------------------------------------------


def reference_tile(scenes: list[dict], grid: TargetGrid, out_dir: Path) -> dict[str, float]:
    """rasterio + numpy: warp each band of each scene (newest first, stop when full), mosaic, NDVI and
    true colour, encode COGs, write atomically. Returns the seconds per stage."""
    t = dict.fromkeys(("read", "mosaic", "evaluate", "encode", "write"), 0.0)
    mosaic = {b: np.zeros(grid.shape, np.float32) for b in BANDS4}
    filled = np.zeros(grid.shape, bool)
    for scene in scenes:
        if filled.all():
            break
        started = time.perf_counter()
        warped = {}
        for b in BANDS4:
            arr = np.full(grid.shape, np.nan, np.float32)
            with rasterio.open(scene["paths"][b]) as src:
                reproject(
                    rasterio.band(src, 1),
                    arr,
                    dst_transform=grid.transform,
                    dst_crs=grid.crs,
                    src_nodata=0,
                    dst_nodata=np.nan,
                    resampling=Resampling.nearest,
                )
            warped[b] = arr
        t["read"] += time.perf_counter() - started
        started = time.perf_counter()
        take = ~filled
        for arr in warped.values():
            take &= ~np.isnan(arr)
        for b in BANDS4:
            np.copyto(mosaic[b], warped[b] * SCALE, where=take)
        filled |= take
        t["mosaic"] += time.perf_counter() - started
    started = time.perf_counter()
    with np.errstate(divide="ignore", invalid="ignore"):
        b04, b08 = mosaic["B04"].astype(np.float64), mosaic["B08"].astype(np.float64)
        ndvi = ((b08 - b04) / (b08 + b04)).astype(np.float32)[np.newaxis]
    rgb = [np.clip(mosaic[b].astype(np.float64) * 2.5, 0, 1) for b in ("B04", "B03", "B02")]
    rgb.append(filled.astype(np.float64))
    rgb = np.stack([np.floor(v * 255 + 0.5) for v in rgb]).astype(np.uint8)
    t["evaluate"] += time.perf_counter() - started
    started = time.perf_counter()
    files = {}
    for name, arr in (("default", rgb), ("ndvi", ndvi)):
        with MemoryFile() as mem:
            with mem.open(
                driver="COG",
                width=grid.width,
                height=grid.height,
                count=arr.shape[0],
                dtype=arr.dtype,
                crs=grid.crs,
                transform=grid.transform,
                compress="DEFLATE",
                predictor="YES",
                blocksize=1024,
            ) as dst:
                dst.write(arr)
            files[name] = bytes(mem.getbuffer())
    t["encode"] += time.perf_counter() - started
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        tmp = out_dir / f".{name}.tif.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, out_dir / f"{name}.tif")
    t["write"] += time.perf_counter() - started
    return t


# -- measurements -----------------------------------------------------------------------------------


def same_pixels(ours: Path, ref: Path) -> str:
    """'' when both files hold the same pixels, CRS and transform; else what differs."""
    with rasterio.open(ours) as a, rasterio.open(ref) as b:
        if (a.crs, a.transform, a.shape, a.count) != (b.crs, b.transform, b.shape, b.count):
            return f"{ours.name}: georeferencing differs"
        x, y = a.read(), b.read()
    if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
        return f"{ours.name}: {int(np.sum(x != y))} pixels differ"
    return ""


def run() -> list[dict]:
    root = Path(tempfile.mkdtemp(prefix="eobatch-bench-pipeline-"))
    try:
        data = archive(REGION, BANDS4)
        tile = bench_tile()
        clear_runtime_cache()
        settings = Settings(data_dir=root / "data", collections_file=data.collections_file)
        task = make_task(settings, tile, 10.0, "s3://bench/<tileName>/<outputId>.<format>")
        grid = TargetGrid.of(task.pixel_grid)
        timings: list[dict] = []
        ref_timings: list[dict] = []
        timings.append(process_tile(task).timings)  # warm-up: V8, the catalogue, GDAL
        ref_timings.append(reference_tile(data.scenes, grid, root / "ref"))
        for name in ("default", "ndvi"):
            differs = same_pixels(
                settings.buckets_dir / "bench" / tile.name / f"{name}.tif", root / "ref" / f"{name}.tif"
            )
            if differs:
                raise AssertionError(f"eobatch and the reference disagree: {differs}")
        result = paired(
            {
                "eobatch": lambda: timings.append(process_tile(task).timings),
                "reference": lambda: ref_timings.append(reference_tile(data.scenes, grid, root / "ref")),
            },
            ROUNDS,
        )
        label = "hand-written rasterio+numpy, same pixels"
        rows = [
            row(
                "tile 1000x1000 px, 4 bands, 3 off-grid real-derived scenes, NDVI+RGB COG",
                result,
                "eobatch",
                "reference",
                label=label,
                target="<= 1.1",
                note="ratio = median per-round eobatch/reference wall time, lower is better; outputs checked equal",
            )
        ]
        for stage in ("search", "read", "mosaic", "evaluate", "encode", "write"):
            ours = statistics.median(t[stage] for t in timings[1:])
            ref = statistics.median(t[stage] for t in ref_timings[1:]) if stage in ref_timings[0] else None
            rows.append(
                {
                    "name": f"  stage {stage}",
                    "value": round(ours, 4),
                    "unit": "s",
                    "reference": "same stage of the reference",
                    "reference_value": None if ref is None else round(ref, 4),
                    "ratio": round(ours / ref, 3) if ref else None,
                    "rounds": result.rounds,
                    "load": result.load,
                    "note": "medians of the same rounds (read includes the warp; the reference has no search)",
                }
            )
        return rows
    finally:
        shutil.rmtree(root, ignore_errors=True)
