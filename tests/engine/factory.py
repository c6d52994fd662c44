"""Rows for engine tests, inserted directly through the models (no API, no grids)."""

from __future__ import annotations

import uuid
from typing import Any

from eobatch.store import ledger
from eobatch.store.db import Database
from eobatch.store.models import Account, BatchRequest, Tile
from tests.support.plans import tile_plan


def make_account(database: Database, pu: float = 10_000.0, name: str | None = None) -> str:
    account_id = str(uuid.uuid4())
    with database.session() as s:
        s.add(Account(id=account_id, name=name or f"acct-{account_id[:8]}"))
        s.flush()
        ledger.grant(s, account_id, pu)
    return account_id


def make_request(
    database: Database,
    account_id: str,
    n_tiles: int,
    *,
    output: dict[str, Any] | None = None,
    status: str = "PROCESSING",
    user_action: str = "START",
    reserve: float | None = 200.0,
    width_px: int = 256,
    tile_pu: float = 1.0,
) -> str:
    """A request with `n_tiles` PENDING tiles of `width_px` square (each estimated at `tile_pu` charged PU);
    in PROCESSING it holds `reserve` PU."""
    request_id = str(uuid.uuid4())
    with database.session() as s:
        request = BatchRequest(
            id=request_id,
            account_id=account_id,
            status=status,
            user_action=user_action,
            body={},
            process_request={"evalscript": "//VERSION=3"},
            output=output or {},
            plan=plan_json(output),
            delivery_credentials=_delivery_keys(output),
            grid_id=1,
            resolution=10.0,
            tile_count=n_tiles,
            tile_width_px=width_px,
            tile_height_px=width_px,
            cost_estimate={"high": float(reserve or 100.0)},
        )
        s.add(request)
        s.flush()
        s.add_all(
            [
                Tile(
                    request_id=request_id,
                    account_id=account_id,
                    tile_id=1000 + i,
                    name=f"T{i:04d}",
                    epsg=32633,
                    minx=i * 2560.0,
                    miny=0.0,
                    maxx=(i + 1) * 2560.0,
                    maxy=2560.0,
                    width_px=width_px,
                    height_px=width_px,
                    geometry={"type": "Point", "coordinates": [15.0, 0.0]},
                    estimated_pu=tile_pu,
                )
                for i in range(n_tiles)
            ]
        )
        if status == "PROCESSING" and reserve:
            ledger.reserve(s, request, reserve)
    return request_id


def _delivery_keys(output: dict[str, Any] | None) -> dict[str, Any] | None:
    """The delivery key pair of `output["delivery"]["s3"]`, stored apart from the plan as the API stores it."""
    s3 = ((output or {}).get("delivery") or {}).get("s3") or {}
    keys = {k: s3[k] for k in ("accessKey", "secretAccessKey") if k in s3}
    return keys or None


def plan_json(output: dict[str, Any] | None = None, evalscript: str = "//VERSION=3") -> dict[str, Any]:
    """The stored plan of a factory request: its outputs go to `output["defaultTilePath"]` or to
    `output["delivery"]["s3"]["url"]` when given."""
    output = output or {}
    wire = {"defaultTilePath": output.get("defaultTilePath") or "s3://out/<requestId>/<tileName>.<format>"}
    if "delivery" in output:  # a delivery URL (and its keys) takes the place of the default path
        wire = {"delivery": output["delivery"]}
    return tile_plan(evalscript=evalscript, output=wire)[0].to_json()
