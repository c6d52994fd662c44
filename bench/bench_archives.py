"""Archive benchmarks (issue 13): the same regional archive read from a real STAC API + SeaweedFS (the
archive's own read-only keys) against the local disk copy, with the same outputs; searches per
request counted at the STAC server; GDAL's cloud options against its defaults; the same archive
behind a plain HTTP server; the analysis of a 12,343-tile request against the STAC API (time and
peak memory).

Each throughput arm runs in a fresh process (no GDAL cache carried between rounds), one tile after
the other on one core, in paired alternating rounds (bench/paired.py).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import rasterio
import yaml
from shapely.geometry import box

from bench.paired import Paired, Run, tree_cpu_s
from eobatch import grids
from eobatch.collections.demo.regional import RegionalSpec, default_dates, generate_regional_archive

ROUNDS = 3
BOUNDS = [11.9, 45.0, 12.1, 45.2]  # both UTM zones: 12 tiles of the 10 km grid
SPEC = RegionalSpec(bbox=(11.85, 44.97, 12.15, 45.23), dates=default_dates(3), bands=("B04", "B08", "B8A", "B11"))
READER = {"accessKey": "bench-reader", "secretKey": "bench-reader-secret"}
EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "B8A", "B11", "dataMask"], output: {bands: 3, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  return [(s.B08 - s.B04) / (s.B08 + s.B04), (s.B8A - s.B11) / (s.B8A + s.B11), s.dataMask];
}
"""


def _process_request(collection_type: str) -> dict:
    return {
        "input": {
            "bounds": {"bbox": BOUNDS},
            "data": [
                {
                    "type": collection_type,
                    "dataFilter": {"timeRange": {"from": "2024-04-01T00:00:00Z", "to": "2024-04-30T00:00:00Z"}},
                }
            ],
        },
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": EVALSCRIPT,
    }


def _arm(work: Path, settings: dict, collection_type: str, tiles: list[str], label: str, outputs: dict) -> Run:
    """Process `tiles` in a fresh process; the run's wall time is the processing time it reports."""
    out = work / "out" / label / uuid.uuid4().hex[:8]
    config = {
        "settings": settings,
        "bounds": BOUNDS,
        "process_request": _process_request(collection_type),
        "tiles": tiles,
        "resolution": 10.0,
        "request_id": f"bench-{uuid.uuid4().hex[:8]}",
        "output": f"s3://bench/{out.name}/<tileName>.<format>",
    }
    path = work / f"{label}.json"
    path.write_text(json.dumps(config))
    cpu = tree_cpu_s()
    done = subprocess.run(
        [sys.executable, "-m", "bench.archive_run", str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{label} arm failed: {done.stderr[-2000:]}")
    reported = json.loads(done.stdout.strip().splitlines()[-1])
    outputs[label] = Path(settings["data_dir"]) / "buckets" / "bench" / out.name
    return Run(reported["seconds"], tree_cpu_s() - cpu)


def _same_pixels(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.glob("*.tif"))
    if not names or names != sorted(p.name for p in b.glob("*.tif")):
        return False
    for name in names:
        with rasterio.open(a / name) as x, rasterio.open(b / name) as y:
            if not np.array_equal(x.read(), y.read(), equal_nan=True):
                return False
    return True


def run() -> list[dict]:
    from tests.collections.stac_archive import items_at, upload_folder
    from tests.support.http_servers import serve_files
    from tests.support.postgres import PostgresServer
    from tests.support.seaweed import start_seaweed
    from tests.support.stac_api import start_stac_api

    from bench.paired import row

    work = Path(tempfile.mkdtemp(prefix="bench-archives-"))
    weed = pg = api = http = None
    rows: list[dict] = []
    try:
        archive = generate_regional_archive(work / "archive", SPEC)
        weed = start_seaweed(identities=[{"name": "reader", "credentials": [READER], "actions": ["Read:archive"]}])
        weed.create_bucket("archive")
        upload_folder(weed.client(), "archive", archive.parent, "regional")
        pg = PostgresServer.start()
        api = start_stac_api(pg)
        collection, items = items_at(archive, "s3://archive/regional")
        api.load(collection, items)
        keys = work / "keys.json"
        keys.write_text(json.dumps({"access_key_id": READER["accessKey"], "secret_access_key": READER["secretKey"]}))
        remote = {"endpoint": weed.endpoint, "credentials": {"file": str(keys)}}
        http = serve_files(archive.parent)
        entries = {
            "regional-local": {"preset": "sentinel-2-l1c", "source": {"kind": "static", "href": str(archive)}},
            "regional-http": {
                "preset": "sentinel-2-l1c",
                "source": {"kind": "static", "href": f"{http.url}/collection.json"},
            },
            "regional-remote": {
                "preset": "sentinel-2-l1c",
                "source": {"kind": "stac-api", "url": api.url, "collection": SPEC.collection_id},
                "access": remote,
            },
            "regional-remote-gdal-defaults": {
                "preset": "sentinel-2-l1c",
                "source": {"kind": "stac-api", "url": api.url, "collection": SPEC.collection_id},
                "access": remote | {"gdal": _gdal_defaults()},
            },
        }
        collections = work / "collections.yaml"
        collections.write_text(yaml.safe_dump({"collections": entries}))
        settings = {"data_dir": str(work / "data"), "collections_file": str(collections)}
        area = grids.area_from_bounds({"bbox": BOUNDS})
        tiles = [t.name for t in grids.tiles_for_area(1, area)]
        km2 = sum(box(*t.bounds).area for t in grids.tiles_for_area(1, area)) / 1e6
        outputs: dict[str, Path] = {}
        before = api.searches()["searches"]
        kind = {
            "remote": "regional-remote",
            "local": "regional-local",
            "defaults": "regional-remote-gdal-defaults",
            "http": "regional-http",
        }
        result = Paired({arm: [] for arm in kind}, load_before=_load())
        for k in range(ROUNDS):
            for arm in list(kind) if k % 2 == 0 else reversed(list(kind)):
                result.runs[arm].append(_arm(work, settings, kind[arm], tiles, arm, outputs))
        result.load_after = _load()
        searches = (api.searches()["searches"] - before) / (2 * ROUNDS)
        same = all(_same_pixels(outputs[arm], outputs["local"]) for arm in ("remote", "defaults", "http"))
        per_core_remote = len(tiles) / result.wall("remote") * 3600
        rows.append(
            row(
                f"tiles/hour per core, STAC API + SeaweedFS ({len(tiles)} tiles of 1000x1000 px, 4 bands)",
                result, "remote", "local",
                label="same archive and request on local disk",
                target=">= 0.8",
                speed=True,
                value=round(per_core_remote, 1),
                reference_value=round(len(tiles) / result.wall("local") * 3600, 1),
                unit="tiles/h/core",
                note=f"ratio = local time / remote time; {per_core_remote * km2 / len(tiles):.0f} km2/h/core remote; "
                f"outputs identical: {same}",
            )
        )  # fmt: skip
        rows.append(
            row(
                "remote reads with eobatch's GDAL cloud options",
                result, "remote", "defaults",
                label="GDAL defaults (same access)",
                target=">= 1.0",
                speed=True,
                note="ratio = defaults time / tuned time (local SeaweedFS: no latency, HTTP/1.1)",
            )
        )  # fmt: skip
        rows.append(
            row(
                "tiles/hour per core, static catalog + COGs behind a plain HTTP server",
                result, "http", "local",
                label="same archive and request on local disk",
                target=">= 0.8",
                speed=True,
                value=round(len(tiles) / result.wall("http") * 3600, 1),
                reference_value=round(len(tiles) / result.wall("local") * 3600, 1),
                unit="tiles/h/core",
                note="ratio = local time / HTTP time (stdlib range server, HTTP/1.1)",
            )
        )  # fmt: skip
        rows.append(
            {
                "name": "STAC searches per request (counted at the server)",
                "value": searches,
                "unit": "searches",
                "reference": "input collections",
                "reference_value": 1,
                "ratio": searches,
                "target": "1",
                "note": f"{len(tiles)} tiles per request",
            }
        )
        rows.append(_analysis_of_10000_tiles(work, api, settings))
    finally:
        for server in (api, weed, http):
            if server is not None:
                server.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _load() -> float:
    import os

    return os.getloadavg()[0]


def _gdal_defaults() -> dict[str, str]:
    """GDAL's own defaults for the options eobatch tunes (docs/collections.md)."""
    return {
        "GDAL_DISABLE_READDIR_ON_OPEN": "FALSE",
        "GDAL_INGESTED_BYTES_AT_OPEN": "16384",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "NO",
        "GDAL_HTTP_MULTIPLEX": "YES",
        "GDAL_HTTP_VERSION": "1.1",
        "VSI_CACHE": "FALSE",
        "CPL_VSIL_CURL_CACHE_SIZE": "16777216",
    }


ANALYSIS = """
import json, resource, sys, time, uuid
from eobatch.engine.analysis import analyse_request
from eobatch.settings import Settings
from eobatch.api.intake import parse_bounds
from eobatch.store.work import RequestSnapshot
from tests.support.plans import tile_plan
config = json.loads(sys.argv[1])
body = config["process_request"]
plan, _ = tile_plan(
    evalscript=body["evalscript"], responses=body["output"]["responses"], data=body["input"]["data"],
    resolution=20.0, area=parse_bounds(body),
)
request = RequestSnapshot(str(uuid.uuid4()), "bench", plan, "ANALYSE")
started = time.perf_counter()
result = analyse_request(request, Settings(**config["settings"]))
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "tiles": len(result.tiles), "peak_mb": peak_mb}))
"""


def _analysis_of_10000_tiles(work: Path, api, settings: dict) -> dict:
    """A request of 12,343 tiles over 2,240 synthetic Sentinel-2-sized granules (about 100 km,
    10 dates) in pgstac."""
    granules = []
    for date in range(10):
        when = dt.datetime(2024, 6, 1 + 3 * date, 10, 0, tzinfo=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i in range(16):
            for j in range(14):
                west, south = 3.0 + i * 0.9, 42.0 + j * 0.9
                geometry = box(west, south, west + 1.0, south + 1.0)
                granules.append(
                    {
                        "type": "Feature",
                        "stac_version": "1.1.0",
                        "id": f"G_{date}_{i}_{j}",
                        "geometry": geometry.__geo_interface__,
                        "bbox": list(geometry.bounds),
                        "properties": {"datetime": when, "eo:cloud_cover": float((i * j + date) % 100)},
                        "assets": {b: {"href": f"s3://archive/big/{date}/{i}/{j}/{b}.tif"} for b in ("B04", "B08")},
                        "links": [],
                    }
                )
    collection = {
        "type": "Collection", "stac_version": "1.1.0", "id": "granules", "description": "analysis bench",
        "license": "proprietary", "links": [],
        "extent": {"spatial": {"bbox": [[3, 42, 18, 55]]}, "temporal": {"interval": [[None, None]]}},
    }  # fmt: skip
    api.load(collection, granules)
    entries = {
        "granules": {
            "preset": "sentinel-2-l1c",
            "source": {"kind": "stac-api", "url": api.url, "collection": "granules"},
        }
    }
    path = work / "granules.yaml"
    path.write_text(yaml.safe_dump({"collections": entries}))
    bounds = [3.5, 42.5, 16.5, 53.5]  # about 970 km x 1220 km
    process_request = _process_request("granules")
    process_request["input"]["bounds"] = {"bbox": bounds}
    process_request["input"]["data"][0]["dataFilter"]["timeRange"] = {
        "from": "2024-06-01T00:00:00Z",
        "to": "2024-06-30T23:59:59Z",
    }
    process_request["evalscript"] = EVALSCRIPT.replace(', "B8A", "B11"', "").replace(
        ", (s.B8A - s.B11) / (s.B8A + s.B11)", ", 0"
    )
    before = api.searches()["searches"]
    config = {"settings": settings | {"collections_file": str(path)}, "process_request": process_request}
    done = subprocess.run(
        [sys.executable, "-c", ANALYSIS, json.dumps(config)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"analysis bench failed: {done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    searches = api.searches()["searches"] - before
    return {
        "name": f"analysis of a {figures['tiles']}-tile request against the STAC API",
        "value": round(figures["seconds"], 2),
        "unit": "s",
        "reference": "peak RSS of the analysing process (MiB)",
        "reference_value": round(figures["peak_mb"], 0),
        "ratio": None,
        "target": "one search",
        "note": f"{searches} search(es) at the server for {len(granules)} granules in pgstac; load {_load():.2f}",
    }
