"""`ensure_demo_archive(settings)`: generate the synthetic archive once, safely and quickly.

Generation writes into a fresh temporary folder beside the target and renames it into place, so a
reader never sees half an archive. A lock file makes a second process wait instead of generating too;
if the lock is unavailable the rename still keeps the result whole.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.io import MemoryFile

from eobatch.collections.demo import stac
from eobatch.collections.demo.area import CLOUD_TARGETS, acquisitions, zone_grids
from eobatch.collections.demo.clouds import CloudDeck
from eobatch.collections.demo.landscape import build_landscape
from eobatch.collections.demo.render import L1C_BANDS, L2A_BANDS, RESOLUTION, render
from eobatch.settings import Settings

ARCHIVE_NAME = "demo-s2-v1"  # bump when the generator changes its output
SEED = 20240401
LEVELS = {"sentinel-2-l2a": L2A_BANDS, "sentinel-2-l1c": L1C_BANDS}


BLOCK = 512


def overview_factors(width: int, height: int) -> list[int]:
    """2, 4, ... until the smallest overview fits in one block (what GDAL's COG driver does)."""
    factors, factor = [], 2
    while max(width, height) / (factor // 2) > BLOCK:
        factors.append(factor)
        factor *= 2
    return factors


def _write_cog(path: Path, array: np.ndarray, grid, band: str) -> None:
    """A DEFLATE COG with overviews. Overviews are built on an uncompressed in-memory copy and then
    copied, which costs about half of letting the COG driver build them from its own temp file."""
    classified = band in ("SCL", "CLM")
    rows, cols = array.shape
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": array.dtype.name,
        "crs": f"EPSG:{grid.epsg}",
        "transform": grid.transform(float(RESOLUTION[band])),
        "nodata": 255 if band == "CLM" else 0,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
    }
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(array, 1)
            factors = overview_factors(cols, rows)
            if factors:
                dataset.build_overviews(factors, Resampling.nearest if classified else Resampling.average)
        with memory.open() as source:
            rasterio.shutil.copy(
                source, path, driver="COG", compress="DEFLATE", predictor=2, level=1, blocksize=BLOCK, num_threads=1
            )


def generate(target: Path, levels: tuple[str, ...] = tuple(LEVELS), seed: int = SEED) -> None:
    """Write the COGs and STAC Items/Collection of `levels` into `target/<level>/`."""
    deck = CloudDeck(seed)
    whens = acquisitions()
    thresholds = [deck.threshold(w.date(), c) for w, c in zip(whens, CLOUD_TARGETS, strict=True)]
    item_ids: dict[str, list[str]] = {level: [] for level in levels}
    with ThreadPoolExecutor(2) as pool:
        pending: list[Future] = []
        for grid in zone_grids():
            land = build_landscape(grid, seed)
            footprint = grid.footprint_wgs84()
            for index, (when, threshold) in enumerate(zip(whens, thresholds, strict=True)):
                alpha, shadow = deck.opacity(grid, when.date(), threshold)
                acq = render(land, when.date(), alpha, shadow, levels)
                for future in pending:  # keep at most one acquisition queued behind the writers
                    future.result()
                pending = []
                for level in levels:
                    bands = LEVELS[level]
                    arrays = acq.l2a if level == "sentinel-2-l2a" else acq.l1c
                    iid = stac.item_id(level, grid, when)
                    folder = target / level / iid
                    folder.mkdir(parents=True)
                    item = stac.item(level, grid, when, index, acq.cloud_cover, bands, footprint)
                    (folder / f"{iid}.json").write_text(json.dumps(item, indent=1))
                    item_ids[level].append(iid)
                    pending += [pool.submit(_write_cog, folder / f"{b}.tif", arrays[b], grid, b) for b in bands]
        for future in pending:
            future.result()
    for level, ids in item_ids.items():
        collection = stac.collection(level, sorted(ids))
        (target / level / "collection.json").write_text(json.dumps(collection, indent=1))


def _complete(root: Path, level: str) -> bool:
    return (root / level / "collection.json").exists()


def _write_catalog(root: Path) -> None:
    present = [level for level in LEVELS if _complete(root, level)]
    temporary = root / f".catalog-{os.getpid()}.json"
    temporary.write_text(json.dumps(stac.catalog(present), indent=1))
    os.replace(temporary, root / "catalog.json")


def ensure_demo_archive(settings: Settings, levels: tuple[str, ...] = tuple(LEVELS)) -> Path:
    """The demo archive folder (catalog.json plus one sub-folder per level with its collection.json),
    generated on first use into settings.archive_dir. Idempotent and fast when present, and safe when
    several processes call it at once. `levels` limits generation to the levels needed now."""
    unknown = [level for level in levels if level not in LEVELS]
    if unknown:
        raise ValueError(f"Unknown demo level(s) {unknown}; known: {list(LEVELS)}")
    root = Path(settings.archive_dir) / ARCHIVE_NAME
    if all(_complete(root, level) for level in levels) and (root / "catalog.json").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{ARCHIVE_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = tuple(level for level in levels if not _complete(root, level))
        if missing:
            work = Path(tempfile.mkdtemp(prefix=".generating-", dir=root))
            try:
                generate(work, missing)
                for level in missing:
                    os.rename(work / level, root / level)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        _write_catalog(root)
    return root
