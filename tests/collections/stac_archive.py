"""A small self-contained static STAC catalog (Catalog -> Collection -> Items, relative hrefs) of
synthetic COGs, written with pystac for access tests, and helpers to publish it elsewhere."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pystac
import rasterio.shutil  # noqa: F401 - write_cog uses it
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping, shape

from tests.processing.archive import SceneFile, make_scene
from tests.processing.rasters import write_cog

COLLECTION_ID = "tiny-s2"


def tiny_scenes() -> list[SceneFile]:
    """Two 3 km x 3 km scenes (10 m bands B02 B03 B04 B08) over one spot of UTM 33N."""
    return [
        make_scene("T_a", "2020-06-10T10:00:00Z", 5.0, 32633, 460_000, 5_090_000, 300, 300, seed=7),
        make_scene("T_b", "2020-06-12T10:00:00Z", 15.0, 32633, 460_000, 5_090_000, 300, 300, seed=8),
    ]


def write_static_catalog(root: Path, scenes: list[SceneFile], properties: dict | None = None) -> Path:
    """COGs beside self-contained item JSONs; returns the root catalog.json."""
    catalog = pystac.Catalog("tiny", "tiny test archive")
    collection = pystac.Collection(
        COLLECTION_ID,
        "tiny",
        pystac.Extent(pystac.SpatialExtent([[-180, -90, 180, 90]]), pystac.TemporalExtent([[None, None]])),
    )
    catalog.add_child(collection)
    for scene in scenes:
        folder = root / COLLECTION_ID / scene.id
        geometry = transform_geom(f"EPSG:{scene.epsg}", "EPSG:4326", mapping(box(*scene.bounds("B04"))))
        item = pystac.Item(
            scene.id,
            geometry,
            list(shape(geometry).bounds),
            dt.datetime.fromisoformat(scene.datetime.replace("Z", "+00:00")),
            {"eo:cloud_cover": scene.cloud_cover, "proj:code": f"EPSG:{scene.epsg}", **(properties or {})},
        )
        for band, data in scene.bands.items():
            write_cog(folder / f"{band}.tif", data, scene.band_transform(band), epsg=scene.epsg)
            item.add_asset(band, pystac.Asset(f"./{band}.tif", media_type=pystac.MediaType.COG))
        collection.add_item(item)
    catalog.normalize_hrefs(str(root))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


def upload_folder(client, bucket: str, root: Path, prefix: str) -> None:
    """Every file under `root` to s3://bucket/prefix/... with a boto3 client."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root)}")


def items_at(collection_json: Path, prefix: str) -> tuple[dict, list[dict]]:
    """The collection (without links) and its items as dicts, asset hrefs moved from the folder of
    `collection_json` to `prefix` (for example s3://bucket/folder), for loading into a STAC API."""
    collection = pystac.Collection.from_file(str(collection_json))
    items = []
    for item in collection.get_items():
        item.make_asset_hrefs_absolute()
        document = item.to_dict(include_self_link=False)
        for asset in document["assets"].values():
            asset["href"] = f"{prefix}/{Path(asset['href']).relative_to(collection_json.parent)}"
        items.append(document)
    return collection.to_dict(include_self_link=False, transform_hrefs=False) | {"links": []}, items
