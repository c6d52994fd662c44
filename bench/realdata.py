"""Real-derived, off-grid benchmark scenes: the real Sentinel-2 L1C scenes tiled out over a region.

The shared folder holds five real L1C scenes of 100 x 101 px (about 1 km2, EPSG:32633, pixels of
9.99479 x 9.99745 m). Three clear dates are repeated (mirrored, so there are no seams) over a region of
grid-1 tiles, keeping the real pixel size and shifting each scene's origin by a few metres: no scene is
aligned with the 10 m tile grid, so every band read is a real warp, as with archive data. The newest
scene covers only the west 60 % of the region (mosaics there read two scenes). Written as COGs (DEFLATE,
predictor 2, 512 px blocks, overviews) with a static STAC FeatureCollection and a collections file.

Generated once per region and band set under `.eobatch/bench-data/` and reused by later runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
import yaml
from affine import Affine
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "s2-l1c-real"
CACHE = REPO / ".eobatch" / "bench-data"
VERSION = 1
EPSG = 32633
PIXEL = (9.99479222007154, 9.997448467363668)  # the real scenes' pixel size, x and y
MARGIN = 1000.0  # metres of scene beyond the region on each side
# (real scene, datetime, west fraction of the region covered, origin shift in metres), newest first
SCENES = (
    ("S2L1C_20150909T100017", "2015-09-09T10:00:17Z", 0.6, (3.3, -2.1)),
    ("S2L1C_20150830T100547", "2015-08-30T10:05:47Z", 1.0, (-4.7, 6.2)),
    ("S2L1C_20150711T100008", "2015-07-11T10:00:08Z", 1.0, (1.9, 3.8)),
)
COLLECTION = "bench-s2"


@dataclass(frozen=True)
class Region:
    """A rectangle of grid-1 (10 km) tiles in EPSG:32633, in metres."""

    minx: float
    miny: float
    maxx: float
    maxy: float

    def area_wgs84(self, inset: float = 1.0) -> shapely.Geometry:
        """The region (inset by `inset` m, densified every 100 m) in lon/lat: it selects exactly its tiles."""
        outline = box(self.minx + inset, self.miny + inset, self.maxx - inset, self.maxy - inset).segmentize(100.0)
        return shapely.geometry.shape(transform_geom(f"EPSG:{EPSG}", "EPSG:4326", mapping(outline)))


@dataclass(frozen=True)
class Archive:
    folder: Path
    collections_file: Path
    scenes: list[dict]  # newest first: {"id", "paths": {band: path}}


def _mirrored(patch: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """`patch` repeated over (rows, cols), every other copy mirrored so neighbours meet without a seam."""
    h, w = patch.shape
    r = np.arange(rows) % (2 * h)
    c = np.arange(cols) % (2 * w)
    r = np.where(r < h, r, 2 * h - 1 - r)
    c = np.where(c < w, c, 2 * w - 1 - c)
    return patch[np.ix_(r, c)]


def _write_cog(path: Path, data: np.ndarray, transform: Affine) -> None:
    with rasterio.open(
        path,
        "w",
        driver="COG",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=f"EPSG:{EPSG}",
        transform=transform,
        nodata=0,
        compress="DEFLATE",
        predictor=2,
        blocksize=512,
    ) as dst:
        dst.write(data, 1)


def archive(region: Region, bands: tuple[str, ...]) -> Archive:
    """The archive for `region` and `bands`, generated on first use."""
    key = f"v{VERSION}-{region.minx:.0f}-{region.miny:.0f}-{region.maxx:.0f}-{region.maxy:.0f}-{'-'.join(bands)}"
    folder = CACHE / key
    done = folder / "collections.yaml"
    scenes = [{"id": sid, "paths": {b: str(folder / sid / f"{b}.tif") for b in bands}} for sid, *_ in SCENES]
    if not done.exists():
        _generate(folder, region, bands)
    return Archive(folder, done, scenes)


def _generate(folder: Path, region: Region, bands: tuple[str, ...]) -> None:
    features = []
    for sid, when, fraction, (dx, dy) in SCENES:
        x0 = region.minx - MARGIN + dx
        x1 = region.minx + fraction * (region.maxx - region.minx) + (MARGIN if fraction == 1.0 else 0.0)
        top = region.maxy + MARGIN + dy
        cols = round((x1 - x0) / PIXEL[0])
        rows = round((top - (region.miny - MARGIN)) / PIXEL[1])
        transform = Affine(PIXEL[0], 0.0, x0, 0.0, -PIXEL[1], top)
        (folder / sid).mkdir(parents=True, exist_ok=True)
        assets = {}
        for band in bands:
            with rasterio.open(REAL / sid / f"{band}.tif") as src:
                patch = src.read(1)
            path = folder / sid / f"{band}.tif"
            _write_cog(path, _mirrored(patch, rows, cols), transform)
            assets[band] = {"href": str(path)}
        footprint = box(x0, top - rows * PIXEL[1], x0 + cols * PIXEL[0], top)
        outline = transform_geom(f"EPSG:{EPSG}", "EPSG:4326", mapping(footprint.segmentize(500.0)))
        features.append(
            {
                "type": "Feature",
                "stac_version": "1.1.0",
                "id": sid,
                "geometry": outline,
                "bbox": list(shapely.geometry.shape(outline).bounds),
                "links": [],
                "properties": {"datetime": when, "eo:cloud_cover": 0, "proj:epsg": EPSG},
                "assets": assets,
            }
        )
    (folder / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    config = {
        "collections": {
            COLLECTION: {"preset": "sentinel-2-l1c", "source": {"kind": "static", "href": str(folder / "items.json")}}
        }
    }
    (folder / "collections.yaml").write_text(yaml.safe_dump(config))
