"""Tile enumeration speed and memory: metropolitan France and continental Europe on the 10 km grid.

France is a coastline-like polygon: about 40 outline points (coarse public coordinates of borders and
coasts) densified to about 400 vertices with a deterministic wiggle, scaled to 550 000 km2. Europe is
a lon/lat box of about 100 000 tiles. The reference is a naive shapely loop over the same zone parts:
every candidate cell of each part's bounding box intersected with the part one by one (unprepared).
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np
import shapely

from eobatch.grids import area_from_bounds, footprints_wgs84, tiles_for_area
from eobatch.grids.geo import WGS84, project_lonlat, transform
from eobatch.grids.tiles import _SCHEMES

FRANCE_OUTLINE = [  # lon, lat, clockwise from Dunkirk
    (2.54, 51.09), (3.0, 50.77), (4.2, 49.95), (4.85, 50.15), (5.8, 49.55), (6.36, 49.46), (7.0, 49.15),
    (8.2, 48.97), (7.58, 47.58), (6.85, 47.45), (6.1, 46.15), (6.8, 45.9), (7.0, 45.2), (6.63, 44.4),
    (7.5, 43.78), (6.9, 43.5), (6.0, 43.1), (5.3, 43.3), (4.6, 43.45), (3.6, 43.3), (3.05, 42.45),
    (1.7, 42.5), (0.7, 42.85), (-0.5, 42.8), (-1.78, 43.37), (-1.45, 44.5), (-1.2, 45.8), (-2.2, 46.9),
    (-2.5, 47.3), (-4.35, 47.8), (-4.78, 48.38), (-3.5, 48.85), (-1.95, 48.65), (-1.6, 49.65),
    (-1.25, 49.35), (0.1, 49.45), (1.4, 50.05), (1.6, 50.7),
]  # fmt: skip
FRANCE_KM2 = 550_000.0
EUROPE_BBOX = [-10.0, 36.0, 30.0, 70.0]
GRID = 1


def france() -> shapely.Polygon:
    """The outline densified to ~400 vertices, wiggled by up to ~6 km and scaled to 550 000 km2."""
    ring = shapely.LineString([*FRANCE_OUTLINE, FRANCE_OUTLINE[0]])
    points = np.array([ring.interpolate(f, normalized=True).coords[0] for f in np.linspace(0, 1, 400)[:-1]])
    k = np.arange(len(points))
    rng = np.random.default_rng(7)
    wiggle = 0.05 * np.sin(k * 0.9) + 0.03 * np.sin(k * 2.3 + 1.0) + rng.normal(0, 0.01, len(k))
    centre = points.mean(axis=0)
    radial = points - centre
    radial /= np.linalg.norm(radial, axis=1)[:, None]
    poly = shapely.make_valid(shapely.Polygon(points + radial * wiggle[:, None]))
    poly = max(shapely.get_parts(poly), key=lambda g: g.area)
    km2 = transform(poly, WGS84, 3035).area / 1e6
    c = poly.centroid
    scale = (FRANCE_KM2 / km2) ** 0.5
    return shapely.affinity.scale(poly, scale, scale, origin=c)


def naive_count(area) -> int:
    """The reference: one unprepared shapely intersects per candidate cell of each zone part."""
    scheme = _SCHEMES[GRID]
    size = scheme.size
    count = 0
    for epsg, part in scheme.parts(area):
        projected = project_lonlat(part, epsg)
        minx, miny, maxx, maxy = projected.bounds
        for i in range(int(minx // size), int(-(-maxx // size))):
            for j in range(int(miny // size) + 1, int(-(-maxy // size)) + 1):
                cell = shapely.box(i * size, (j - 1) * size, (i + 1) * size, j * size)
                if cell.intersects(projected) and cell.intersection(projected).area > 0:
                    count += 1
    return count


def _timed(fn, *args, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - started)
    return best, result


def _high_water_mib() -> float:
    """VmHWM of this process (ru_maxrss would carry the parent's peak across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _peak_rss(bounds: dict, queue) -> None:
    area = area_from_bounds(bounds)
    before = _high_water_mib()
    tiles = tiles_for_area(GRID, area)
    footprints_wgs84(tiles)
    queue.put((before, _high_water_mib()))


def peak_memory_mb(bounds: dict) -> tuple[float, float]:
    """(peak RSS before, peak RSS after) enumeration + footprints, in a fresh process, in MiB."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_rss, args=(bounds, queue))
    proc.start()
    result = queue.get(timeout=120)
    proc.join()
    return result


def run() -> list[dict]:
    rows: list[dict] = []
    fr = france()
    fr_bounds = {"geometry": shapely.geometry.mapping(fr)}
    eu_bounds = {"bbox": EUROPE_BBOX}
    for label, bounds, repeat, target in (
        ("France", fr_bounds, 3, "< 1 s"),
        ("Europe box", eu_bounds, 1, "< 10 s, < 1 GB"),
    ):
        area = area_from_bounds(bounds)
        seconds, tiles = _timed(tiles_for_area, GRID, area, repeat=repeat)
        n = len(tiles)
        if label == "France":
            ref_seconds, ref_count = _timed(naive_count, area)
            ref_note = f"naive count {ref_count} (same tiles: {ref_count == n})"
        else:  # the naive loop over ~150 000 candidates takes minutes: time it on a 2-degree band
            band = shapely.intersection(area, shapely.box(-10, 50, 30, 52))
            ref_part, ref_count = _timed(naive_count, band)
            same = ref_count == len(tiles_for_area(GRID, band))
            ref_seconds = ref_part / ref_count * n
            ref_note = f"naive loop timed on the 50-52N band ({ref_count} tiles, same: {same}), scaled per tile"
        rows.append(
            {
                "name": f"{label}: enumerate 10 km tiles ({n} tiles)",
                "value": seconds,
                "unit": "s",
                "reference": "naive shapely loop",
                "reference_value": ref_seconds,
                "ratio": ref_seconds / seconds,
                "target": target,
                "note": f"{n / seconds:,.0f} tiles/s; ratio = reference time / eobatch time; {ref_note}",
            }
        )
        fp_seconds, _ = _timed(lambda t: footprints_wgs84(t), tiles)
        rows.append(
            {
                "name": f"{label}: enumeration + WGS84 footprints per tile",
                "value": (seconds + fp_seconds) / n * 1e6,
                "unit": "us/tile",
                "reference": "naive loop per tile (enumeration only)",
                "reference_value": ref_seconds / n * 1e6,
                "ratio": (ref_seconds / n) / ((seconds + fp_seconds) / n),
                "target": "",
                "note": f"footprints alone {fp_seconds / n * 1e6:.1f} us/tile",
            }
        )
        before, after = peak_memory_mb(bounds)
        rows.append(
            {
                "name": f"{label}: peak memory of enumeration + footprints",
                "value": after,
                "unit": "MiB RSS",
                "reference": "process after imports and area parsing",
                "reference_value": before,
                "ratio": after / before,
                "target": "< 1024 MiB" if label != "France" else "",
                "note": f"growth {after - before:.0f} MiB for {n} tiles (fresh process, VmHWM)",
            }
        )
    return rows
