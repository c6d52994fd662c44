"""STAC for a finished request: `stac-<requestId>/collection.json` in the output root, one Item per
processed tile under `stac-<requestId>/items/<tileName>.json` (docs/outputs.md, "STAC").

Built with pystac: WGS84 geometry and bbox, the projection extension (proj:code, proj:bbox, proj:shape,
proj:transform of the tile's pixel grid), raster:bands read from one file of each output, the request's
time range, one asset per output file with its media type, and links to the request. A PARTIAL
request's collection lists its failed tiles in `eobatch:failed_tiles`.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pystac
import shapely.geometry
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension

from eobatch.artifacts.manifest import output_root
from eobatch.storage import ObjectStorage

COG = "image/tiff; application=geotiff; profile=cloud-optimized"
GEOTIFF = "image/tiff; application=geotiff"
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".json": "application/json"}
SIDECARS = (".pgw", ".jgw", ".aux.xml", ".wld")


@dataclass(frozen=True)
class StacTile:
    """The facts of one tile the STAC is made of (a stored tile row, detached)."""

    tile_id: int
    name: str
    status: str
    epsg: int
    geometry: dict[str, Any]  # footprint in WGS84, GeoJSON
    transform: tuple[float, ...]  # affine a, b, c, d, e, f of the tile's pixel grid
    width: int
    height: int
    outputs: Sequence[str]
    error: str | None = None


@dataclass(frozen=True)
class BandFacts:
    """What the files of one output hold: per-band data type and nodata."""

    dtypes: Sequence[str]
    nodata: float | None


TimeSpan = tuple[datetime | None, datetime | None]  # the widest (from, to) over the request's inputs


def stac_root(template: str, request_id: str) -> str:
    """Where the request's STAC goes: `stac-<requestId>/` in the output root."""
    return f"{output_root(template)}stac-{request_id}/"


def media_type(url: str, cog: bool) -> str:
    """The asset media type of an output file (TIFFs flagged cloud-optimized when written as COG)."""
    ext = posixpath.splitext(url)[1].lower()
    if ext in (".tif", ".tiff"):
        return COG if cog else GEOTIFF
    return MEDIA_TYPES.get(ext, "application/octet-stream")


def asset_key(url: str) -> str:
    """The asset's key: the file name without its extension (the output identifier in the default layout)."""
    name = posixpath.basename(url)
    for suffix in SIDECARS:
        if name.endswith(suffix):
            return name.replace(".", "_")
    return posixpath.splitext(name)[0]


def build_collection(
    request_id: str,
    status: str,
    time_span: TimeSpan,
    tiles: Sequence[StacTile],
    bands: Mapping[str, BandFacts],
    *,
    cog: bool,
    request_href: str,
) -> pystac.Collection:
    """The request's Collection with one Item per processed tile that wrote files (no I/O)."""
    start, end = time_span
    items = [_item(t, bands, start, end, cog, request_href) for t in tiles if t.status == "PROCESSED" and t.outputs]
    failed = [{"id": t.tile_id, "name": t.name, "error": t.error} for t in tiles if t.status == "FAILED"]
    if items:
        spatial = pystac.SpatialExtent([_union_bbox([i.bbox for i in items])])
    else:
        spatial = pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]])
    collection = pystac.Collection(
        id=f"eobatch-{request_id}",
        description=f"Outputs of batch request {request_id} ({status}): one item per processed tile.",
        extent=pystac.Extent(spatial, pystac.TemporalExtent([[start, end]])),
        license="other",
        catalog_type=pystac.CatalogType.SELF_CONTAINED,
        extra_fields={
            "eobatch:request_id": request_id,
            "eobatch:status": status,
            "eobatch:failed_tiles": failed,
        },
    )
    collection.add_link(pystac.Link("via", request_href, "application/json", "The batch request"))
    for item in items:
        collection.add_item(item)
    return collection


def _item(
    tile: StacTile,
    bands: Mapping[str, BandFacts],
    start: datetime | None,
    end: datetime | None,
    cog: bool,
    request_href: str,
) -> pystac.Item:
    geometry = shapely.geometry.shape(tile.geometry)
    a, b, c, d, e, f = tile.transform
    xs, ys = (c, c + a * tile.width), (f, f + e * tile.height)
    both = start is not None and end is not None
    item = pystac.Item(
        id=tile.name,
        geometry=tile.geometry,
        bbox=list(geometry.bounds),
        datetime=None if both else (start or end or datetime.now(UTC)),
        start_datetime=start if both else None,
        end_datetime=end if both else None,
        properties={"eobatch:tile_id": tile.tile_id},
    )
    projection = ProjectionExtension.ext(item, add_if_missing=True)
    projection.apply(
        code=f"EPSG:{tile.epsg}",
        bbox=[min(xs), min(ys), max(xs), max(ys)],
        shape=[tile.height, tile.width],
        transform=[a, b, c, d, e, f],
    )
    RasterExtension.add_to(item)
    for url in tile.outputs:
        key = asset_key(url)
        is_sidecar = url.endswith(SIDECARS)
        asset = pystac.Asset(
            href=url,
            media_type="application/xml" if url.endswith(".aux.xml") else media_type(url, cog),
            roles=["metadata"] if is_sidecar else ["data"],
        )
        item.add_asset(key, asset)
        facts = bands.get(key)
        if facts is not None and not is_sidecar:
            RasterExtension.ext(asset).apply(
                [RasterBand.create(data_type=DataType(dtype), nodata=facts.nodata) for dtype in facts.dtypes]
            )
    item.add_link(pystac.Link("via", request_href, "application/json", "The batch request"))
    return item


def _union_bbox(boxes: Sequence[Sequence[float]]) -> list[float]:
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def band_facts(storage: ObjectStorage, url: str) -> BandFacts | None:
    """Data types and nodata of one output file (None for files GDAL cannot read, e.g. JSON)."""
    import rasterio
    from rasterio.io import MemoryFile

    if posixpath.splitext(url)[1].lower() not in (".tif", ".tiff", ".png", ".jpg", ".jpeg"):
        return None
    local = storage.local_path(url)
    if local is not None:
        with rasterio.open(local) as src:
            return BandFacts(tuple(src.dtypes), src.nodata)
    with MemoryFile(storage.get(url)) as memory, memory.open() as src:
        return BandFacts(tuple(src.dtypes), src.nodata)


def write_request_stac(
    storage: ObjectStorage,
    template: str,
    request_id: str,
    status: str,
    time_span: TimeSpan,
    tiles: Sequence[StacTile],
    *,
    cog: bool,
    request_href: str,
) -> str:
    """Write the request's STAC beside its outputs; returns the collection's URL (storage errors propagate).

    Hrefs between collection and items are relative, asset hrefs the outputs' own s3:// URLs.
    """
    bands: dict[str, BandFacts] = {}
    for tile in tiles:
        for url in tile.outputs if tile.status == "PROCESSED" else ():
            key = asset_key(url)
            if key not in bands and not url.endswith(SIDECARS):
                facts = band_facts(storage, url)
                if facts is not None:
                    bands[key] = facts
    collection = build_collection(request_id, status, time_span, tiles, bands, cog=cog, request_href=request_href)
    root = stac_root(template, request_id)
    collection.normalize_hrefs(root, strategy=_Layout())
    for item in collection.get_items():
        storage.put(item.get_self_href(), _json(item))
    url = f"{root}collection.json"
    storage.put(url, _json(collection))
    return url


def _json(stac: pystac.Collection | pystac.Item) -> bytes:
    """Self-contained: no self link, links between collection and items relative."""
    return json.dumps(stac.to_dict(include_self_link=False, transform_hrefs=True), indent=1).encode()


class _Layout(pystac.layout.HrefLayoutStrategy):
    """collection.json at the root, items as items/<tileName>.json."""

    def get_catalog_href(self, cat: pystac.Catalog, parent_dir: str, is_root: bool) -> str:
        return posixpath.join(parent_dir, "collection.json")

    def get_collection_href(self, col: pystac.Collection, parent_dir: str, is_root: bool) -> str:
        return posixpath.join(parent_dir, "collection.json")

    def get_item_href(self, item: pystac.Item, parent_dir: str) -> str:
        return posixpath.join(parent_dir, "items", f"{item.id}.json")
