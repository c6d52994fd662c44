"""Where the georeferencing of a PNG or JPEG output lives: a world file and a GDAL `.aux.xml` beside it.

PNG and JPEG cannot hold a CRS or a geotransform, so GDAL (and QGIS, which reads rasters through GDAL)
looks for them in files next to the image: the world file (`<stem>.pgw` for `.png`, `<stem>.jgw` for
`.jpg`/`.jpeg`; `<name>.wld` for any other name) holds the pixel size and the centre of the upper-left
pixel, and `<name>.aux.xml` (GDAL's persistent auxiliary metadata) holds the CRS.
"""

from __future__ import annotations

WORLD_FILE = "world file"
AUX_XML = "aux.xml"


def world_file_url(url: str) -> str:
    """The world file GDAL reads first for `url`: the first and last letter of the extension plus `w`."""
    folder, slash, name = url.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if dot and stem and len(ext) >= 2:
        return f"{folder}{slash}{stem}.{ext[0]}{ext[-1]}w"
    return f"{url}.wld"


def aux_xml_url(url: str) -> str:
    """GDAL's auxiliary metadata file for `url`."""
    return f"{url}.aux.xml"


def sidecar_url(url: str, kind: str) -> str:
    """The URL of the `kind` (WORLD_FILE or AUX_XML) sidecar of `url`."""
    return world_file_url(url) if kind == WORLD_FILE else aux_xml_url(url)
