"""The v2 feature manifest: `featureManifest-<requestId>.gpkg` in the output root, written at analysis.

One table per output CRS, named `feature_<epsg>`, with one row per tile and output:
`fid, outputId, identifier, path, width, height, geometry` (batch-api.md §4.3). Uploading it is also
the analysis-time check that the request's delivery credentials can write to the bucket.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
from shapely.geometry.base import BaseGeometry

from eobatch.errors import BadRequest, EobatchError, Violation
from eobatch.grids.model import GridTile, PixelGrid
from eobatch.storage import ObjectStorage, expand_default_layout, render_tile_path, split_s3_url

FIELDS = ["outputId", "identifier", "path", "width", "height"]
_PLACEHOLDER = re.compile(r"<[A-Za-z]+>")


@dataclass(frozen=True)
class ManifestEntry:
    """One row: where output `output_id` of tile/feature `identifier` is written, and what it covers."""

    output_id: str
    identifier: str
    path: str
    width: int
    height: int
    epsg: int
    geometry: BaseGeometry  # in EPSG:epsg


def output_root(template: str) -> str:
    """The folder part of a delivery URL before its first placeholder, ending in '/'.

    `s3://b/out/<requestId>/<tileName>/<outputId>.<format>` -> `s3://b/out/`; a location without
    placeholders gets the default layout first, so its root is the location itself.
    """
    template = expand_default_layout(template)
    split_s3_url(template)
    head = template[: _PLACEHOLDER.search(template).start()]
    return head[: head.rfind("/") + 1]


def manifest_url(template: str, request_id: str) -> str:
    return f"{output_root(template)}featureManifest-{request_id}.gpkg"


def manifest_entries(
    request_id: str,
    tiles: Iterable[tuple[GridTile, PixelGrid]],
    outputs: Sequence[tuple[str, str]],
    template: str,
    geometries: Mapping[int, BaseGeometry] | None = None,
) -> list[ManifestEntry]:
    """Rows for every tile and every (output id, file extension); `geometries` overrides a tile's
    footprint (GeoPackage features keep their own polygon), otherwise the pixel grid's extent is used."""
    entries = []
    for tile, grid in tiles:
        geometry = (geometries or {}).get(tile.id) or _grid_box(grid)
        for output_id, extension in outputs:
            path = render_tile_path(
                template,
                request_id=request_id,
                tile_name=tile.name,
                tile_id=tile.id,
                output_id=output_id,
                fmt=extension,
            )
            entries.append(ManifestEntry(output_id, tile.name, path, grid.width, grid.height, tile.epsg, geometry))
    return entries


def _grid_box(grid: PixelGrid) -> BaseGeometry:
    t = grid.transform
    xs = (t.c, t.c + t.a * grid.width)
    ys = (t.f, t.f + t.e * grid.height)
    return shapely.box(min(xs), min(ys), max(xs), max(ys))


def write_feature_manifest(entries: Sequence[ManifestEntry], path: str | Path) -> Path:
    """Write the manifest GeoPackage to a local `path` (one `feature_<epsg>` table per CRS)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    if not entries:
        raise ValueError("a feature manifest needs at least one entry")
    for epsg in sorted({e.epsg for e in entries}):
        rows = [e for e in entries if e.epsg == epsg]
        field_data = [
            np.array([e.output_id for e in rows], dtype=object),
            np.array([e.identifier for e in rows], dtype=object),
            np.array([e.path for e in rows], dtype=object),
            np.array([e.width for e in rows], dtype=np.int32),
            np.array([e.height for e in rows], dtype=np.int32),
        ]
        wkb = shapely.to_wkb(np.array([_as_multi(e.geometry) for e in rows], dtype=object))
        pyogrio.raw.write(
            str(path),
            np.asarray(wkb, dtype=object),
            field_data,
            FIELDS,
            layer=f"feature_{epsg}",
            driver="GPKG",
            geometry_type="MultiPolygon",
            crs=f"EPSG:{epsg}",
            append=path.exists(),
        )
    return path


def _as_multi(geometry: BaseGeometry) -> BaseGeometry:
    if geometry.geom_type == "MultiPolygon":
        return geometry
    return shapely.MultiPolygon([geometry])


def feature_manifest_bytes(entries: Sequence[ManifestEntry]) -> bytes:
    """The manifest GeoPackage as bytes."""
    with tempfile.TemporaryDirectory(prefix="eobatch-manifest-") as folder:
        return write_feature_manifest(entries, Path(folder) / "manifest.gpkg").read_bytes()


def upload_feature_manifest(
    storage: ObjectStorage, template: str, request_id: str, entries: Sequence[ManifestEntry]
) -> str:
    """Write the manifest to the output root with the request's credentials; returns its URL.

    A failed write is a BadRequest saying the delivery location is not writable with those credentials.
    """
    url = manifest_url(template, request_id)
    data = feature_manifest_bytes(entries)
    try:
        storage.put(url, data)
    except EobatchError as exc:
        message = (
            f"Cannot write the feature manifest to {url} with the credentials in output.delivery.s3: "
            f"{exc.message}. Give accessKey/secretAccessKey that may write to this bucket"
        )
        raise BadRequest(message, [Violation("output.delivery.s3", message)]) from exc
    return url
