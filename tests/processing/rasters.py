"""Small synthetic COGs written by the tests (real GDAL I/O, no fixtures committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling


def write_cog(
    path: Path,
    data: np.ndarray,
    transform: Affine,
    epsg: int = 32633,
    nodata: float | None = 0,
    overviews: tuple[int, ...] = (),
) -> Path:
    """Write a single- or multi-band COG (DEFLATE, 256 blocks, optional overviews)."""
    data = data if data.ndim == 3 else data[np.newaxis]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.tif")
    profile = dict(
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype,
        crs=f"EPSG:{epsg}",
        transform=transform,
        nodata=nodata,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    )
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)
        if overviews:
            dst.build_overviews(list(overviews), Resampling.nearest)
    with rasterio.open(tmp) as src:
        rasterio.shutil.copy(
            src,
            path,
            driver="COG",
            compress="DEFLATE",
            overviews="FORCE_USE_EXISTING" if overviews else "NONE",
            blocksize=256,
        )
    tmp.unlink()
    return path


def gradient(height: int, width: int, seed: int = 0, low: int = 1, high: int = 9000) -> np.ndarray:
    """A uint16 field with structure and noise, no zeros (so nodata=0 marks only real holes)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    field = (x * 7 + y * 3) % 4000 + rng.integers(0, 500, size=(height, width))
    return np.clip(field + low, low, high).astype(np.uint16)
