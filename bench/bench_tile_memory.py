"""Peak resident memory of one worker process per tile size (issue 14: <= 1.5 GB for any accepted tile).

Each case runs `process_tile` once in a fresh Python process (`python -m bench.bench_tile_memory CASE`)
and reports that process's peak resident set (VmHWM, which includes the interpreter, V8, GDAL and numba)
and its wall time:

* `20km`: a grid-0 tile (20 km at 10 m, 2004 x 2004 px) over the real L1C scenes, 13 bands in, 13 UINT16
  bands out (COG);
* `100km`: a grid-2 tile (100 km at 30 m, 3336 x 3336 px), the same script;
* `wgs84`: the WGS84 1° tile at 0.0001° (10000 x 10000 px), 4 bands, over the synthetic scene of
  tests/processing/large_tile.py (COG with overviews).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "s2-l1c-real"
ALL13 = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
SCRIPT13 = (
    "//VERSION=3\nfunction setup() { return {input: [{bands: "
    + json.dumps([*ALL13, "dataMask"])
    + '}], output: {id: "default", bands: 13, sampleType: "UINT16"}}; }\n'
    + "function evaluatePixel(s) { return ["
    + ", ".join(f"s.{b} * 10000" for b in ALL13)
    + "]; }\n"
)
CASES = {"20km": (0, 10.0), "100km": (2, 30.0), "wgs84": (3, 0.0001)}
LIMIT_MB = 1536


def _real_config(root: Path) -> Path:
    import yaml

    config = root / "collections.yaml"
    entry = {"preset": "sentinel-2-l1c", "source": {"kind": "static", "href": str(REAL / "collection.json")}}
    config.write_text(yaml.safe_dump({"collections": {"real-l1c": entry}}))
    return config


def measure(case: str, root: Path) -> dict:
    """Run one case in this process; returns peak RSS (MiB) and seconds."""
    from shapely.geometry import box
    from tests.processing.conftest import make_task

    from eobatch.grids import footprint_wgs84, tiles_for_area
    from eobatch.processing import process_tile
    from eobatch.settings import Settings

    grid_id, resolution = CASES[case]
    if case == "wgs84":
        from tests.processing import large_tile

        config = large_tile.write_large_archive(root / "archive")
        tile, area, script = large_tile.large_tile(), large_tile.AREA, large_tile.EVALSCRIPT
        data = {"type": large_tile.COLLECTION, "dataFilter": {"timeRange": large_tile.TIME_RANGE}}
    else:
        config = _real_config(root)
        data_box = box(14.55134, 45.86589, 14.56429, 45.87503)
        (tile,) = [t for t in tiles_for_area(grid_id, data_box) if footprint_wgs84(t).contains(data_box)][:1]
        area, script = footprint_wgs84(tile).buffer(0.01), SCRIPT13
        range_ = {"from": "2015-07-01T00:00:00Z", "to": "2015-09-30T00:00:00Z"}
        data = {"type": "real-l1c", "dataFilter": {"timeRange": range_}}
    settings = Settings(data_dir=root / "data", collections_file=config)
    task = make_task(
        settings,
        tile,
        resolution=resolution,
        area=area,
        evalscript=script,
        data=data,
        responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
        output={"defaultTilePath": "s3://out/<tileName>/<outputId>.<format>", "cogOutput": True},
    )
    started = time.perf_counter()
    result = process_tile(task)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pixels = task.pixel_grid.width * task.pixel_grid.height
    timings = {k: round(v, 2) for k, v in result.timings.items()}
    return {
        "peak_mb": peak,
        "seconds": seconds,
        "pixels": pixels,
        "bytes": result.bytes_written,
        "timings": timings,
        "evaluation": result.evaluation,
    }


def _run_case(case: str) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"eobatch-bench-memory-{case}-"))
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
        out = subprocess.run(
            [sys.executable, "-m", "bench.bench_tile_memory", case, str(root)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run() -> list[dict]:
    rows = []
    for case in CASES:
        load = os.getloadavg()[0]
        figures = _run_case(case)
        rows.append(
            {
                "name": f"peak RSS of a worker, {case} tile ({figures['pixels'] / 1e6:.0f} Mpx)",
                "value": round(figures["peak_mb"]),
                "unit": "MiB",
                "reference": "limit per worker",
                "reference_value": LIMIT_MB,
                "ratio": round(figures["peak_mb"] / LIMIT_MB, 3),
                "target": "<= 1",
                "rounds": 1,
                "load": f"{load:.2f}->{os.getloadavg()[0]:.2f}",
                "note": f"fresh process, VmHWM; tile took {figures['seconds']:.1f} s",
            }
        )
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]))))
