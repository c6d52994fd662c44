"""Plans for requests stored before plans existed (Alembic migration 0007 converts every row with this).

The stored parts are what the request's create (and any v1 `PUT output`) accepted, so they are parsed
again without the checks that need the outside world (collections, buckets, GeoPackage, tile count).
"""

from __future__ import annotations

from typing import Any

from eobatch.api.intake import IntakeContext
from eobatch.api.v1.intake import parse_v1
from eobatch.api.v2.intake import parse_v2
from eobatch.settings import Settings


def plan_for_stored(row: dict[str, Any]) -> dict[str, Any]:
    """The plan (as JSON) of a stored `batch_requests` row given as a dict of its columns."""
    context = IntakeContext(Settings(), stored=True)
    if row.get("api_version") == "v2":
        return parse_v2(row["body"], context).plan.to_json()
    tiling_grid = row.get("tiling_grid") or {
        "id": row.get("grid_id"),
        "resolution": row.get("resolution"),
        "bufferX": row.get("buffer_x"),
        "bufferY": row.get("buffer_y"),
    }
    body = {
        "processRequest": row["process_request"],
        "tilingGrid": tiling_grid,
        "output": row.get("output"),
        "bucketName": row.get("bucket_name"),
    }
    return parse_v1(body, context).plan.to_json()
