"""Shared pieces of the API tests: a valid create body, live servers, and direct database helpers."""

from __future__ import annotations

import copy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from eobatch.store.db import Database
from eobatch.store.models import BatchRequest, LedgerEntry, Tile

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "UINT16"}};
}
function evaluatePixel(s) { return [s.B04, s.B03, s.B02]; }
"""

# a small field near Ljubljana: one or two tiles of grid 1 (10 km UTM)
POLYGON = {
    "type": "Polygon",
    "coordinates": [[[14.50, 46.05], [14.53, 46.05], [14.53, 46.07], [14.50, 46.07], [14.50, 46.05]]],
}

VALID_BODY: dict[str, Any] = {
    "processRequest": {
        "input": {
            "bounds": {"geometry": POLYGON},
            "data": [
                {
                    "type": "sentinel-2-l1c",
                    "dataFilter": {
                        "timeRange": {"from": "2024-04-01T00:00:00Z", "to": "2024-04-30T23:59:59Z"},
                        "maxCloudCoverage": 60,
                    },
                }
            ],
        },
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": EVALSCRIPT,
    },
    "tilingGrid": {"id": 1, "resolution": 10.0},
    "output": {"defaultTilePath": "s3://results/<requestId>/<tileName>/<outputId>.<format>"},
    "description": "field near Ljubljana",
}


def body(**changes: Any) -> dict[str, Any]:
    """A deep copy of the valid body with top-level keys replaced (None removes the key)."""
    result = copy.deepcopy(VALID_BODY)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def row_counts(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            m.__tablename__: session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (BatchRequest, Tile, LedgerEntry)
        }


def set_request(database: Database, request_id: str, **values: Any) -> None:
    with database.session() as session:
        row = session.get(BatchRequest, request_id)
        for key, value in values.items():
            setattr(row, key, value)


def add_tiles(database: Database, request_id: str, statuses: list[str], *, epsg: int = 32633) -> None:
    """Tiles as the engine's analysis would insert them (upper-left at x=450000+10000*i, y=5100000)."""
    with database.session() as session:
        request = session.get(BatchRequest, request_id)
        for i, status in enumerate(statuses):
            minx, maxy = 450000.0 + 10000 * i, 5100000.0
            session.add(
                Tile(
                    request_id=request_id,
                    account_id=request.account_id,
                    tile_id=1000 + i,
                    name=f"33TVM_{i}_0",
                    epsg=epsg,
                    minx=minx,
                    miny=maxy - 10000,
                    maxx=minx + 10000,
                    maxy=maxy,
                    width_px=1000,
                    height_px=1000,
                    geometry={
                        "type": "Polygon",
                        "coordinates": [[[14.0, 46.0], [14.1, 46.0], [14.1, 46.1], [14.0, 46.0]]],
                    },
                    status=status,
                    cost=3.81 if status == "PROCESSED" else None,
                    estimated_pu=3.81,
                    error="boom" if status == "FAILED" else None,
                )
            )
        request.tile_count = len(statuses)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
