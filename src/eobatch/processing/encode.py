"""Encode output arrays into file bytes: GeoTIFF, COG (every cogParameters field), PNG, JPEG, JSON."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from eobatch.processing.grid import TargetGrid
from eobatch.processing.outputs import JPEG, PNG, TIFF, CogParameters

_GDAL = {"GDAL_PAM_ENABLED": "NO", "GDAL_NUM_THREADS": "ALL_CPUS"}


def encode_raster(
    data: np.ndarray,
    fmt: str,
    grid: TargetGrid,
    *,
    nodata: float | None = None,
    cog: CogParameters | None = None,
) -> bytes:
    """(bands, H, W) typed array -> file bytes in `fmt`; `cog` set means a Cloud-Optimized GeoTIFF."""
    if fmt == TIFF:
        return encode_cog(data, grid, nodata, cog) if cog is not None else encode_geotiff(data, grid, nodata)
    if fmt == PNG:
        return _encode_copy_only(data, "PNG", {"ZLEVEL": "6"})
    if fmt == JPEG:
        if data.shape[0] in (2, 4):  # JPEG has no alpha: drop the alpha band
            data = data[: data.shape[0] - 1]
        return _encode_copy_only(data, "JPEG", {"QUALITY": "90"})
    raise ValueError(f"encode_raster cannot write {fmt}")


def encode_json(value: Any) -> bytes:
    """The userdata JSON document."""
    return json.dumps(value, default=_json_default, allow_nan=True).encode()


def predictor_for(dtype: np.dtype, use_predictor: bool) -> int:
    """1 (none), 2 (horizontal differencing, integers) or 3 (floating point)."""
    if not use_predictor:
        return 1
    return 3 if np.issubdtype(dtype, np.floating) else 2


def encode_geotiff(data: np.ndarray, grid: TargetGrid, nodata: float | None) -> bytes:
    """A plain (striped) DEFLATE GeoTIFF with the tile's CRS, transform and nodata."""
    profile = _profile(data, grid, nodata) | {
        "driver": "GTiff",
        "compress": "DEFLATE",
        "predictor": predictor_for(data.dtype, True),
        "interleave": "pixel" if data.shape[0] > 1 else "band",
    }
    with rasterio.Env(**_GDAL), MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(data)
        return bytes(mem.getbuffer())


def encode_cog(data: np.ndarray, grid: TargetGrid, nodata: float | None, cog: CogParameters) -> bytes:
    """A COG honouring overviewLevels, overviewMinSize, resamplingAlgorithm, block sizes and usePredictor.

    The image and its overviews are built in an uncompressed in-memory GeoTIFF, then copied with
    COPY_SRC_OVERVIEWS into the final tiled, compressed layout (overviews after the main image data).
    """
    bands, height, width = data.shape
    levels = cog.levels_for(width, height)
    options = {
        "tiled": True,
        "blockxsize": cog.blockxsize,
        "blockysize": cog.blockysize,
        "compress": "DEFLATE",
        "predictor": predictor_for(data.dtype, cog.use_predictor),
        "interleave": "pixel" if bands > 1 else "band",
    }
    profile = _profile(data, grid, nodata)
    with rasterio.Env(**_GDAL):
        if not levels:
            with MemoryFile() as mem:
                with mem.open(driver="GTiff", **profile, **options) as dst:
                    dst.write(data)
                return bytes(mem.getbuffer())
        with MemoryFile() as staging, MemoryFile() as final:
            with staging.open(
                driver="GTiff",
                tiled=True,
                blockxsize=cog.blockxsize,
                blockysize=cog.blockysize,
                interleave=options["interleave"],
                **profile,
            ) as tmp:
                tmp.write(data)
                tmp.build_overviews(levels, Resampling[cog.resampling])
            with staging.open() as tmp:
                rasterio.shutil.copy(tmp, final.name, driver="GTiff", copy_src_overviews=True, **options)
            return bytes(final.getbuffer())


def _encode_copy_only(data: np.ndarray, driver: str, creation: dict[str, str]) -> bytes:
    """PNG/JPEG are written by CreateCopy from an in-memory dataset."""
    bands, height, width = data.shape
    with rasterio.Env(**_GDAL), MemoryFile() as src_mem, MemoryFile() as out, warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with src_mem.open(driver="GTiff", width=width, height=height, count=bands, dtype=data.dtype) as tmp:
            tmp.write(data)
        with src_mem.open() as tmp:
            rasterio.shutil.copy(tmp, out.name, driver=driver, **creation)
        return bytes(out.getbuffer())


def _profile(data: np.ndarray, grid: TargetGrid, nodata: float | None) -> dict[str, Any]:
    bands, height, width = data.shape
    return {
        "width": width,
        "height": height,
        "count": bands,
        "dtype": data.dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
