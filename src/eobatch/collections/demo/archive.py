"""`ensure_demo_archive(settings)`: generate the synthetic archive once, safely and quickly.

One folder per level (collection type): Sentinel-2 L2A/L1C, Sentinel-1 GRD, Landsat 8-9 L1/L2 and the
DEM, each generated only when first needed. Generation writes into a fresh temporary folder beside
the target and renames it into place, so a reader never sees half an archive. A lock file makes a
second process wait instead of generating too; if the lock is unavailable the rename still keeps the
result whole.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import tempfile
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from affine import Affine
from shapely.geometry import box

from eobatch.collections.config import DEMO_LEVELS
from eobatch.collections.demo import dem, landsat, sentinel1, stac
from eobatch.collections.demo.area import CLOUD_TARGETS, acquisitions, zone_grids
from eobatch.collections.demo.clouds import CloudDeck
from eobatch.collections.demo.cog import write_cog
from eobatch.collections.demo.landscape import build_landscape
from eobatch.collections.demo.render import RESOLUTION, render
from eobatch.collections.demo.s2_extras import Atmosphere, angle_bands, auxiliary_bands
from eobatch.settings import Settings

ARCHIVE_NAME = "demo-v2"  # bump when the generator changes its output
SEED = 20240401
LEVELS = DEMO_LEVELS
S2_LEVELS = ("sentinel-2-l2a", "sentinel-2-l1c")
LANDSAT_LEVELS = ("landsat-ot-l1", "landsat-ot-l2")
S2_AUX = ("AOT", "WVP", "SNW", "CLD", "CLP")
S2_ANGLES = ("sunZenithAngles", "sunAzimuthAngles", "viewZenithMean", "viewAzimuthMean")
LANDSAT_CLOUD_TARGETS = (5.0, 60.0, 15.0, 0.0, 40.0, 85.0, 10.0, 30.0, 0.0, 70.0, 20.0)
CATEGORICAL = {"SCL", "CLM", "BQA", "QA_RADSAT", "SR_QA_AEROSOL"}
NODATA = {"SCL": 0, "CLM": 255, "BQA": 1}  # others: 0 for reflectance-like DN, none for the rest
NO_NODATA = {*S2_AUX, "QA_RADSAT", "SR_QA_AEROSOL", "localIncidenceAngle", "DEM"}


def _nodata(band: str, array: np.ndarray) -> float | None:
    if band in NODATA:
        return NODATA[band]
    if band in NO_NODATA:
        return None
    if array.dtype.kind == "f":
        return math.nan if band in S2_ANGLES else 0.0
    if array.dtype == np.int16:
        return None if len(band) == 3 and band.isupper() else -9999  # Landsat angles have no nodata
    return 0


class _Writer:
    """COG writes on two threads; at most one acquisition queued behind the writers."""

    def __init__(self, pool: ThreadPoolExecutor):
        self.pool = pool
        self.pending: list[Future] = []

    def drain(self) -> None:
        for future in self.pending:
            future.result()
        self.pending = []

    def item(self, folder: Path, level: str, arrays: dict, crs: str, transforms: dict[str, Affine]) -> dict:
        """Queue one COG per band; the item's assets."""
        folder.mkdir(parents=True)
        assets = {}
        for band, array in arrays.items():
            nodata = _nodata(band, array)
            transform = transforms[band]
            self.pending.append(
                self.pool.submit(write_cog, folder / f"{band}.tif", array, crs, transform, nodata, band in CATEGORICAL)
            )
            assets[band] = stac.band_asset(level, band, array.dtype.name, nodata, abs(transform.a))
        return assets


def _write_item(folder: Path, item: dict) -> None:
    (folder / f"{item['id']}.json").write_text(json.dumps(item, indent=1))


def _generate_s2(target: Path, levels: tuple[str, ...], seed: int, writer: _Writer) -> dict[str, list[str]]:
    deck = CloudDeck(seed)
    atmosphere = Atmosphere(seed)
    whens = acquisitions()
    thresholds = [deck.threshold(w.date(), c) for w, c in zip(whens, CLOUD_TARGETS, strict=True)]
    ids: dict[str, list[str]] = defaultdict(list)
    for grid in zone_grids():
        land = build_landscape(grid, seed)
        footprint = grid.footprint_wgs84()
        for index, (when, threshold) in enumerate(zip(whens, thresholds, strict=True)):
            alpha, shadow = deck.opacity(grid, when.date(), threshold)
            acq = render(land, when.date(), alpha, shadow, levels)
            angle_transform, angles = angle_bands(grid, when, index)
            aux = auxiliary_bands(atmosphere, grid, when.date(), alpha)
            writer.drain()
            for level in levels:
                arrays = dict(acq.l2a if level == "sentinel-2-l2a" else acq.l1c)
                arrays |= aux if level == "sentinel-2-l2a" else {"CLP": aux["CLP"]}
                arrays |= angles
                transforms = {b: grid.transform(float(RESOLUTION.get(b, 20))) for b in arrays}
                transforms |= dict.fromkeys(angles, angle_transform)
                iid = stac.item_id(level, grid, when)
                folder = target / level / iid
                assets = writer.item(folder, level, arrays, f"EPSG:{grid.epsg}", transforms)
                _write_item(folder, stac.item(level, grid, when, index, acq.cloud_cover, assets, footprint))
                ids[level].append(iid)
    return ids


def _generate_s1(target: Path, seed: int, writer: _Writer) -> dict[str, list[str]]:
    level = "sentinel-1-grd"
    ids = []
    for grid in zone_grids():
        land = build_landscape(grid, seed)
        footprint = grid.footprint_wgs84()
        transform = grid.transform(sentinel1.S1_RESOLUTION)
        for index, when in enumerate(sentinel1.acquisitions()):
            arrays = sentinel1.render(land, grid, when, index, seed)
            writer.drain()
            iid = f"DEMO_S1A_IW_GRDH_1SDV_T{grid.zone}_{when:%Y%m%dT%H%M%S}"
            folder = target / level / iid
            assets = writer.item(folder, level, arrays, f"EPSG:{grid.epsg}", dict.fromkeys(arrays, transform))
            properties = {
                "constellation": "sentinel-1",
                "platform": "sentinel-1a",
                "instruments": ["c-sar"],
                "sar:instrument_mode": "IW",
                "sar:polarizations": ["VV", "VH"],
                "sar:frequency_band": "C",
                "sat:orbit_state": "descending",
                "s1:resolution": "HIGH",
                "s1:polarization": "DV",
                "s1:backscatter_coefficient": "BETA0",
            }
            _write_item(folder, stac.feature(level, iid, when, footprint, grid.epsg, properties, assets))
            ids.append(iid)
    return {level: ids}


def _generate_landsat(target: Path, levels: tuple[str, ...], seed: int, writer: _Writer) -> dict[str, list[str]]:
    deck = CloudDeck(seed)
    grid = landsat.scene_grid()
    land = build_landscape(grid, seed)
    footprint = grid.footprint_wgs84()
    ids: dict[str, list[str]] = defaultdict(list)
    whens = landsat.acquisitions()
    for index, (when, cover) in enumerate(zip(whens, LANDSAT_CLOUD_TARGETS, strict=True)):
        alpha, shadow = deck.opacity(grid, when.date(), deck.threshold(when.date(), cover))
        l1, l2, cloud_cover = landsat.render(land, grid, when, alpha, shadow, levels)
        writer.drain()
        mission = "LC08" if index % 2 == 0 else "LC09"
        for level, arrays in (("landsat-ot-l1", l1), ("landsat-ot-l2", l2)):
            if level not in levels:
                continue
            transforms = {b: grid.transform(15.0 if b == "B08" else 30.0) for b in arrays}
            kind = "L1TP" if level == "landsat-ot-l1" else "L2SP"
            iid = f"DEMO_{mission}_{kind}_191029_{when:%Y%m%d}_02_T1"
            folder = target / level / iid
            assets = writer.item(folder, level, arrays, f"EPSG:{grid.epsg}", transforms)
            properties = {
                "platform": "landsat-8" if mission == "LC08" else "landsat-9",
                "instruments": ["oli", "tirs"],
                "eo:cloud_cover": cloud_cover,
                "landsat:collection_category": "T1",
                "landsat:wrs_path": "191",
                "landsat:wrs_row": "029",
            }
            _write_item(folder, stac.feature(level, iid, when, footprint, grid.epsg, properties, assets))
            ids[level].append(iid)
    return ids


def _generate_dem(target: Path, seed: int, writer: _Writer) -> dict[str, list[str]]:
    level = "dem"
    transform, heights = dem.heights(seed)
    rows, cols = heights.shape
    footprint = box(transform.c, transform.f + rows * transform.e, transform.c + cols * transform.a, transform.f)
    iid = "DEMO_COPDEM_GLO30_N45_00_E011_00"
    folder = target / level / iid
    assets = writer.item(folder, level, {"DEM": heights}, "EPSG:4326", {"DEM": transform})
    properties = {"gsd": 30, "instruments": ["tandem-x"], "dem:instance": "COPERNICUS_30"}
    _write_item(folder, stac.feature(level, iid, None, footprint, 4326, properties, assets))
    return {level: [iid]}


def generate(target: Path, levels: tuple[str, ...] = LEVELS, seed: int = SEED) -> None:
    """Write the COGs and STAC Items/Collection of `levels` into `target/<level>/`."""
    ids: dict[str, list[str]] = {}
    with ThreadPoolExecutor(2) as pool:
        writer = _Writer(pool)
        s2 = tuple(level for level in levels if level in S2_LEVELS)
        if s2:
            ids |= _generate_s2(target, s2, seed, writer)
        if "sentinel-1-grd" in levels:
            ids |= _generate_s1(target, seed, writer)
        optical = tuple(level for level in levels if level in LANDSAT_LEVELS)
        if optical:
            ids |= _generate_landsat(target, optical, seed, writer)
        if "dem" in levels:
            ids |= _generate_dem(target, seed, writer)
        writer.drain()
    for level, item_ids in ids.items():
        collection = stac.collection(level, sorted(item_ids))
        (target / level / "collection.json").write_text(json.dumps(collection, indent=1))


def _complete(root: Path, level: str) -> bool:
    return (root / level / "collection.json").exists()


def _write_catalog(root: Path) -> None:
    present = [level for level in LEVELS if _complete(root, level)]
    temporary = root / f".catalog-{os.getpid()}.json"
    temporary.write_text(json.dumps(stac.catalog(present), indent=1))
    os.replace(temporary, root / "catalog.json")


def ensure_demo_archive(settings: Settings, levels: tuple[str, ...] = S2_LEVELS) -> Path:
    """The demo archive folder (catalog.json plus one sub-folder per level with its collection.json),
    generated on first use into settings.archive_dir. Idempotent and fast when present, and safe when
    several processes call it at once. `levels` limits generation to the levels needed now (by
    default the two Sentinel-2 levels; `LEVELS` for everything)."""
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
