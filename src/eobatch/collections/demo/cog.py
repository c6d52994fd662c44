"""Writing the demo archive's Cloud-Optimized GeoTIFFs (DEFLATE, predictor, 512 px blocks, overviews)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.enums import Resampling
from rasterio.io import MemoryFile

BLOCK = 512


def overview_factors(width: int, height: int) -> list[int]:
    """2, 4, ... until the smallest overview fits in one block (what GDAL's COG driver does)."""
    factors, factor = [], 2
    while max(width, height) / (factor // 2) > BLOCK:
        factors.append(factor)
        factor *= 2
    return factors


def write_cog(
    path: Path,
    array: np.ndarray,
    crs: str,
    transform: Affine,
    nodata: float | None,
    categorical: bool = False,
) -> None:
    """A DEFLATE COG with overviews (NEAREST for categorical bands, AVERAGE otherwise). Overviews are
    built on an uncompressed in-memory copy and then copied, which costs about half of letting the COG
    driver build them from its own temp file. Floats use the floating-point predictor."""
    rows, cols = array.shape
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
    }
    predictor = 3 if array.dtype.kind == "f" else 2
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(array, 1)
            factors = overview_factors(cols, rows)
            if factors:
                dataset.build_overviews(factors, Resampling.nearest if categorical else Resampling.average)
        with memory.open() as source:
            rasterio.shutil.copy(
                source,
                path,
                driver="COG",
                compress="DEFLATE",
                predictor=predictor,
                level=1,
                blocksize=BLOCK,
                num_threads=1,
            )
