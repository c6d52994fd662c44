"""Output previews: web-mercator PNG map tiles rendered with rio-tiler from a tile's written GeoTIFF/COG.

An output is read once through object storage (local folder or S3) and kept in a small in-memory cache
with the value range used to stretch it: UINT8 outputs are shown as they are, other types are stretched
from their 2nd to 98th percentile. One band is grey; three or more show the first three as RGB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from rasterio.io import MemoryFile
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from eobatch.errors import BadRequest, NotFound

CACHE_SIZE = 16
TILE_SIZE = 256
MAX_ZOOM = 22


@dataclass
class _Output:
    memory: MemoryFile
    in_range: tuple[float, float] | None
    indexes: tuple[int, ...]


_cache: OrderedDict[str, _Output] = OrderedDict()
_lock = threading.Lock()


def _load(url: str, data: bytes) -> _Output:
    memory = MemoryFile(data)
    with memory.open() as dataset:
        indexes = (1, 2, 3) if dataset.count >= 3 else (1,)
        in_range = None
        if dataset.dtypes[0] != "uint8":
            values = dataset.read(list(indexes), masked=True, out_shape=(len(indexes), 256, 256))
            finite = values.compressed()
            finite = finite[np.isfinite(finite)]
            if finite.size:
                low, high = np.percentile(finite, [2, 98])
                in_range = (float(low), float(high) if high > low else float(low) + 1.0)
    return _Output(memory, in_range, indexes)


def cached_output(url: str, fetch) -> _Output:
    """The parsed output at `url`, fetching its bytes with `fetch(url)` when not cached."""
    with _lock:
        if url in _cache:
            _cache.move_to_end(url)
            return _cache[url]
    output = _load(url, fetch(url))
    with _lock:
        _cache[url] = output
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)[1].memory.close()
    return output


def render_tile(output: _Output, z: int, x: int, y: int) -> bytes:
    """A 256 px PNG of map tile z/x/y; NotFound outside the output, BadRequest for impossible numbers."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise BadRequest(f"map tile {z}/{x}/{y} does not exist")
    with output.memory.open() as dataset, Reader(None, dataset=dataset) as reader:
        try:
            image = reader.tile(x, y, z, tilesize=TILE_SIZE, indexes=output.indexes)
        except TileOutsideBounds:
            raise NotFound(f"map tile {z}/{x}/{y} is outside the output") from None
        if output.in_range is not None:
            image = image.rescale(in_range=[output.in_range] * len(output.indexes))
        return image.render(img_format="PNG")
