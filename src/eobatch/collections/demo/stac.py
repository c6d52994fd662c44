"""STAC JSON for the demo archive: one Item per zone and date, a Collection per level, a root Catalog."""

from __future__ import annotations

import datetime as dt

from shapely.geometry import Polygon, mapping

from eobatch.collections.demo.area import DEMO_BBOX, DEMO_TIME_RANGE, ZoneGrid
from eobatch.collections.presets import preset_bands

EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
]
LEVEL_TITLES = {
    "sentinel-2-l2a": "SYNTHETIC Sentinel-2 L2A demo (surface reflectance)",
    "sentinel-2-l1c": "SYNTHETIC Sentinel-2 L1C demo (top-of-atmosphere reflectance)",
    "sentinel-1-grd": "SYNTHETIC Sentinel-1 GRD demo (IW, VV+VH, linear beta0)",
    "landsat-ot-l1": "SYNTHETIC Landsat 8-9 OLI-TIRS Level 1 demo (top-of-atmosphere)",
    "landsat-ot-l2": "SYNTHETIC Landsat 8-9 OLI-TIRS Level 2 demo (surface reflectance and temperature)",
    "dem": "SYNTHETIC Copernicus DEM demo (heights in metres)",
}
LEVEL_DESCRIPTIONS = {
    "sentinel-1-grd": "Backscatter from the same landscape as the Sentinel-2 demo, one descending orbit every 12 days.",
    "landsat-ot-l1": "One zone-33 scene every 8 days (Landsat 8 and 9 alternating), Collection 2 encoding.",
    "landsat-ot-l2": "One zone-33 scene every 8 days (Landsat 8 and 9 alternating), Collection 2 encoding.",
    "dem": "One static 1 arc-second tile: a gentle plain with a river channel, levees and reclaimed land.",
}


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def band_asset(level: str, band: str, dtype: str, nodata: float | None, resolution: float) -> dict:
    """The asset of one band of a demo item, with its raster:bands scale/offset from the preset."""
    spec = preset_bands(level)[band]
    raster = {"data_type": dtype, "scale": spec.scale, "offset": spec.offset, "spatial_resolution": resolution}
    if nodata is not None:
        raster["nodata"] = "nan" if nodata != nodata else nodata
    return {
        "href": f"./{band}.tif",
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "title": f"{band} (synthetic, {spec.unit})",
        "eo:bands": [{"name": band}],
        "raster:bands": [raster],
        "roles": ["data"],
    }


def feature(
    level: str,
    item_id: str,
    when: dt.datetime | None,
    footprint: Polygon,
    epsg: int,
    properties: dict,
    assets: dict,
) -> dict:
    """A demo STAC Item of any level; `when` None makes a static item (start/end datetime)."""
    times = (
        {"datetime": _iso(when)}
        if when is not None
        else {"datetime": None, "start_datetime": "2010-12-01T00:00:00Z", "end_datetime": "2015-01-31T23:59:59Z"}
    )
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": EXTENSIONS,
        "id": item_id,
        "geometry": mapping(footprint),
        "bbox": list(footprint.bounds),
        "properties": {**times, **properties, "proj:epsg": epsg, "eobatch:synthetic": True},
        "links": [
            {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
            {"rel": "collection", "href": "../collection.json", "type": "application/json"},
            {"rel": "parent", "href": "../collection.json", "type": "application/json"},
        ],
        "assets": assets,
        "collection": level,
    }


def item_id(level: str, grid: ZoneGrid, when: dt.datetime) -> str:
    return f"DEMO_{level.split('-')[-1].upper()}_T{grid.zone}_{when:%Y%m%dT%H%M%S}"


def item(
    level: str,
    grid: ZoneGrid,
    when: dt.datetime,
    index: int,
    cloud_cover: float,
    assets: dict,
    footprint: Polygon,
) -> dict:
    rows, cols = grid.shape(10.0)
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": EXTENSIONS,
        "id": item_id(level, grid, when),
        "geometry": mapping(footprint),
        "bbox": list(footprint.bounds),
        "properties": {
            "datetime": _iso(when),
            "constellation": "sentinel-2",
            "platform": "sentinel-2a" if index % 2 == 0 else "sentinel-2b",
            "instruments": ["msi"],
            "gsd": 10,
            "eo:cloud_cover": cloud_cover,
            "proj:epsg": grid.epsg,
            "proj:shape": [rows, cols],
            "proj:transform": list(grid.transform(10.0))[:6],
            "proj:bbox": [grid.left, grid.bottom, grid.right, grid.top],
            "eobatch:synthetic": True,
        },
        "links": [
            {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
            {"rel": "collection", "href": "../collection.json", "type": "application/json"},
            {"rel": "parent", "href": "../collection.json", "type": "application/json"},
        ],
        "assets": assets,
        "collection": level,
    }


def collection(level: str, item_ids: list[str]) -> dict:
    return {
        "type": "Collection",
        "id": level,
        "stac_version": "1.1.0",
        "stac_extensions": EXTENSIONS,
        "title": LEVEL_TITLES[level],
        "description": (
            "SYNTHETIC data generated by eobatch for demos and tests, not real satellite data. "
            "Water, forest, crops greening up over the season, urban and bare soil, with drifting "
            "clouds; around 12°E 45.1°N, April to June 2024. "
        )
        + LEVEL_DESCRIPTIONS.get(level, "Scenes per UTM zone 32 and 33."),
        "license": "CC0-1.0",
        "extent": {
            "spatial": {"bbox": [list(DEMO_BBOX)]},
            "temporal": {"interval": [[_iso(DEMO_TIME_RANGE[0]), _iso(DEMO_TIME_RANGE[1])]]},
        },
        "links": [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
            *({"rel": "item", "href": f"./{i}/{i}.json", "type": "application/geo+json"} for i in item_ids),
        ],
    }


def catalog(levels: list[str]) -> dict:
    return {
        "type": "Catalog",
        "id": "eobatch-demo",
        "stac_version": "1.1.0",
        "description": "eobatch built-in SYNTHETIC demo archive (generated, deterministic)",
        "links": [
            {"rel": "root", "href": "./catalog.json", "type": "application/json"},
            *({"rel": "child", "href": f"./{lv}/collection.json", "type": "application/json"} for lv in levels),
        ],
    }
