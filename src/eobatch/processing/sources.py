"""Open source rasters (local paths, http(s)://, s3://) through their collection's `StoreAccess`.

The access decides what GDAL opens (/vsis3/ on the collection's endpoint, /vsicurl/ with signed
URLs and headers, a local path) and the GDAL configuration of the read (cloud defaults plus the
collection's overrides). GDAL errors become `TileFailure`s whose reason names the href and carries
GDAL's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import rasterio
from rasterio.errors import RasterioError

from eobatch.errors import EobatchError, TileFailure
from eobatch.processing.grid import TargetGrid
from eobatch.processing.read import overview_level, source_resolution
from eobatch.storage.access import StoreAccess


@contextmanager
def open_source(href: str, grid: TargetGrid, access: StoreAccess) -> Iterator[rasterio.DatasetReader]:
    """Open `href` in the access's GDAL environment, at the COG overview that fits the grid's
    resolution when the target is coarser. A signed URL never appears in an error message."""
    try:
        path = access.gdal_path(href)
    except EobatchError as exc:  # a signer that could not sign
        raise TileFailure(f"Cannot read source {href}: {exc.message}", retryable=True) from exc
    with access.rasterio_env(href):
        try:
            src = rasterio.open(path)
            try:
                target = _target_res_in_source_units(src, grid)
                level = overview_level(src, target) if target > source_resolution(src) else None
                if level is not None:
                    src.close()
                    src = rasterio.open(path, overview_level=level)
                yield src
            finally:
                src.close()
        except RasterioError as exc:
            raise unreadable(href, exc, path) from exc


def unreadable(href: str, exc: Exception, opened: str | None = None) -> TileFailure:
    """The tile failure for a source GDAL cannot read; retryable only for remote sources. `opened`
    (the GDAL path, perhaps signed) is replaced by `href` in GDAL's message."""
    remote = href.startswith(("http://", "https://", "s3://"))
    message = str(exc)
    if opened and opened != href:
        message = message.replace(opened.removeprefix("/vsicurl/"), href)
    return TileFailure(f"Cannot read source {href}: {message}", retryable=remote, details={"href": href})


def _target_res_in_source_units(src: rasterio.DatasetReader, grid: TargetGrid) -> float:
    if src.crs is not None and src.crs == grid.crs:
        return grid.resolution
    if src.crs is not None and src.crs.is_geographic and not grid.crs.is_geographic:
        return grid.resolution / 111_320.0
    if src.crs is not None and not src.crs.is_geographic and grid.crs.is_geographic:
        return grid.resolution * 111_320.0
    return grid.resolution
