"""Collections benchmarks: scene search on the in-memory index against re-reading the STAC items, the
demo COG writer against GDAL's COG driver building its own overviews, and demo archive generation."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import rasterio
from shapely.geometry import box, shape

from eobatch.collections import DEMO_TIME_RANGE, CollectionRegistry
from eobatch.collections.demo.archive import SEED
from eobatch.collections.demo.area import acquisitions, zone_grids
from eobatch.collections.demo.clouds import CloudDeck
from eobatch.collections.demo.cog import write_cog
from eobatch.collections.demo.landscape import build_landscape
from eobatch.collections.demo.render import render
from eobatch.settings import Settings


def _row(name, value, unit, reference, reference_value, ratio, target, note):
    return dict(
        name=name,
        value=value,
        unit=unit,
        reference=reference,
        reference_value=reference_value,
        ratio=ratio,
        target=target,
        note=note,
    )


def _naive_search(collection_json: Path, area, t0: str, t1: str) -> list[str]:
    """Reference: read every item JSON and filter, as a search without an index would."""
    found = []
    doc = json.loads(collection_json.read_text())
    for link in doc["links"]:
        if link["rel"] != "item":
            continue
        item = json.loads((collection_json.parent / link["href"]).read_text())
        when = item["properties"]["datetime"]
        if t0 <= when <= t1 and shape(item["geometry"]).intersects(area):
            found.append(item["id"])
    return found


def run() -> list[dict]:
    rows = []
    work = Path(tempfile.mkdtemp(prefix="bench-collections-"))
    try:
        settings = Settings(data_dir=work)
        started = time.perf_counter()
        registry = CollectionRegistry.default(settings)
        l2a = registry.get("sentinel-2-l2a")
        area = box(11.95, 45.10, 12.05, 45.15)
        l2a.search(area, *DEMO_TIME_RANGE)  # generates the L2A archive and loads the index
        generation = time.perf_counter() - started

        grid = zone_grids()[0]
        deck = CloudDeck(SEED)
        started = time.perf_counter()
        land = build_landscape(grid, SEED)
        for when in acquisitions():
            alpha, shadow = deck.opacity(grid, when.date(), deck.threshold(when.date(), 30.0))
            acq = render(land, when.date(), alpha, shadow, ("sentinel-2-l2a",))
        render_only = (time.perf_counter() - started) * 2  # two zones
        rows.append(
            _row(
                "demo L2A archive generation (24 scenes, 23 COGs each)",
                generation,
                "s",
                "numpy rendering alone, no I/O",
                render_only,
                generation / render_only,
                "< 15 s",
                "ratio = generation / rendering: the share of COG writing",
            )
        )

        n = 2000
        t0, t1 = "2024-05-01T00:00:00Z", "2024-05-31T23:59:59Z"
        started = time.perf_counter()
        for _ in range(n):
            hits = l2a.search(area, t0, t1)
        indexed = (time.perf_counter() - started) / n * 1e6
        collection_json = next((work / "archive").glob("*/sentinel-2-l2a/collection.json"))
        m = 20
        started = time.perf_counter()
        for _ in range(m):
            naive = _naive_search(collection_json, area, t0, t1)
        rescan = (time.perf_counter() - started) / m * 1e6
        assert sorted(naive) == sorted(s.id for s in hits)
        rows.append(
            _row(
                "scene search, one tile, indexed",
                indexed,
                "us",
                "re-read 24 item JSONs per search",
                rescan,
                rescan / indexed,
                "> 10x",
                "ratio > 1: the index is that many times faster",
            )
        )

        band = acq.l2a["B02"]
        k = 5
        started = time.perf_counter()
        for i in range(k):
            write_cog(work / f"ours{i}.tif", band, f"EPSG:{grid.epsg}", grid.transform(10.0), 0)
        ours = (time.perf_counter() - started) / k
        started = time.perf_counter()
        for i in range(k):
            profile = dict(
                driver="COG",
                width=band.shape[1],
                height=band.shape[0],
                count=1,
                dtype="uint16",
                crs=f"EPSG:{grid.epsg}",
                transform=grid.transform(10.0),
                nodata=0,
                compress="DEFLATE",
                predictor=2,
                level=1,
                blocksize=512,
                overview_resampling="average",
                num_threads=1,
            )
            with rasterio.open(work / f"gdal{i}.tif", "w", **profile) as dst:
                dst.write(band, 1)
        gdal = (time.perf_counter() - started) / k
        rows.append(
            _row(
                "COG write, 10 m band 1338x1608 with overviews",
                ours,
                "s",
                "GDAL COG driver building overviews",
                gdal,
                gdal / ours,
                "> 1",
                "ratio > 1: ours is faster (overviews built on an uncompressed in-memory copy)",
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows
