"""Writing small feature GeoPackages for the tests, with real GDAL (pyogrio)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely


def write_gpkg(
    path: Path,
    rows: list[dict[str, Any]],
    *,
    epsg: int = 32633,
    layer: str = "features",
    columns: tuple[str, ...] = ("id", "identifier", "width", "height"),
    append: bool = False,
) -> Path:
    """A GeoPackage table of `rows` (each with "geometry" and the `columns`)."""
    dtypes = {"id": np.int64, "identifier": object, "width": np.int32, "height": np.int32, "resolution": np.float64}
    field_data = [np.array([r[c] for r in rows], dtype=dtypes.get(c, object)) for c in columns]
    wkb = np.array(shapely.to_wkb([r["geometry"] for r in rows]), dtype=object)
    pyogrio.raw.write(
        str(path),
        wkb,
        field_data,
        list(columns),
        layer=layer,
        driver="GPKG",
        geometry_type="Polygon",
        crs=f"EPSG:{epsg}",
        append=append,
    )
    return path


def square(x: float, y: float, size: float) -> Any:
    return shapely.box(x, y, x + size, y + size)
