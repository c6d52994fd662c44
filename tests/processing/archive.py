"""A synthetic Sentinel-2-like archive for pipeline tests: COGs, a STAC FeatureCollection and a
collections file that registers it, all in a temp folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from affine import Affine
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping

from tests.processing.rasters import gradient, write_cog

COLLECTION = "synthetic-s2"


@dataclass
class SceneFile:
    """One synthetic scene: its id, time, cloud cover, grid and the DN arrays per band."""

    id: str
    datetime: str
    cloud_cover: float
    epsg: int
    transform: Affine
    bands: dict[str, np.ndarray] = field(default_factory=dict)

    def bounds(self, band: str) -> tuple[float, float, float, float]:
        h, w = self.bands[band].shape
        scale = self.resolution(band) / abs(self.transform.a)
        t = self.transform
        return t.c, t.f + t.e * h * scale, t.c + t.a * w * scale, t.f

    def resolution(self, band: str) -> float:
        h, _ = self.bands[band].shape
        first = next(iter(self.bands.values()))
        return abs(self.transform.a) * first.shape[0] / h

    def band_transform(self, band: str) -> Affine:
        r = self.resolution(band)
        return Affine(r, 0, self.transform.c, 0, -r, self.transform.f)


def make_scene(scene_id, when, cloud, epsg, x0, y0, width, height, seed, coarse=()) -> SceneFile:
    """10 m bands B02 B03 B04 B08 (and 20 m bands named in `coarse`) starting at (x0, y0) upper-left."""
    scene = SceneFile(scene_id, when, cloud, epsg, Affine(10, 0, x0, 0, -10, y0))
    for k, band in enumerate(("B02", "B03", "B04", "B08")):
        scene.bands[band] = gradient(height, width, seed=seed * 10 + k, low=100 + 300 * k, high=9000)
    for k, band in enumerate(coarse):
        scene.bands[band] = gradient(height // 2, width // 2, seed=seed * 10 + 5 + k, low=50, high=8000)
    return scene


def write_archive(
    root: Path, scenes: list[SceneFile], href_prefix: str | None = None, access: dict | None = None
) -> Path:
    """Write the COGs and a FeatureCollection; returns the collections YAML path. `href_prefix`
    replaces the local folder in asset hrefs (for example s3://bucket/archive after uploading);
    `access` is the collection's access configuration."""
    features = []
    for scene in scenes:
        folder = root / scene.id
        assets = {}
        for band, data in scene.bands.items():
            path = write_cog(folder / f"{band}.tif", data, scene.band_transform(band), epsg=scene.epsg)
            href = str(path) if href_prefix is None else f"{href_prefix}/{scene.id}/{band}.tif"
            assets[band] = {"href": href, "type": "image/tiff; application=geotiff; profile=cloud-optimized"}
        outline = mapping(box(*scene.bounds("B04")))
        geometry = transform_geom(f"EPSG:{scene.epsg}", "EPSG:4326", outline)
        features.append(
            {
                "type": "Feature",
                "stac_version": "1.1.0",
                "id": scene.id,
                "geometry": geometry,
                "bbox": list(_bbox(geometry)),
                "collection": COLLECTION,
                "properties": {
                    "datetime": scene.datetime,
                    "eo:cloud_cover": scene.cloud_cover,
                    "proj:epsg": scene.epsg,
                },
                "assets": assets,
                "links": [],
            }
        )
    items = root / "items.json"
    items.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    entry = {"preset": "sentinel-2-l1c", "source": {"kind": "static", "href": str(items)}}
    if access:
        entry["access"] = access
    config = root / "collections.yaml"
    config.write_text(yaml.safe_dump({"collections": {COLLECTION: entry}}))
    return config


def _bbox(geometry: dict) -> tuple[float, float, float, float]:
    coords = np.array(geometry["coordinates"][0])
    return coords[:, 0].min(), coords[:, 1].min(), coords[:, 0].max(), coords[:, 1].max()
