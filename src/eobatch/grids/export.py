"""Export of grid tiles as GeoJSON, GeoPackage or zipped Shapefile, written by GDAL/OGR through pyogrio."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

from eobatch.errors import BadRequest, Violation
from eobatch.grids.model import GridTile
from eobatch.grids.tiles import footprints_wgs84

FORMATS = {
    "geojson": ("GeoJSON", "tiles.geojson"),
    "gpkg": ("GPKG", "tiles.gpkg"),
    "shp": ("ESRI Shapefile", "tiles.shp"),
}


def export_tiles(tiles: Sequence[GridTile], fmt: str, layer: str = "tiles") -> bytes:
    """The tiles (fields id, name, epsg; lon/lat footprint) as a GeoJSON, GeoPackage or zipped Shapefile."""
    if fmt not in FORMATS:
        message = f"Unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}."
        raise BadRequest(message, [Violation("format", message)])
    driver, filename = FORMATS[fmt]
    geometries = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in footprints_wgs84(tiles)]
    fields = {
        "id": np.array([t.id for t in tiles], dtype=np.int64),
        "name": np.array([t.name for t in tiles], dtype=object),
        "epsg": np.array([t.epsg for t in tiles], dtype=np.int32),
    }
    with tempfile.TemporaryDirectory(prefix="eobatch-grid-export-") as tmp:
        path = Path(tmp) / filename
        pyogrio.raw.write(
            str(path),
            shapely.to_wkb(np.array(geometries, dtype=object)),
            list(fields.values()),
            list(fields),
            driver=driver,
            layer=None if fmt == "geojson" else layer,
            geometry_type="MultiPolygon",
            crs="EPSG:4326",
            encoding="UTF-8" if fmt == "shp" else None,
        )
        if fmt != "shp":
            return path.read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in sorted(Path(tmp).iterdir()):
                archive.write(member, arcname=f"{layer}{member.suffix}")
        return buffer.getvalue()


CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def bounds_from_geojson(data: dict) -> dict:
    """A request `bounds` object from a bounds object, a GeoJSON geometry, a Feature or a FeatureCollection.

    Plain GeoJSON is in CRS84 (lon/lat); a FeatureCollection contributes the union of its features.
    """
    if not isinstance(data, dict):
        raise BadRequest("The area must be a JSON object", [Violation("body", "not a JSON object")])
    kind = data.get("type")
    if kind == "Feature":
        data = data.get("geometry") or {}
        kind = data.get("type")
    elif kind == "FeatureCollection":
        geometries = [shapely.geometry.shape(f["geometry"]) for f in data.get("features", []) if f.get("geometry")]
        if not geometries:
            raise BadRequest("The FeatureCollection has no geometry", [Violation("features", "empty")])
        data = shapely.geometry.mapping(shapely.union_all(geometries))
        kind = data.get("type")
    if kind and "coordinates" in data:
        return {"geometry": data, "properties": {"crs": CRS84}}
    return data
