"""Assemble a tile's raster outputs from row blocks, with bounded memory.

Each raster output is staged block by block (windowed writes) in an uncompressed, tiled GeoTIFF in a
temporary folder; `finish` then builds the overviews a COG asks for in that staging file and converts it
once into the final file with GDAL (`rasterio.shutil.copy`): a DEFLATE GeoTIFF, a COG (COPY_SRC_OVERVIEWS
into the tiled, compressed layout), or a PNG/JPEG with its georeferencing sidecars. GDAL streams both
steps through its block cache, so no step holds the whole image. The staging file carries the final
profile (CRS, transform, nodata, block size, interleaving), so the result is the same file a single
in-memory write would give. Zarr outputs are assembled in memory in their sample type (`ArrayAssembly`):
a tile is one Zarr chunk, which is compressed whole anyway.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.windows import Window

from eobatch.processing.grid import TargetGrid
from eobatch.processing.outputs import DEFAULT_JPEG_QUALITY, JPEG, PNG, TIFF, CogParameters
from eobatch.processing.sidecars import AUX_XML, WORLD_FILE, sidecar_url
from eobatch.threads import tile_threads

GDAL_OPTIONS = {"GDAL_PAM_ENABLED": "NO", "GDAL_CACHEMAX": 128 * 2**20}  # bytes
STAGING_BLOCK = 256  # block size of the staging file of a plain GeoTIFF, PNG or JPEG
EXTENSIONS = {TIFF: "tif", PNG: "png", JPEG: "jpg"}


FOLDER_PREFIX = "eobatch-tile-"


def gdal_options(**extra: Any) -> dict[str, Any]:
    """GDAL's options for staging and converting outputs: as many compression threads as the tile may use
    (eobatch/threads.py)."""
    return GDAL_OPTIONS | {"GDAL_NUM_THREADS": str(tile_threads())} | extra


def tile_folder() -> tempfile.TemporaryDirectory:
    """A temporary folder for one tile's staging and output files, named after this host and process.

    A worker killed mid-tile (memory or time limit) cannot remove its folder, so each new folder first
    sweeps away those of this host's processes that no longer exist."""
    host = socket.gethostname().replace("-", "_")
    root = Path(tempfile.gettempdir())
    for stale in root.glob(f"{FOLDER_PREFIX}{host}-*-*"):
        pid = stale.name.removeprefix(f"{FOLDER_PREFIX}{host}-").split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{host}-{os.getpid()}-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RasterAssembly:
    """One raster output of a tile in `fmt`, written in row blocks, finished into files in `folder`."""

    def __init__(
        self,
        folder: Path,
        name: str,
        fmt: str,
        grid: TargetGrid,
        *,
        nodata: float | None = None,
        cog: CogParameters | None = None,
        quality: int = DEFAULT_JPEG_QUALITY,
    ):
        if fmt not in EXTENSIONS:
            raise ValueError(f"cannot assemble {fmt}")
        self.folder, self.name, self.fmt, self.grid = folder, name, fmt, grid
        self.nodata, self.cog, self.quality = nodata, cog if fmt == TIFF else None, quality
        self.staging = folder / f"{name}.staging.tif"
        self._dst: Any = None
        self._dtype: np.dtype | None = None
        self._bands = 0

    def write(self, row0: int, data: np.ndarray) -> None:
        """Put a typed (bands, rows, width) block at row `row0`."""
        if self.fmt == JPEG and data.shape[0] in (2, 4):  # JPEG has no alpha: drop the alpha band
            data = data[: data.shape[0] - 1]
        if self._dst is None:
            self._open(data.shape[0], data.dtype)
        if data.shape[0] != self._bands or data.dtype != self._dtype:
            raise ValueError(f"block of {data.shape[0]} {data.dtype} bands, the output has {self._bands} {self._dtype}")
        with rasterio.Env(**gdal_options()):
            self._dst.write(data, window=Window(0, row0, data.shape[2], data.shape[1]))

    def _open(self, bands: int, dtype: np.dtype) -> None:
        self._bands, self._dtype = bands, np.dtype(dtype)
        nodata = self.nodata
        if self.fmt != TIFF:
            nodata = image_nodata(nodata, self._dtype) if bands in (1, 3) else None
        blocks = (self.cog.blockxsize, self.cog.blockysize) if self.cog else (STAGING_BLOCK, STAGING_BLOCK)
        with rasterio.Env(**gdal_options()):
            self._dst = rasterio.open(
                self.staging,
                "w",
                driver="GTiff",
                width=self.grid.width,
                height=self.grid.height,
                count=bands,
                dtype=self._dtype,
                crs=self.grid.crs,
                transform=self.grid.transform,
                nodata=nodata,
                tiled=True,
                blockxsize=blocks[0],
                blockysize=blocks[1],
                interleave="pixel" if bands > 1 else "band",
            )

    def finish(self, url: str) -> list[tuple[str, Path]]:
        """Build overviews, convert to the final format; returns (url, file) for the image and, for
        PNG/JPEG, its sidecars (`processing.sidecars`)."""
        if self._dst is None:
            raise ValueError(f"no block was written to {self.name}")
        target = self.folder / f"{self.name}.{EXTENSIONS[self.fmt]}"
        try:
            with rasterio.Env(**gdal_options()):
                if self.cog is not None:
                    levels = self.cog.levels_for(self.grid.width, self.grid.height)
                    if levels:
                        self._dst.build_overviews(levels, Resampling[self.cog.resampling])
                self._dst.close()
            if self.fmt == TIFF:
                self._copy_tiff(target)
                return [(url, target)]
            return self._copy_image(url, target)
        finally:
            self._dst.close()
            self.staging.unlink(missing_ok=True)

    def _copy_tiff(self, target: Path) -> None:
        options: dict[str, Any] = {
            "compress": "DEFLATE",
            "predictor": predictor_for(self._dtype, self.cog.use_predictor if self.cog else True),
            "interleave": "pixel" if self._bands > 1 else "band",
        }
        if self.cog is not None:
            options |= {
                "tiled": True,
                "blockxsize": self.cog.blockxsize,
                "blockysize": self.cog.blockysize,
                "copy_src_overviews": True,
            }
        with rasterio.Env(**gdal_options()), rasterio.open(self.staging) as src:
            rasterio.shutil.copy(src, str(target), driver="GTiff", **options)

    def _copy_image(self, url: str, target: Path) -> list[tuple[str, Path]]:
        if self.fmt == JPEG:
            driver, creation = "JPEG", {"QUALITY": str(self.quality)}
        else:
            driver, creation = "PNG", {"ZLEVEL": "6"}
        with rasterio.Env(**gdal_options(GDAL_PAM_ENABLED="YES")), rasterio.open(self.staging) as src:
            rasterio.shutil.copy(src, str(target), driver=driver, WORLDFILE="YES", **creation)
        return [
            (url, target),
            (sidecar_url(url, WORLD_FILE), self.folder / f"{self.name}.wld"),
            (sidecar_url(url, AUX_XML), Path(f"{target}.aux.xml")),
        ]

    def close(self) -> None:
        """Drop the staging file (a tile that failed before `finish`)."""
        if self._dst is not None:
            self._dst.close()
        self.staging.unlink(missing_ok=True)


class ArrayAssembly:
    """A tile's output assembled in memory in its sample type (Zarr outputs)."""

    def __init__(self, grid: TargetGrid):
        self.grid = grid
        self.array: np.ndarray | None = None

    def write(self, row0: int, data: np.ndarray) -> None:
        if self.array is None:
            self.array = np.empty((data.shape[0], self.grid.height, self.grid.width), dtype=data.dtype)
        self.array[:, row0 : row0 + data.shape[1]] = data

    def close(self) -> None:
        self.array = None


def image_nodata(nodata: float | None, dtype: np.dtype) -> int | None:
    """The output's nodataValue when an 8/16-bit image can hold it (PNG stores it as transparency)."""
    if nodata is None or not np.isfinite(nodata) or not float(nodata).is_integer():
        return None
    info = np.iinfo(dtype)
    return int(nodata) if info.min <= nodata <= info.max else None


def predictor_for(dtype: np.dtype, use_predictor: bool) -> int:
    """1 (none), 2 (horizontal differencing, integers) or 3 (floating point)."""
    if not use_predictor:
        return 1
    return 3 if np.issubdtype(dtype, np.floating) else 2
