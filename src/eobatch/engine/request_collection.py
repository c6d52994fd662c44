"""The engine hook that registers a finished request's processed tiles in its batch collection
(`plan.collection`, v1 `output.createCollection` / `output.collectionId`), next to engine/request_stac.py.

Each PROCESSED tile that wrote files is recorded with its files' hrefs by band (output identifier), its
footprint, CRS and the request's time range, so that a later request can read `batch-<id>`; this happens
in the transaction that settles the request. Tiles that cannot be read are logged and skipped; the
request's outcome never depends on them.
"""

from __future__ import annotations

import logging
from typing import Any

from eobatch.domain.batch_collections import CollectionTile
from eobatch.domain.plan import BatchPlan
from eobatch.store import batch_collections, work

log = logging.getLogger("eobatch.engine")
FINISHED_WITH_OUTPUTS = ("DONE", "PARTIAL")


def register_in_collection(session: Any, request_id: str, status: str) -> int | None:
    """Register a DONE or PARTIAL request's tiles in its collection, in the transaction that settles it
    (a client that sees DONE sees the tiles); how many, or None (not due, or they could not be read)."""
    if status not in FINISHED_WITH_OUTPUTS:
        return None
    try:
        request = work.load_request(session, request_id)
        plan = request.plan if request is not None else None
        if plan is None or plan.collection is None or plan.collection.id is None:
            return None
        rows = work.stac_tile_rows(session, request_id)
        tiles = [t for t in (_tile(request_id, plan, row) for row in rows) if t is not None]
    except Exception as exc:  # never let the registration change the request's outcome
        log.warning(
            "request %s: could not register its tiles in its collection: %s: %s", request_id, type(exc).__name__, exc
        )
        return None
    count = batch_collections.register_tiles(session, plan.collection.id, tiles)
    log.info("request %s: %d tile(s) registered in batch collection %s", request_id, count, plan.collection.id)
    return count


def _tile(request_id: str, plan: BatchPlan, row: Any) -> CollectionTile | None:
    """A PROCESSED tile with every band's file, else None."""
    from eobatch.storage.paths import render_tile_path

    if row.status != "PROCESSED" or not row.outputs:
        return None
    written = set(row.outputs)
    assets = {}
    for output in plan.outputs:
        url = render_tile_path(
            output.destination.path,
            request_id=request_id,
            tile_name=row.name,
            tile_id=row.tile_id,
            output_id=output.id,
            fmt=output.extension,
        )
        if url not in written:
            return None
        assets[output.id] = url
    return CollectionTile(
        request_id=request_id,
        tile_id=row.tile_id,
        name=row.name,
        epsg=row.epsg,
        bounds=(row.minx, row.miny, row.maxx, row.maxy),
        footprint=row.geometry,
        time_from=min(i.time_from for i in plan.inputs),
        time_to=max(i.time_to for i in plan.inputs),
        assets=assets,
    )


def load_batch_inputs(session: Any, request: work.RequestSnapshot | None) -> None:
    """Load the registered tiles of a request's `batch-<id>` inputs into this process (collections/batch.py),
    only from collections of the request's own account; a missing one is forgotten, so its search fails."""
    from eobatch.collections.batch import forget_tiles, remember_tiles
    from eobatch.domain.batch_collections import batch_collection_id
    from eobatch.errors import NotFound

    plan = request.plan if request is not None else None
    for data in plan.inputs if plan is not None else ():
        collection_id = batch_collection_id(data.type)
        if not collection_id:
            continue
        try:
            batch_collections.get_collection(session, request.account_id, collection_id)
        except NotFound:
            forget_tiles(collection_id)
            continue
        remember_tiles(collection_id, batch_collections.collection_tiles(session, collection_id))
