"""Data for large-tile runs: a WGS84 1° tile (grid 3) at 0.0001° (10000 x 10000 px) with 4 bands.

One synthetic scene in EPSG:4326 covering the tile exactly, on the tile's own pixel grid (so reading is a
windowed copy, fast enough for CI), four single-band UINT16 GeoTIFFs whose DN are a known function of
the pixel (`dn`), registered as a Sentinel-2 L1C-like collection. Used by tests/processing/test_large_tile.py
and bench/bench_tile_memory.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
import shapely
import yaml
from shapely.geometry import box, mapping

from eobatch.grids import pixel_grid, tiles_for_area

COLLECTION = "large-s2"
BANDS = ("B02", "B03", "B04", "B08")
GRID_ID = 3  # WGS84 1 degree grid
RESOLUTION = 0.0001
AREA = box(14.0, 45.0, 15.0, 46.0).buffer(-0.001)  # inside one 1° tile
WHEN = "2020-06-10T10:00:00Z"
TIME_RANGE = {"from": "2020-06-01T00:00:00Z", "to": "2020-06-30T23:59:59Z"}

# (bands, cheap maths, one UINT16 band): the mean DN of the four bands, 0 outside the data
EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B02", "B03", "B04", "B08", "dataMask"]}],
          output: {id: "default", bands: 1, sampleType: "UINT16"}};
}
function evaluatePixel(s) { return [(s.B02 + s.B03 + s.B04 + s.B08) * 2500 * s.dataMask]; }
"""


def dn(band: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The DN of band `band` (0..3) at the given pixels (broadcast): 1000 (band + 1) + (7 row + 3 col)
    mod 1000 + 5 (row // 500), computed in uint16 (fast enough for 100 Mpx)."""
    a = ((rows * 7) % 1000 + (rows // 500) * 5 + 1000 * (band + 1)).astype(np.uint16)
    b = ((cols * 3) % 1000).astype(np.uint16)
    wrap = ((rows * 7) % 1000).astype(np.uint16) + b >= 1000
    return a + b - np.uint16(1000) * wrap


def inside(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Whether the pixel's centre lies in AREA (the tile less 0.001°, i.e. 10 px, on every side)."""
    return (rows >= 10) & (rows < 9990) & (cols >= 10) & (cols < 9990)


def expected(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The output at the given pixels, computed as the script does (float32 reflectance, double maths,
    UINT16 rounding half up), 0 outside the area."""
    scale = np.float32(0.0001)
    values = [(dn(k, rows, cols).astype(np.float32) * scale).astype(np.float64) for k in range(4)]
    raw = (values[0] + values[1] + values[2] + values[3]) * 2500 * inside(rows, cols)
    return np.clip(np.floor(raw + 0.5), 0, 65535).astype(np.uint16)


def process_and_measure(task):
    """A worker task: process the tile, then report the result and this process's peak resident memory
    (VmHWM, bytes) over its whole life."""
    from eobatch.processing import process_tile

    result = process_tile(task)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return {"result": result, "peak_rss": int(line.split()[1]) * 1024}
    raise RuntimeError("no VmHWM in /proc/self/status")


def large_tile():
    """The grid-3 tile the area lies in."""
    (tile,) = tiles_for_area(GRID_ID, AREA)
    return tile


def write_large_archive(root: Path) -> Path:
    """Write the scene's four bands (ZSTD, 512 px blocks) and its catalog; returns the collections file."""
    tile = large_tile()
    grid = pixel_grid(tile, RESOLUTION)
    root.mkdir(parents=True, exist_ok=True)
    assets = {}
    for k, band in enumerate(BANDS):
        path = root / f"{band}.tif"
        profile = {
            "driver": "GTiff",
            "width": grid.width,
            "height": grid.height,
            "count": 1,
            "dtype": "uint16",
            "crs": f"EPSG:{grid.epsg}",
            "transform": grid.transform,
            "nodata": 0,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "ZSTD",
            "zstd_level": 1,
        }
        cols = np.arange(grid.width)[np.newaxis, :]
        with rasterio.open(path, "w", **profile) as dst:
            for r0 in range(0, grid.height, 512):
                rows = np.arange(r0, min(r0 + 512, grid.height))[:, np.newaxis]
                dst.write(dn(k, rows, cols), 1, window=((r0, r0 + len(rows)), (0, grid.width)))
        assets[band] = {"href": str(path), "type": "image/tiff; application=geotiff"}
    outline = shapely.box(*tile.bounds)
    feature = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "LARGE_1",
        "geometry": mapping(outline),
        "bbox": list(outline.bounds),
        "collection": COLLECTION,
        "properties": {"datetime": WHEN, "eo:cloud_cover": 0.0, "proj:epsg": 4326},
        "assets": assets,
        "links": [],
    }
    items = root / "items.json"
    items.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    entry = {"preset": "sentinel-2-l1c", "source": {"kind": "static", "href": str(items)}, "harmonize": "none"}
    config = root / "collections.yaml"
    config.write_text(yaml.safe_dump({"collections": {COLLECTION: entry}}))
    return config
