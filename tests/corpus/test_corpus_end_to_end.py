"""Real public evalscripts (../shared/evalscripts) run end to end through the HTTP API on the demo
collections their data comes from: Sentinel-1 GRD, Landsat 8-9 L1 and L2, the DEM, and S1+S2 data
fusion. One served instance (API + scheduler + local process pool, SQLite); every request is submitted
at once, then each case waits for its own. The terminal summary reports, per collection, how many
scripts ran (tests/corpus/conftest.py). The Sentinel-2-only scripts are run against the demo by the
evalscript tests (tests/evalscript); here the fusion scripts' S2 inputs, whatever their datasource id
says, read `sentinel-2-l2a`, the one S2 level this test generates.

Scripts that pick scenes on fixed dates get those date strings replaced by demo acquisition dates
(the scripts say these are the values a user sets); nothing else in a script is changed.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
import rasterio

from eobatch.client import Credentials, EobatchClient
from eobatch.service import Service, free_port
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from tests.conftest import SHARED
from tests.corpus.conftest import RESULTS

CORPUS = SHARED / "evalscripts"
INDEX = {row["file"]: row for row in csv.DictReader((CORPUS / "INDEX.tsv").read_text().splitlines(), delimiter="\t")}
# Crosses 12°E, so every request has a tile in UTM zone 32 and one in zone 33 (grid 0, 60 m).
AREA = [11.97, 45.12, 12.03, 45.16]
DEMO_RANGE = {"from": "2024-04-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}
MAY = {"from": "2024-05-01T00:00:00Z", "to": "2024-05-31T23:59:59Z"}
FINISHED = ("DONE", "PARTIAL", "FAILED", "CANCELED")


@dataclass(frozen=True)
class Case:
    script: str
    label: str  # the collection (or fusion) the report counts it under
    data: tuple[dict, ...]
    dates: dict[str, str] = field(default_factory=dict)  # fixed scene dates -> demo dates

    @property
    def id(self) -> str:
        return f"{self.label}:{self.script}"


def _input(type_: str, time_range: dict | None = None, **extra) -> dict:
    entry = {"type": type_, **extra}
    if time_range is not None:
        entry["dataFilter"] = {"timeRange": time_range}
    return entry


S1 = _input("sentinel-1-grd", DEMO_RANGE)
L1 = _input("landsat-ot-l1", MAY)
L2 = _input("landsat-ot-l2", MAY)

CASES = [
    Case("dem_dem-color.js", "dem", (_input("dem"),)),
    Case("s1_crop_monitoring.js", "sentinel-1-grd", (S1,), {"2018-04-20": "2024-04-14", "2018-08-22": "2024-06-13"}),
    Case(
        "s1_sar_multi-temporal_backscatter_coefficient_composite.js",
        "sentinel-1-grd",
        (S1,),
        {"2018-04-11": "2024-04-02", "2018-06-10": "2024-05-08", "2018-08-21": "2024-06-25"},
    ),
    Case("s1_sar_rvi_temporal_analysis.js", "sentinel-1-grd", (S1,)),
    *(Case(name, "landsat-ot-l1", (L1,)) for name in sorted(INDEX) if name.startswith("l8_")),
    *(
        Case(name, "landsat-ot-l2", (L2,))
        for name in sorted(INDEX)
        if name.startswith("l8_") and "land_surface_temperature" not in name  # needs B11, an L1 band
    ),
    Case(
        "fusion_s2_s1_forest_fire_progression.js",
        "fusion S1+S2",
        (
            _input("sentinel-1-grd", {"from": "2024-05-08T00:00:00Z", "to": "2024-05-08T23:59:59Z"}, id="s1_t1"),
            _input("sentinel-1-grd", {"from": "2024-05-20T00:00:00Z", "to": "2024-05-20T23:59:59Z"}, id="s1_t2"),
            _input("sentinel-2-l2a", {"from": "2024-05-13T00:00:00Z", "to": "2024-05-13T23:59:59Z"}, id="l2a_t1"),
        ),
    ),
    Case(
        "fusion_ship_detection_s1_s2.js",
        "fusion S1+S2",
        (_input("sentinel-2-l2a", MAY, id="S2L1C"), _input("sentinel-1-grd", MAY, id="S1GRD")),
    ),
    Case(
        "fusion_urban_s1_s2.js",
        "fusion S1+S2",
        (
            _input("sentinel-2-l2a", MAY, id="S2L1C"),
            _input("sentinel-1-grd", MAY, id="S1GRD", processing={"orthorectify": True}),
            _input("sentinel-2-l2a", MAY, id="S2L2A"),
        ),
    ),
]
# Scripts expected to fail, with the reason (the failure is asserted, so this list may only shrink).
KNOWN_FAILURES: dict[str, str] = {}


def _outputs(name: str) -> list[tuple[str, int | None]]:
    """(output id, band count or None when the script decides) per output, from INDEX.tsv."""
    declared = INDEX[name]["outputs"]
    if "simple-script" in declared or "dynamically" in declared:
        return [("default", None)]
    return [(part.split(":")[0], int(part.split(":")[1].split("/")[0])) for part in declared.split(" ")[0].split(";")]


def _evalscript(case: Case) -> str:
    source = (CORPUS / case.script).read_text(encoding="utf-8")
    for fixed, demo in case.dates.items():
        assert fixed in source, f"{case.script} no longer selects {fixed}"
        source = source.replace(fixed, demo)
    return source


def _body(case: Case) -> dict:
    return {
        "processRequest": {
            "input": {
                "bounds": {"bbox": AREA, "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                "data": [dict(entry) for entry in case.data],
            },
            "output": {
                "responses": [{"identifier": out, "format": {"type": "image/tiff"}} for out, _ in _outputs(case.script)]
            },
            "evalscript": _evalscript(case),
        },
        "tilingGrid": {"id": 0, "resolution": 60.0},
        "output": {"defaultTilePath": "s3://corpus/<requestId>/<tileName>/<outputId>.<format>"},
        "description": case.id,
    }


@dataclass
class Live:
    settings: Settings
    client: EobatchClient
    submitted: dict[str, str]  # case id -> request id, or "error: ..." when creation failed


@pytest.fixture(scope="module")
def live(all_demo_levels: Settings) -> Iterator[Live]:
    settings = all_demo_levels
    service = Service(settings, port=free_port())
    with service.database.session() as session:
        _account, client_id, secret = create_account(session, "corpus", settings, allowed_buckets=["corpus"])
    service.start_in_thread()
    client = EobatchClient(service.url, Credentials(client_id, secret), timeout=120)
    submitted = {}
    try:
        for case in CASES:
            try:
                created = client.create(_body(case))
                client.action(created["id"], "start")
                submitted[case.id] = created["id"]
            except Exception as exc:  # reported per case below
                submitted[case.id] = f"error: {exc}"
        yield Live(settings, client, submitted)
    finally:
        client.close()
        service.stop()


def _wait(client: EobatchClient, request_id: str, timeout: float = 600.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(request_id)
        if status["status"] in FINISHED or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def _failure(live: Live, case: Case) -> str | None:
    """None when the request finished DONE, else why not (creation error, or the failed tiles' reasons)."""
    request_id = live.submitted[case.id]
    if request_id.startswith("error: "):
        return request_id
    status = _wait(live.client, request_id)
    if status["status"] == "DONE":
        return None
    reasons = {t.get("errorMessage") or "" for t in live.client.tiles(request_id, "FAILED")}
    return f"{status['status']}: {'; '.join(sorted(reasons)) or status.get('error') or 'no reason given'}"


def _check_outputs(live: Live, case: Case, request_id: str) -> None:
    folder = live.settings.buckets_dir / "corpus" / request_id
    tiles = sorted(p for p in folder.iterdir() if p.is_dir())
    assert len(tiles) == 2, tiles  # one tile per UTM zone
    for output, bands in _outputs(case.script):
        seen = []
        for tile in tiles:
            with rasterio.open(tile / f"{output}.tif") as dataset:
                assert bands is None or dataset.count == bands
                seen.append(dataset.read())
        values = np.concatenate([v.ravel() for v in seen]).astype(np.float64)
        finite = values[np.isfinite(values)]
        assert finite.size and np.ptp(finite) > 0, f"{case.script} {output}: no varying finite values"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_corpus_script_runs_through_the_api_on_its_demo_collection(live: Live, case: Case):
    failure = _failure(live, case)
    if case.script in KNOWN_FAILURES:
        RESULTS[case.label][case.script] = f"fails as expected: {KNOWN_FAILURES[case.script]}"
        assert failure is not None
        return
    RESULTS[case.label][case.script] = "ran" if failure is None else failure
    assert failure is None, failure
    _check_outputs(live, case, live.submitted[case.id])


def test_every_script_of_the_new_collections_is_a_case():
    served = {"DEM", "S1GRD", "L8L1C", "L8"}
    wanted = {n for n, r in INDEX.items() if r["datasource"] in served or r["datasource"].startswith("fusion:")}
    assert wanted == {c.script for c in CASES}


@pytest.mark.parametrize(
    ("entry", "parameter"),
    [
        (_input("sentinel-1-grd", DEMO_RANGE, processing={"backCoeff": "GAMMA0_TERRAIN"}), "processing.backCoeff"),
        (
            _input("sentinel-1-grd", dataFilter={"timeRange": DEMO_RANGE, "mosaickingOrder": "leastCC"}),
            "mosaickingOrder",
        ),
        (_input("dem", processing={"egm": True}), "processing.egm"),
        (_input("landsat-ot-l1"), "timeRange"),
    ],
)
def test_bad_collection_options_are_refused_with_a_400(live: Live, entry: dict, parameter: str):
    from eobatch.client import ApiError

    case = Case("dem_dem-color.js", "dem", (entry,))
    with pytest.raises(ApiError) as caught:
        live.client.create(_body(case))
    assert caught.value.status == 400
    errors = caught.value.body["error"].get("errors") or []
    assert (
        any(parameter in str(e.get("parameter", "")) for e in errors)
        or parameter in caught.value.body["error"]["message"]
    ), caught.value.body


# input.data entries exactly as sentinelhub-py 3.12 builds them for its DataCollection constants
# (SENTINEL1_IW_DES, LANDSAT_OT_L1, LANDSAT_OT_L2, DEM, DEM_COPERNICUS_30), with the band each script reads.
SENTINELHUB_PY_INPUTS = [
    (
        {
            "type": "sentinel-1-grd",
            "dataFilter": {
                "timeRange": MAY,
                "acquisitionMode": "IW",
                "polarization": "DV",
                "resolution": "HIGH",
                "orbitDirection": "DESCENDING",
            },
            "processing": {"backCoeff": "SIGMA0_ELLIPSOID"},
        },
        "VV",
    ),
    ({"type": "landsat-ot-l1", "dataFilter": {"timeRange": MAY}}, "B10"),
    ({"type": "landsat-ot-l2", "dataFilter": {"timeRange": MAY}}, "B10"),
    ({"type": "dem"}, "DEM"),
    ({"type": "dem", "dataFilter": {"demInstance": "COPERNICUS_30"}}, "DEM"),
]


@pytest.mark.parametrize(("entry", "band"), SENTINELHUB_PY_INPUTS, ids=lambda v: str(v)[:40])
def test_sentinelhub_py_collection_constants_are_accepted(live: Live, entry: dict, band: str):
    body = _body(Case("dem_dem-color.js", "dem", (entry,)))
    setup = f'function setup() {{ return {{input: ["{band}"], output: {{bands: 1, sampleType: "FLOAT32"}}}}; }}'
    body["processRequest"]["evalscript"] = f"//VERSION=3\n{setup}\nfunction evaluatePixel(s) {{ return [s.{band}]; }}\n"
    created = live.client.create(body)
    assert created["status"] == "CREATED"
    live.client.action(created["id"], "analyse")
    deadline = time.monotonic() + 300
    status = live.client.get(created["id"])
    while status["status"] not in ("ANALYSIS_DONE", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.2)
        status = live.client.get(created["id"])
    assert status["status"] == "ANALYSIS_DONE", status
