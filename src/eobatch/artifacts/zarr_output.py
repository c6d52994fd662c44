"""v2 Zarr output (`output.type = "zarr"`): one Zarr group per request, one array per single-band output.

At analysis `ZarrOutput.create` lays out the group over the request's full extent (the union of its
tiles, which all share one CRS: only WGS84 and LAEA grids are allowed), with coordinate arrays
(`time`, `y`/`x` or `lat`/`lon`) and data arrays shaped (1, height, width), chunked so that a chunk
never straddles two tiles. Each tile then writes its own block with `write_tile`; tiles never share a
chunk, so parallel workers need no locking. Zarr v2 format by default, as Sentinel Hub writes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numcodecs
import numpy as np
import zarr

from eobatch.domain.plan import ZarrSettings
from eobatch.errors import BadRequest, Violation

DEFAULT_COMPRESSOR = {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}
EPOCH_UNITS = "seconds since 1970-01-01T00:00:00"
GEOMETRY_ATTR = "eobatch:geometry"


@dataclass(frozen=True)
class ZarrArraySpec:
    """One data array: named after the response identifier."""

    name: str
    dtype: str
    fill_value: float | int
    chunks: tuple[int, int] | None = None  # (y, x); default one tile
    compressor: Mapping[str, Any] | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ZarrGeometry:
    """Where the group's pixels are: CRS, resolution, the extent's upper-left corner, size, tile size."""

    epsg: int
    resolution: float
    minx: float
    maxy: float
    width: int
    height: int
    tile_width: int
    tile_height: int
    origin: str = "topLeft"  # or "bottomLeft": row 0 is the southernmost row

    @property
    def spatial_dims(self) -> tuple[str, str]:
        return ("lat", "lon") if self.epsg == 4326 else ("y", "x")

    def x_coords(self) -> np.ndarray:
        return self.minx + (np.arange(self.width) + 0.5) * self.resolution

    def y_coords(self) -> np.ndarray:
        y = self.maxy - (np.arange(self.height) + 0.5) * self.resolution
        return y[::-1] if self.origin == "bottomLeft" else y

    def block_of(self, bounds: tuple[float, float, float, float]) -> tuple[slice, slice]:
        """The (row, column) slices of tile `bounds` (minx, miny, maxx, maxy, no buffer) in the arrays."""
        minx, miny, maxx, maxy = bounds
        col0 = _index((minx - self.minx) / self.resolution)
        col1 = _index((maxx - self.minx) / self.resolution)
        row0 = _index((self.maxy - maxy) / self.resolution)
        row1 = _index((self.maxy - miny) / self.resolution)
        if not (0 <= col0 < col1 <= self.width and 0 <= row0 < row1 <= self.height):
            raise ValueError(f"tile bounds {bounds} lie outside the Zarr extent")
        if self.origin == "bottomLeft":
            row0, row1 = self.height - row1, self.height - row0
        return slice(row0, row1), slice(col0, col1)


def _index(value: float) -> int:
    nearest = round(value)
    if not math.isclose(value, nearest, abs_tol=1e-6):
        raise ValueError(f"tile edge is not on the pixel grid (offset {value} px)")
    return int(nearest)


def geometry_for_tiles(
    epsg: int, resolution: float, tile_bounds: Sequence[tuple[float, float, float, float]], origin: str = "topLeft"
) -> ZarrGeometry:
    """The group geometry covering every tile (all in EPSG:`epsg`, unbuffered, on one grid)."""
    if not tile_bounds:
        raise ValueError("a Zarr output needs at least one tile")
    minx = min(b[0] for b in tile_bounds)
    miny = min(b[1] for b in tile_bounds)
    maxx = max(b[2] for b in tile_bounds)
    maxy = max(b[3] for b in tile_bounds)
    first = tile_bounds[0]
    return ZarrGeometry(
        epsg=epsg,
        resolution=resolution,
        minx=minx,
        maxy=maxy,
        width=_index((maxx - minx) / resolution),
        height=_index((maxy - miny) / resolution),
        tile_width=_index((first[2] - first[0]) / resolution),
        tile_height=_index((first[3] - first[1]) / resolution),
        origin=origin,
    )


def _compressor(spec: Mapping[str, Any] | None) -> Any:
    config = dict(spec if spec is not None else DEFAULT_COMPRESSOR)
    try:
        return numcodecs.get_codec(config)
    except Exception as exc:
        message = f"compressor {config!r} is not a known numcodecs codec: {exc}"
        raise BadRequest(message, [Violation("output.arrayParameters.compressor", message)]) from exc


class ZarrOutput:
    """A request's Zarr group: created once at analysis, written tile by tile during processing."""

    def __init__(self, group: zarr.Group, geometry: ZarrGeometry):
        self.group = group
        self.geometry = geometry

    @classmethod
    def create(
        cls,
        store: Any,
        geometry: ZarrGeometry,
        arrays: Sequence[ZarrArraySpec],
        *,
        time: datetime | None = None,
        group_attributes: Mapping[str, Any] | None = None,
        zarr_format: int = 2,
    ) -> ZarrOutput:
        """Create the group with coordinate arrays and empty data arrays (fill value everywhere)."""
        group = zarr.open_group(
            store,
            mode="w",
            zarr_format=zarr_format,
            attributes={**(group_attributes or {}), GEOMETRY_ATTR: _geometry_attrs(geometry)},
        )
        ydim, xdim = geometry.spatial_dims
        moment = (time or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC)
        _coordinate(
            group,
            "time",
            np.array([int(moment.timestamp())], dtype="int64"),
            "time",
            {"units": EPOCH_UNITS, "calendar": "proleptic_gregorian", "standard_name": "time"},
        )
        _coordinate(group, ydim, geometry.y_coords(), ydim, _axis_attrs(geometry, "y"))
        _coordinate(group, xdim, geometry.x_coords(), xdim, _axis_attrs(geometry, "x"))
        for spec in arrays:
            chunks = spec.chunks or (geometry.tile_height, geometry.tile_width)
            check_chunks(spec.name, chunks, geometry)
            group.create_array(
                spec.name,
                shape=(1, geometry.height, geometry.width),
                dtype=spec.dtype,
                chunks=(1, *chunks),
                fill_value=spec.fill_value,
                compressors=_compressor(spec.compressor),
                order="C",
                attributes={"_ARRAY_DIMENSIONS": ["time", ydim, xdim], **dict(spec.attributes)},
                **({"dimension_names": ("time", ydim, xdim)} if zarr_format == 3 else {}),
            )
        return cls(group, geometry)

    @classmethod
    def open(cls, store: Any) -> ZarrOutput:
        """Reopen a group made by `create` (in a worker) to write tiles into it."""
        group = zarr.open_group(store, mode="r+")
        return cls(group, ZarrGeometry(**group.attrs[GEOMETRY_ATTR]))

    def write_tile(self, array: str, bounds: tuple[float, float, float, float], data: np.ndarray) -> None:
        """Write one tile's (height, width) block of `array`; `bounds` are the tile's unbuffered bounds."""
        rows, cols = self.geometry.block_of(bounds)
        expected = (rows.stop - rows.start, cols.stop - cols.start)
        block = np.asarray(data)
        if block.ndim == 3 and block.shape[0] == 1:
            block = block[0]
        if block.shape != expected:
            raise ValueError(f"tile block for {array!r} has shape {block.shape}, expected {expected}")
        if self.geometry.origin == "bottomLeft":
            block = block[::-1]
        self.group[array][0, rows, cols] = block


def check_chunks(name: str, chunks: Sequence[int], geometry: ZarrGeometry) -> None:
    """BadRequest unless the chunk's y and x sizes divide the tile size in pixels."""
    cy, cx = (int(c) for c in chunks)
    if cy <= 0 or cx <= 0 or geometry.tile_height % cy or geometry.tile_width % cx:
        message = (
            f"chunks [1, {cy}, {cx}] of array {name!r} must divide the tile size "
            f"{geometry.tile_height} x {geometry.tile_width} px"
        )
        raise BadRequest(message, [Violation("output.arrayParameters.chunks", message)])


def _coordinate(group: zarr.Group, name: str, values: np.ndarray, dim: str, attrs: Mapping[str, Any]) -> None:
    array = group.create_array(
        name,
        shape=values.shape,
        dtype=values.dtype,
        chunks=values.shape,
        fill_value=None,
        attributes={"_ARRAY_DIMENSIONS": [dim], **attrs},
        **({"dimension_names": (dim,)} if group.metadata.zarr_format == 3 else {}),
    )
    array[...] = values


def _axis_attrs(geometry: ZarrGeometry, axis: str) -> dict[str, Any]:
    if geometry.epsg == 4326:
        return (
            {"standard_name": "latitude", "units": "degrees_north"}
            if axis == "y"
            else {"standard_name": "longitude", "units": "degrees_east"}
        )
    name = "projection_y_coordinate" if axis == "y" else "projection_x_coordinate"
    return {"standard_name": name, "units": "m", "crs": f"EPSG:{geometry.epsg}"}


def _geometry_attrs(geometry: ZarrGeometry) -> dict[str, Any]:
    return {
        "epsg": geometry.epsg,
        "resolution": geometry.resolution,
        "minx": geometry.minx,
        "maxy": geometry.maxy,
        "width": geometry.width,
        "height": geometry.height,
        "tile_width": geometry.tile_width,
        "tile_height": geometry.tile_height,
        "origin": geometry.origin,
    }


def zarr_group_url(url: str, request_id: str) -> str:
    """Where a request's Zarr group lives: the delivery URL with `<requestId>` (or `<taskId>`) filled in."""
    return url.replace("<requestId>", request_id).replace("<taskId>", request_id).rstrip("/")


def array_specs(zarr_settings: ZarrSettings) -> list[ZarrArraySpec]:
    """The data arrays of a request's Zarr output: one per response, as its plan describes them."""
    specs = []
    for array in zarr_settings.arrays:
        fill = array.fill_value
        if isinstance(fill, str) and fill.lower() == "nan":
            fill = float("nan")
        specs.append(
            ZarrArraySpec(
                name=array.name, dtype=array.dtype, fill_value=fill, chunks=array.chunks, compressor=array.compressor
            )
        )
    return specs


def zarr_store(url: str, settings: Any, credentials: Any = None) -> Any:
    """A zarr store at `url` (s3://bucket/prefix): obstore S3 on the output store (`settings.s3_endpoint`
    with the request's `credentials` (storage.S3Credentials) or the settings' keys), else the local
    bucket folder."""
    from eobatch.storage import split_s3_url
    from eobatch.storage.access import output_store_access

    bucket, key = split_s3_url(url)
    key = key.strip("/")
    if not settings.s3_endpoint:
        root = settings.buckets_dir / bucket / key
        root.mkdir(parents=True, exist_ok=True)
        return zarr.storage.LocalStore(root)
    return zarr.storage.ObjectStore(output_store_access(settings, credentials).object_store(bucket, prefix=key))
