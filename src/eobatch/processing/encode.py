"""Encode whole output arrays into file bytes: GeoTIFF, COG (every cogParameters field), PNG and JPEG with
their georeferencing sidecars, JSON.

The pipeline assembles its outputs block by block (`processing.assemble`); these functions are that same
path with the whole array as one block, for callers that hold an array (tests, small images).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from eobatch.processing.assemble import EXTENSIONS, RasterAssembly, image_nodata, predictor_for
from eobatch.processing.grid import TargetGrid
from eobatch.processing.outputs import DEFAULT_JPEG_QUALITY, JPEG, PNG, TIFF, CogParameters
from eobatch.processing.sidecars import AUX_XML, WORLD_FILE

__all__ = [
    "encode_cog",
    "encode_files",
    "encode_geotiff",
    "encode_image",
    "encode_json",
    "encode_raster",
    "image_nodata",
    "predictor_for",
]


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
    with tempfile.TemporaryDirectory(prefix="eobatch-encode-") as folder:
        assembly = RasterAssembly(Path(folder), "out", fmt, grid, nodata=nodata, cog=cog, quality=quality)
        try:
            assembly.write(0, data)
            return [(name, path.read_bytes()) for name, path in assembly.finish(url)]
        finally:
            assembly.close()


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
    if fmt not in EXTENSIONS:
        raise ValueError(f"encode_raster cannot write {fmt}")
    return encode_files(f"s3://b/out.{EXTENSIONS[fmt]}", data, fmt, grid, nodata=nodata, cog=cog, quality=quality)[0][1]


def encode_image(
    data: np.ndarray, fmt: str, grid: TargetGrid, *, nodata: float | None = None, quality: int = DEFAULT_JPEG_QUALITY
) -> tuple[bytes, dict[str, bytes]]:
    """PNG (8 or 16 bit; 2 bands = grey + alpha, 4 = RGBA) or JPEG (8 bit, `quality` 1-100, alpha dropped),
    with the world file and `.aux.xml` GDAL writes beside it: {WORLD_FILE: ..., AUX_XML: ...}."""
    if fmt not in (PNG, JPEG):
        raise ValueError(f"encode_image cannot write {fmt}")
    image, world, aux = encode_files(f"s3://b/out.{EXTENSIONS[fmt]}", data, fmt, grid, nodata=nodata, quality=quality)
    return image[1], {WORLD_FILE: world[1], AUX_XML: aux[1]}


def encode_geotiff(data: np.ndarray, grid: TargetGrid, nodata: float | None) -> bytes:
    """A plain (striped) DEFLATE GeoTIFF with the tile's CRS, transform and nodata."""
    return encode_raster(data, TIFF, grid, nodata=nodata)


def encode_cog(data: np.ndarray, grid: TargetGrid, nodata: float | None, cog: CogParameters) -> bytes:
    """A COG honouring overviewLevels, overviewMinSize, resamplingAlgorithm, block sizes and usePredictor."""
    return encode_raster(data, TIFF, grid, nodata=nodata, cog=cog)


def encode_json(value: Any) -> bytes:
    """The userdata JSON document."""
    return json.dumps(value, default=_json_default, allow_nan=True).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
