"""Encode output arrays into file bytes: GeoTIFF, COG (every cogParameters field), PNG and JPEG with their
georeferencing sidecars, JSON."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.io import MemoryFile

from eobatch.processing.grid import TargetGrid
from eobatch.processing.outputs import DEFAULT_JPEG_QUALITY, JPEG, PNG, TIFF, CogParameters
from eobatch.processing.sidecars import AUX_XML, WORLD_FILE, sidecar_url

_GDAL = {"GDAL_PAM_ENABLED": "NO", "GDAL_NUM_THREADS": "ALL_CPUS"}


def encode_raster(
    data: np.ndarray,
    fmt: str,
    grid: TargetGrid,
    *,
    nodata: float | None = None,
    cog: CogParameters | None = None,
    quality: int = DEFAULT_JPEG_QUALITY,
) -> bytes:
    """(bands, H, W) typed array -> file bytes in `fmt`; `cog` set means a Cloud-Optimized GeoTIFF.

    PNG and JPEG bytes carry no georeferencing: `encode_files` adds the sidecars that do."""
    if fmt == TIFF:
        return encode_cog(data, grid, nodata, cog) if cog is not None else encode_geotiff(data, grid, nodata)
    if fmt in (PNG, JPEG):
        return encode_image(data, fmt, grid, nodata=nodata, quality=quality)[0]
    raise ValueError(f"encode_raster cannot write {fmt}")


def encode_files(
    url: str,
    data: np.ndarray,
    fmt: str,
    grid: TargetGrid,
    *,
    nodata: float | None = None,
    cog: CogParameters | None = None,
    quality: int = DEFAULT_JPEG_QUALITY,
) -> list[tuple[str, bytes]]:
    """The files of one raster output at `url`: the image itself and, for PNG/JPEG, its georeferencing
    sidecars (a world file and `.aux.xml`, see `processing.sidecars`)."""
    if fmt not in (PNG, JPEG):
        return [(url, encode_raster(data, fmt, grid, nodata=nodata, cog=cog))]
    image, sidecars = encode_image(data, fmt, grid, nodata=nodata, quality=quality)
    return [(url, image)] + [(sidecar_url(url, kind), content) for kind, content in sidecars.items()]


def encode_image(
    data: np.ndarray, fmt: str, grid: TargetGrid, *, nodata: float | None = None, quality: int = DEFAULT_JPEG_QUALITY
) -> tuple[bytes, dict[str, bytes]]:
    """PNG (8 or 16 bit; 2 bands = grey + alpha, 4 = RGBA) or JPEG (8 bit, `quality` 1-100, alpha dropped),
    with the world file and `.aux.xml` GDAL writes beside it: {WORLD_FILE: ..., AUX_XML: ...}."""
    if fmt == JPEG:
        if data.shape[0] in (2, 4):  # JPEG has no alpha: drop the alpha band
            data = data[: data.shape[0] - 1]
        driver, ext, creation = "JPEG", "jpg", {"QUALITY": str(quality)}
    else:
        driver, ext, creation = "PNG", "png", {"ZLEVEL": "6"}
    bands = data.shape[0]
    profile = _profile(data, grid, _image_nodata(nodata, data.dtype) if bands in (1, 3) else None)
    env = _GDAL | {"GDAL_PAM_ENABLED": "YES"}
    with tempfile.TemporaryDirectory(prefix="eobatch-image-") as folder, rasterio.Env(**env), MemoryFile() as src_mem:
        target = Path(folder) / f"out.{ext}"
        with src_mem.open(driver="GTiff", **profile) as tmp:
            tmp.write(data)
        with src_mem.open() as tmp:
            rasterio.shutil.copy(tmp, str(target), driver=driver, WORLDFILE="YES", **creation)
        sidecars = {
            WORLD_FILE: (Path(folder) / "out.wld").read_bytes(),
            AUX_XML: Path(f"{target}.aux.xml").read_bytes(),
        }
        return target.read_bytes(), sidecars


def _image_nodata(nodata: float | None, dtype: np.dtype) -> int | None:
    """The output's nodataValue when an 8/16-bit image can hold it (PNG stores it as transparency)."""
    if nodata is None or not np.isfinite(nodata) or not float(nodata).is_integer():
        return None
    info = np.iinfo(dtype)
    return int(nodata) if info.min <= nodata <= info.max else None


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
