"""Reference results computed directly with rasterio + numpy, to check the pipeline against."""

from __future__ import annotations

import numpy as np
from rasterio.enums import Resampling
from rasterio.warp import reproject

from eobatch.processing import TargetGrid


def warp_band(scene, band: str, grid: TargetGrid, resampling=Resampling.nearest) -> np.ndarray:
    """One scene band's DN on the grid (float32, NaN = no data)."""
    out = np.full(grid.shape, np.nan, np.float32)
    reproject(
        scene.bands[band],
        out,
        src_transform=scene.band_transform(band),
        src_crs=f"EPSG:{scene.epsg}",
        src_nodata=0,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=resampling,
    )
    return out


def first_valid_reflectance(scenes, bands, grid: TargetGrid) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """SIMPLE mosaic in the given order: reflectance = DN / 10000, and the valid mask."""
    out = {b: np.zeros(grid.shape, np.float32) for b in bands}
    filled = np.zeros(grid.shape, bool)
    for scene in scenes:
        warped = {b: warp_band(scene, b, grid) for b in bands}
        valid = np.logical_and.reduce([~np.isnan(a) for a in warped.values()]) & ~filled
        for b in bands:
            out[b][valid] = warped[b][valid] * np.float32(0.0001)
        filled |= valid
    return out, filled


def ndvi(b04: np.ndarray, b08: np.ndarray) -> np.ndarray:
    """NDVI as the evalscript computes it: in double precision, stored as float32."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((b08.astype(np.float64) - b04) / (b08.astype(np.float64) + b04)).astype(np.float32)
