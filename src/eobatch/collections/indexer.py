"""Bring your own COGs: build a static STAC collection (pystac, projection extension) from a folder or
an s3:// prefix of COGs, for a collection entry to point at (`eobatch collections index`).

Layout: the COGs of one folder form one item (id = folder name, asset key = file name without its
extension, e.g. `T33TVL_20240501/B04.tif`); a COG directly under the root is an item of its own with
asset key `data`. The acquisition time comes from a date in the folder or file name (`2024-05-01`,
`20240501`, `20240501T101021`), else the TIFF's DATETIME tag, else `default_datetime`.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pystac
import rasterio
from pystac.extensions.projection import ProjectionExtension
from pystac.layout import HrefLayoutStrategy
from rasterio.errors import RasterioError
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping, shape

from eobatch.errors import BadRequest
from eobatch.storage.access import StoreAccess, href_scheme

COG_SUFFIXES = (".tif", ".tiff")
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2}))?")


@dataclass(frozen=True)
class IndexResult:
    """Where the collection was written and what it holds."""

    collection_href: str
    items: int
    assets: int


def list_cogs(root: str, access: StoreAccess) -> list[str]:
    """Every COG href under a local folder or an s3:// prefix, sorted."""
    if href_scheme(root) == "s3":
        import obstore

        parts = urlsplit(root)
        prefix = parts.path.strip("/")
        store = access.object_store(parts.netloc)
        keys = [meta["path"] for batch in obstore.list(store, prefix=prefix or None) for meta in batch]
        return sorted(f"s3://{parts.netloc}/{k}" for k in keys if k.lower().endswith(COG_SUFFIXES))
    if href_scheme(root):
        raise BadRequest(f"Cannot list {root}: index a local folder or an s3:// prefix")
    folder = Path(root)
    if not folder.is_dir():
        raise BadRequest(f"{root} is not a folder")
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in COG_SUFFIXES)


def _acquired(names: Iterable[str], tags: dict, default: dt.datetime | None, item_id: str) -> dt.datetime:
    for name in names:
        match = _DATE.search(name)
        if match:
            y, m, d, hh, mm, ss = (int(g) if g else 0 for g in match.groups())
            try:
                return dt.datetime(y, m, d, hh, mm, ss, tzinfo=dt.UTC)
            except ValueError:
                continue
    stamp = tags.get("TIFFTAG_DATETIME")
    if stamp:
        try:
            return dt.datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S").replace(tzinfo=dt.UTC)
        except ValueError:
            pass
    if default is not None:
        return default
    raise BadRequest(f"No acquisition time for item {item_id}: put a date in its name or give --datetime")


def _relative_parts(root: str, href: str) -> list[str]:
    base = urlsplit(root).path if href_scheme(root) else root
    path = urlsplit(href).path if href_scheme(href) else href
    return posixpath.relpath(path, base.rstrip("/") or "/").split("/")


def build_collection(
    root: str,
    collection_id: str,
    access: StoreAccess | None = None,
    default_datetime: dt.datetime | None = None,
    description: str = "",
) -> pystac.Collection:
    """The collection of every COG under `root` (hrefs absolute; the caller decides where it goes)."""
    access = access or StoreAccess()
    hrefs = list_cogs(root, access)
    if not hrefs:
        raise BadRequest(f"No COG (.tif, .tiff) under {root}")
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for href in hrefs:
        parts = _relative_parts(root, href)
        stem = Path(parts[-1]).stem
        if len(parts) == 1:
            groups[stem].append(("data", href))
        else:
            groups["/".join(parts[:-1]).replace("/", "_")].append((stem, href))
    items = []
    with access.rasterio_env(root):
        for item_id, assets in sorted(groups.items()):
            items.append(_item(item_id, assets, access, default_datetime))
    bounds = [shape(i.geometry).bounds for i in items]
    extent = [
        min(b[0] for b in bounds),
        min(b[1] for b in bounds),
        max(b[2] for b in bounds),
        max(b[3] for b in bounds),
    ]
    times = sorted(i.datetime for i in items if i.datetime)
    collection = pystac.Collection(
        collection_id,
        description or f"COGs indexed from {root}",
        pystac.Extent(
            pystac.SpatialExtent([extent]),
            pystac.TemporalExtent([[times[0], times[-1]]]),
        ),
    )
    for item in items:
        collection.add_item(item)
    return collection


def _item(item_id: str, assets: list[tuple[str, str]], access: StoreAccess, default: dt.datetime | None) -> pystac.Item:
    first_tags: dict = {}
    read = []
    for key, href in assets:
        try:
            with rasterio.open(access.gdal_path(href)) as src:
                read.append((key, href, src.crs, src.shape, src.transform, src.bounds, src.dtypes[0], src.nodata))
                if not first_tags:
                    first_tags = src.tags()
        except RasterioError as exc:
            raise BadRequest(f"Cannot read {href} as a raster: {exc}") from exc
    for _key, href, crs, *_rest in read:
        if crs is None:
            raise BadRequest(f"{href} has no CRS; only georeferenced COGs can be indexed")
    _, _, crs0, _, _, bounds0, _, _ = read[0]
    edge = box(*bounds0)
    outline = transform_geom(crs0, "EPSG:4326", mapping(edge.segmentize(max(edge.length / 80, 1e-9))))
    footprint = shape(outline)
    epsg = crs0.to_epsg()
    names = [item_id, *(Path(href).name for _, href in assets)]
    item = pystac.Item(
        item_id,
        json.loads(json.dumps(mapping(footprint))),
        list(footprint.bounds),
        _acquired(names, first_tags, default, item_id),
        {},
    )
    projection = ProjectionExtension.ext(item, add_if_missing=True)
    projection.epsg = epsg
    for key, href, crs, shape_, transform, _bounds, dtype, nodata in read:
        asset = pystac.Asset(href, media_type=pystac.MediaType.COG, roles=["data"])
        asset_projection = ProjectionExtension.ext(asset)
        asset_projection.epsg = crs.to_epsg()
        asset_projection.shape = list(shape_)
        asset_projection.transform = list(transform)[:6]
        asset.extra_fields["raster:bands"] = [
            {"data_type": dtype, **({"nodata": nodata} if nodata is not None else {})}
        ]
        item.add_asset(key, asset)
    return item


def write_collection(collection: pystac.Collection, destination: str, access: StoreAccess | None = None) -> str:
    """Save `collection` as `destination/collection.json` with an item JSON per item folder
    (relative links; asset hrefs relative when they sit under `destination`). Returns its href."""
    access = access or StoreAccess()
    base = destination.rstrip("/")
    collection.normalize_hrefs(base, strategy=_BesideAssets(base))
    collection.make_all_asset_hrefs_relative()
    collection.catalog_type = pystac.CatalogType.SELF_CONTAINED
    if href_scheme(base) == "s3":
        import obstore

        parts = urlsplit(base)
        store = access.object_store(parts.netloc)
        for obj in [collection, *collection.get_items()]:
            href = obj.get_self_href()
            key = urlsplit(href).path.lstrip("/")
            document = obj.to_dict(include_self_link=False, transform_hrefs=True)
            obstore.put(store, key, json.dumps(document, indent=1).encode())
        return f"{base}/collection.json"
    collection.save(pystac.CatalogType.SELF_CONTAINED)
    return str(Path(base) / "collection.json")


class _BesideAssets(HrefLayoutStrategy):
    """collection.json at the root; each item's JSON beside its first asset (or under items/)."""

    def __init__(self, base: str):
        self.base = base

    def get_catalog_href(self, cat, parent_dir, is_root):
        return f"{parent_dir.rstrip('/')}/catalog.json"

    def get_collection_href(self, col, parent_dir, is_root):
        return f"{self.base}/collection.json"

    def get_item_href(self, item, parent_dir):
        first = next(iter(item.assets.values())).href
        folder = posixpath.dirname(first)
        under_base = first.startswith(self.base.rstrip("/") + "/")
        if under_base and next(iter(item.assets)) != "data":
            return f"{folder}/{item.id}.json"
        return f"{self.base}/items/{item.id}.json"
