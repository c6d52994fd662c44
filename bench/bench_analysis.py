"""Analysis of a continental request through the HTTP API: the Europe box on grid 1 (about 100 000 tiles).

Each round serves the API with its scheduler in a fresh process (SQLite, the built-in demo collection,
whose archive is generated once before the rounds: generating it is not analysis), creates the request,
POSTs analyse and polls GET (every 0.25 s) until ANALYSIS_DONE. That process reports the wall time from the POST to
ANALYSIS_DONE, the CPU seconds it and its children (the confined evalscript-check worker) spent meanwhile,
its peak resident memory (VmHWM) and the tile count. The reference, in alternating paired rounds
(bench/paired.py), is `grids.tiles_for_area` alone over the same box in this process. Target (issue 14):
under 10 s and under 1 GB.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.paired import paired

EUROPE_BBOX = [-10.0, 36.0, 30.0, 70.0]  # the bench_grids Europe box: about 100 000 tiles of grid 1
ROUNDS = 3
TIMEOUT_S = 300.0
POLL_S = 0.25  # GET every 0.25 s: each GET costs the server (and the analysis thread's GIL) a few ms


def _child(root: str) -> None:
    """In a fresh process: serve the API + scheduler, analyse the Europe request, print the figures."""
    import psutil
    from tests.api.helpers import body

    from bench.api_request import api_client, create, post_action, wait_status
    from bench.bench_grids import _high_water_mib
    from eobatch.engine import LocalExecutor, Scheduler
    from eobatch.engine.execution import noop
    from eobatch.settings import Settings

    def cpu_s() -> float:
        me = psutil.Process()
        total = sum(t.user + t.system for t in [me.cpu_times()])
        for child in me.children(recursive=True):
            try:
                t = child.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total + os.times().children_user + os.times().children_system

    settings = Settings(data_dir=Path(root), workers=1, poll_interval_s=0.01, max_tiles_per_request=200_000)
    europe = body()
    europe["processRequest"]["input"]["bounds"] = {"bbox": EUROPE_BBOX}
    with api_client(settings) as (http, service):
        request_id = create(http, europe)
        scheduler = Scheduler(settings, service.database, LocalExecutor(1, task=noop), lease_s=120.0)
        scheduler.start()
        try:
            before = _high_water_mib()
            cpu = cpu_s()
            started = time.perf_counter()
            post_action(http, request_id, "analyse")
            try:
                done = wait_status(http, request_id, {"ANALYSIS_DONE"}, timeout_s=TIMEOUT_S, poll_s=POLL_S)
                seconds, tiles = time.perf_counter() - started, done["tileCount"]
            except RuntimeError:  # too slow: report it instead of holding `make bench` up
                seconds, tiles = None, None
            cpu = cpu_s() - cpu
            after = _high_water_mib()
        finally:
            scheduler.stop()
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "tiles": tiles, "rss_before": before, "rss_peak": after}))


def _round(archive: Path, figures: list[dict]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-europe-") as tmp:
        (Path(tmp) / "archive").symlink_to(archive)
        done = subprocess.run(
            [sys.executable, "-c", f"import bench.bench_analysis as b; b._child({tmp!r})"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=TIMEOUT_S + 300,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the Europe analysis failed:\n{done.stderr[-3000:]}")
    figures.append(json.loads(done.stdout.strip().splitlines()[-1]))


def _enumerate() -> int:
    from eobatch.grids import area_from_bounds, tiles_for_area

    return len(tiles_for_area(1, area_from_bounds({"bbox": EUROPE_BBOX})))


def run() -> list[dict]:
    from eobatch.collections.demo import ensure_demo_archive
    from eobatch.settings import Settings

    shared = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
        ensure_demo_archive(Settings(data_dir=shared))  # once, outside the rounds
        figures: list[dict] = []
        result = paired({"analysis": lambda: _round(shared / "archive", figures), "enumeration": _enumerate}, ROUNDS)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    finished = [f for f in figures if f["seconds"] is not None]
    tiles = figures[0]["tiles"]
    wall = [f["seconds"] for f in finished]
    cpu = [f["cpu_s"] for f in figures]
    peaks = [f["rss_peak"] for f in figures]
    enumeration = result.wall("enumeration")
    seconds = statistics.median(wall) if len(finished) == len(figures) else None
    each = ", ".join(f"{w:.2f}" for w in wall)
    note = (
        f"POST analyse -> ANALYSIS_DONE seen by GET, {tiles} tiles; rounds {each} s"
        if seconds is not None
        else f"{len(figures) - len(finished)} of {len(figures)} rounds NOT DONE within {TIMEOUT_S:g} s"
    )
    return [
        {
            "name": f"analysis through the API, Europe box on grid 1 ({tiles} tiles)",
            "value": None if seconds is None else round(seconds, 2),
            "unit": "s",
            "reference": "grids.tiles_for_area alone, same box",
            "reference_value": round(enumeration, 2),
            "ratio": None if seconds is None else round(seconds / enumeration, 2),
            "target": "< 10 s",
            "rounds": result.rounds,
            "load": result.load,
            "cpu_s": f"{statistics.median(cpu):.2f} vs {result.cpu('enumeration'):.2f}",
            "note": note + "; cpu_s: the server process and its workers during the analysis",
        },
        {
            "name": "  peak RSS of the API + scheduler process (that analysis)",
            "value": round(max(peaks), 1),
            "unit": "MiB",
            "reference": "the same process before POST analyse",
            "reference_value": round(statistics.median(f["rss_before"] for f in figures), 1),
            "ratio": round(max(peaks) / statistics.median(f["rss_before"] for f in figures), 2),
            "target": "< 1024 MiB",
            "rounds": result.rounds,
            "load": result.load,
            "note": "VmHWM of a fresh server process, largest of the rounds: " + ", ".join(f"{p:.0f}" for p in peaks),
        },
    ]
