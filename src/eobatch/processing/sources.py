"""Open source rasters (local paths, http(s)://, s3://) with GDAL options scoped to the call.

s3:// hrefs go to the configured S3 endpoint through GDAL's /vsis3/ (infra-notes.md §2.3), or, on
embedded defaults (no endpoint), to the local bucket folder. GDAL errors become `TileFailure`s whose
reason names the href and carries GDAL's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import rasterio
from rasterio.errors import RasterioError
from rasterio.session import AWSSession

from eobatch.errors import TileFailure
from eobatch.processing.grid import TargetGrid
from eobatch.processing.read import overview_level, source_resolution
from eobatch.settings import Settings

_GDAL_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MAX_RETRY": "2",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "VSI_CACHE": "TRUE",
}


def gdal_path(href: str, settings: Settings) -> str:
    """What GDAL should open for `href`: local bucket folders stand in for s3:// on embedded defaults."""
    if href.startswith("s3://") and not settings.s3_endpoint:
        return str(settings.buckets_dir / href[len("s3://") :])
    if href.startswith("s3://"):
        return "/vsis3/" + href[len("s3://") :]
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    if href.startswith("file://"):
        return href[len("file://") :]
    return href


def gdal_env(settings: Settings) -> rasterio.Env:
    """A `rasterio.Env` with the S3 endpoint, credentials and HTTP options of these settings."""
    options = dict(_GDAL_OPTIONS)
    if not settings.s3_endpoint:
        return rasterio.Env(**options)
    endpoint = settings.s3_endpoint
    https = not endpoint.startswith("http://")
    host = endpoint.split("://", 1)[-1].rstrip("/")
    session = AWSSession(
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        aws_unsigned=not (settings.s3_access_key and settings.s3_secret_key),
        region_name=settings.s3_region,
        endpoint_url=host,
    )
    return rasterio.Env(session=session, AWS_VIRTUAL_HOSTING="FALSE", AWS_HTTPS="YES" if https else "NO", **options)


@contextmanager
def open_source(href: str, grid: TargetGrid, settings: Settings) -> Iterator[rasterio.DatasetReader]:
    """Open `href`, at the COG overview that fits the grid's resolution when the target is coarser."""
    path = gdal_path(href, settings)
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
        raise unreadable(href, exc) from exc


def unreadable(href: str, exc: Exception) -> TileFailure:
    """The tile failure for a source GDAL cannot read; retryable only for remote sources."""
    remote = href.startswith(("http://", "https://", "s3://"))
    return TileFailure(f"Cannot read source {href}: {exc}", retryable=remote, details={"href": href})


def _target_res_in_source_units(src: rasterio.DatasetReader, grid: TargetGrid) -> float:
    if src.crs is not None and src.crs == grid.crs:
        return grid.resolution
    if src.crs is not None and src.crs.is_geographic and not grid.crs.is_geographic:
        return grid.resolution / 111_320.0
    if src.crs is not None and not src.crs.is_geographic and grid.crs.is_geographic:
        return grid.resolution * 111_320.0
    return grid.resolution
