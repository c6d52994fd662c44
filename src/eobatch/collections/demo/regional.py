"""A SYNTHETIC regional Sentinel-2 L1C-like archive for archive-scale tests and benchmarks.

Tens of kilometres across the UTM 32/33 boundary at 12°E (one scene per zone and date, overlapping
by about 4 km like real granules), a dozen dates, the 13 L1C bands at their native 10/20/60 m
resolutions, pixel grids offset by a few metres so that they never line up with the output grids,
and DEFLATE COGs with 1024 px blocks and overviews like Earth Search's Sentinel-2 COGs. Pixels are
smooth fractal noise per band plus drifting clouds, drawn at 60 m and bilinearly upsampled for the
finer bands (numpy only, deterministic for a seed); the
catalog is a static STAC Collection written with pystac (projection extension).

`RegionalSpec` chooses the area, the dates and the bands, so tests can generate a small subset.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pystac
import rasterio
import rasterio.shutil
from affine import Affine
from pyproj import Transformer
from pystac.extensions.projection import ProjectionExtension
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping, shape

from eobatch.collections.demo.noise import fbm, lattices, upsample

L1C_BANDS = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
    "B08": 10, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20,
}  # fmt: skip
BLOCK = 1024
GRID_OFFSET_M = 7.0  # the archive's pixel edges sit 7 m off every output grid's
ZONE_EDGE_LON = 12.0
OVERLAP_DEG = 0.03  # each zone's scene reaches this far past 12°E


def default_dates(count: int = 12) -> tuple[dt.datetime, ...]:
    """`count` acquisitions at 10:10:21 UTC, five days apart from 2024-04-03."""
    start = dt.datetime(2024, 4, 3, 10, 10, 21, tzinfo=dt.UTC)
    return tuple(start + dt.timedelta(days=5 * k) for k in range(count))


@dataclass(frozen=True)
class RegionalSpec:
    """What to generate. The default is the full archive: about 94 km x 78 km, 12 dates, 13 bands."""

    bbox: tuple[float, float, float, float] = (11.4, 44.85, 12.6, 45.55)
    dates: tuple[dt.datetime, ...] = default_dates()
    bands: tuple[str, ...] = tuple(L1C_BANDS)
    seed: int = 20240403
    collection_id: str = "regional-s2-l1c"


@dataclass(frozen=True)
class _SceneGrid:
    zone: int
    epsg: int
    left: float
    top: float
    width_m: float
    height_m: float

    def shape(self, resolution: float) -> tuple[int, int]:
        return int(self.height_m // resolution), int(self.width_m // resolution)

    def transform(self, resolution: float) -> Affine:
        return Affine(resolution, 0, self.left, 0, -resolution, self.top)


def _scene_grids(bbox: tuple[float, float, float, float]) -> list[_SceneGrid]:
    west, south, east, north = bbox
    parts = []
    if west < ZONE_EDGE_LON:
        parts.append((32, (west, south, min(east, ZONE_EDGE_LON + OVERLAP_DEG), north)))
    if east > ZONE_EDGE_LON:
        parts.append((33, (max(west, ZONE_EDGE_LON - OVERLAP_DEG), south, east, north)))
    grids = []
    for zone, (w, s, e, n) in parts:
        epsg = 32600 + zone
        to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
        xs, ys = to_utm.transform([w, e, w, e], [s, s, n, n])
        left = np.floor(min(xs) / 60.0) * 60.0 + GRID_OFFSET_M
        top = np.ceil(max(ys) / 60.0) * 60.0 + GRID_OFFSET_M
        width = np.ceil((max(xs) - left) / 60.0) * 60.0
        height = np.ceil((top - min(ys)) / 60.0) * 60.0
        grids.append(_SceneGrid(zone, epsg, float(left), float(top), float(width), float(height)))
    return grids


def _coordinates(grid: _SceneGrid, resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in a frame shared by both zones (metres east/north of 12°E, 45°N),
    so the zones agree where they overlap (closely enough for a synthetic archive)."""
    rows, cols = grid.shape(resolution)
    to_wgs = Transformer.from_crs(f"EPSG:{grid.epsg}", "EPSG:4326", always_xy=True)
    # corner longitudes/latitudes, then bilinear in between: cheap and smooth
    corners_x = [grid.left, grid.left + cols * resolution]
    corners_y = [grid.top - rows * resolution, grid.top]
    lon, lat = to_wgs.transform(*np.meshgrid(corners_x, corners_y))
    u = ((np.arange(cols, dtype=np.float32) + 0.5) / cols)[None, :]
    v = ((np.arange(rows, dtype=np.float32) + 0.5) / rows)[:, None]
    lon_c = (lon[1, 0] * (1 - u) + lon[1, 1] * u) * (1 - v) + (lon[0, 0] * (1 - u) + lon[0, 1] * u) * v
    lat_c = (lat[1, 0] * (1 - u) + lat[1, 1] * u) * (1 - v) + (lat[0, 0] * (1 - u) + lat[0, 1] * u) * v
    x = ((lon_c - ZONE_EDGE_LON) * 78_850.0).astype(np.float32)
    y = ((lat_c - 45.0) * 111_130.0).astype(np.float32)
    return x, y


def _band_dn60(x, y, band_index: int, day: int, cloud: np.ndarray, lats) -> np.ndarray:
    """Reflectance x 10000 at 60 m: land texture by band, seasonal drift, clouds on top (float32)."""
    land = fbm(x, y, 6000.0, lats[:4])
    detail = fbm(x + 1000.0 * band_index, y, 700.0, lats[4:6])
    reflectance = 0.03 + 0.02 * band_index + 0.25 * land + 0.05 * detail + 0.002 * day * (land - 0.5)
    reflectance = reflectance * (1 - cloud) + np.float32(0.6) * cloud
    return (reflectance * 10000.0).astype(np.float32)


def _at_resolution(field60: np.ndarray, resolution: float, shape: tuple[int, int]) -> np.ndarray:
    """A 60 m field bilinearly upsampled to `resolution`, as uint16 DN cropped to `shape`."""
    fine = upsample(field60, int(60 // resolution))[: shape[0], : shape[1]]
    return np.clip(fine, 1, 65535).astype(np.uint16)


def _cloud(x, y, day: int, lats, target: float) -> np.ndarray:
    """Cloud opacity in [0, 1]: a drifting fractal deck thresholded to about `target` cover."""
    deck = fbm(x - 2200.0 * day, y - 900.0 * day, 9000.0, lats[6:10])
    cut = np.quantile(deck[::4, ::4], 1.0 - target) if target > 0 else np.inf
    return np.clip((deck - cut) * 8.0, 0.0, 1.0).astype(np.float32)


def _write_cog(path: Path, array: np.ndarray, grid: _SceneGrid, resolution: float) -> None:
    rows, cols = array.shape
    profile = {
        "driver": "GTiff", "width": cols, "height": rows, "count": 1, "dtype": "uint16",
        "crs": f"EPSG:{grid.epsg}", "transform": grid.transform(resolution), "nodata": 0,
        "tiled": True, "blockxsize": BLOCK, "blockysize": BLOCK,
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(array, 1)
            factors = [2**k for k in range(1, 8) if max(rows, cols) / 2 ** (k - 1) > BLOCK]
            if factors:
                dataset.build_overviews(factors, Resampling.average)
        with memory.open() as source:
            rasterio.shutil.copy(
                source, path, driver="COG", compress="DEFLATE", predictor=2, level=6, blocksize=BLOCK, num_threads=1
            )


CLOUD_TARGETS = (0.0, 0.35, 0.8, 0.1, 0.55, 0.05, 0.95, 0.2, 0.0, 0.65, 0.15, 0.4)


def generate_regional_archive(root: Path, spec: RegionalSpec = RegionalSpec()) -> Path:
    """Write the COGs and a self-contained static STAC Collection under `root`; returns its
    collection.json. Asset hrefs are relative, so the folder can be uploaded or served as it is."""
    lats = lattices(spec.seed, 10)
    unknown = sorted(set(spec.bands) - set(L1C_BANDS))
    if unknown:
        raise ValueError(f"unknown bands {unknown}; the archive has {', '.join(L1C_BANDS)}")
    collection = pystac.Collection(
        spec.collection_id,
        "SYNTHETIC regional Sentinel-2 L1C-like archive generated by eobatch (not real data)",
        pystac.Extent(
            pystac.SpatialExtent([list(spec.bbox)]), pystac.TemporalExtent([[spec.dates[0], spec.dates[-1]]])
        ),
    )
    for grid in _scene_grids(spec.bbox):
        coarse_x, coarse_y = _coordinates(grid, 60.0)
        footprint = shape(
            transform_geom(f"EPSG:{grid.epsg}", "EPSG:4326", mapping(box(grid.left, grid.top - grid.height_m,
                                                                          grid.left + grid.width_m, grid.top)))
        )  # fmt: skip
        for index, when in enumerate(spec.dates):
            day = (when - spec.dates[0]).days
            target = CLOUD_TARGETS[index % len(CLOUD_TARGETS)]
            cloud60 = _cloud(coarse_x, coarse_y, day, lats, target)
            item_id = f"S2R_MSIL1C_{when:%Y%m%dT%H%M%S}_T{grid.zone}"
            item = pystac.Item(
                item_id,
                mapping(footprint),
                list(footprint.bounds),
                when,
                {
                    "eo:cloud_cover": round(float((cloud60 >= 0.35).mean()) * 100, 2),
                    "platform": "sentinel-2a" if index % 2 == 0 else "sentinel-2b",
                    "s2:processing_baseline": "05.10",
                    "eobatch:synthetic": True,
                },
            )
            ProjectionExtension.ext(item, add_if_missing=True).epsg = grid.epsg
            folder = root / spec.collection_id / item_id
            for band in spec.bands:
                resolution = float(L1C_BANDS[band])
                dn60 = _band_dn60(coarse_x, coarse_y, list(L1C_BANDS).index(band), day, cloud60, lats)
                dn = _at_resolution(dn60, resolution, grid.shape(resolution))
                _write_cog(folder / f"{band}.tif", dn, grid, resolution)
                asset = pystac.Asset(f"./{band}.tif", media_type=pystac.MediaType.COG, roles=["data"])
                projection = ProjectionExtension.ext(asset)
                projection.shape = list(grid.shape(resolution))
                projection.transform = list(grid.transform(resolution))[:6]
                item.add_asset(band, asset)
            collection.add_item(item)
    collection.normalize_hrefs(str(root / spec.collection_id))
    collection.save(pystac.CatalogType.SELF_CONTAINED)
    return root / spec.collection_id / "collection.json"
