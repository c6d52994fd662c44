"""The v1 batch collection on the wire (batch-api.md §3.9): `BatchCollection` objects, the `{"data": ...}`
wrapping of single objects that sentinelhub-py's `get_collection`/`create_collection` unwrap, and the
parsing of create/update bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eobatch.domain.batch_collections import SAMPLE_FORMATS, BatchCollection
from eobatch.errors import BadRequest, Violation

MAX_NAME = 200


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def render_collection(c: BatchCollection) -> dict[str, Any]:
    """One collection as Sentinel Hub shows it; its bands are the outputs written into it."""
    bands = {}
    for index, band in enumerate(c.bands, start=1):
        bit_depth, sample_format = SAMPLE_FORMATS.get(band.sample_type, (32, "FLOAT"))
        bands[band.name] = {
            "bandIndex": index,
            "bitDepth": bit_depth,
            "sampleFormat": sample_format,
            "source": band.name,
            "noData": band.no_data,
        }
    return {
        "id": c.id,
        "accountId": c.account_id,
        "userId": c.account_id,
        "name": c.name,
        "s3Bucket": c.s3_bucket,
        "created": _iso(c.created),
        "batchData": {"tilingGridId": c.tiling_grid_id},
        "additionalData": {"bands": bands},
        "type": c.type,
        "tileCount": c.tile_count,
    }


def wrapped(c: BatchCollection) -> dict[str, Any]:
    """A single collection as GET and POST answer it: `{"data": {...}}`."""
    return {"data": render_collection(c)}


@dataclass(frozen=True)
class CollectionBody:
    """The fields of a create or update body eobatch uses (any other key is accepted and ignored)."""

    name: str | None
    s3_bucket: str | None
    tiling_grid_id: int | None


def _bad(parameter: str, message: str) -> BadRequest:
    return BadRequest(f"{parameter}: {message}", [Violation(parameter, message)])


def parse_collection_body(body: Any, *, creating: bool) -> CollectionBody:
    """Check a create (name and s3Bucket required) or update body; BadRequest naming the field."""
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object with name and s3Bucket")
    name, bucket = body.get("name"), body.get("s3Bucket")
    if creating and name is None:
        raise _bad("name", "is required")
    if creating and bucket is None:
        raise _bad("s3Bucket", "is required: the bucket the collection's files are in")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME):
        raise _bad("name", f"must be a non-empty string of at most {MAX_NAME} characters")
    if bucket is not None:
        from eobatch.storage.paths import split_s3_url

        if not isinstance(bucket, str) or "/" in bucket:
            raise _bad("s3Bucket", "must be a bucket name")
        try:
            split_s3_url(f"s3://{bucket}/")
        except BadRequest as exc:
            raise _bad("s3Bucket", exc.message) from exc
    grid = body.get("batchData")
    grid = {} if grid is None else grid
    if not isinstance(grid, dict):
        raise _bad("batchData", "must be an object")
    grid_id = grid.get("tilingGridId")
    if grid_id is not None and (isinstance(grid_id, bool) or not isinstance(grid_id, int)):
        raise _bad("batchData.tilingGridId", "must be an integer")
    if grid_id is not None:
        from eobatch import grids
        from eobatch.errors import EobatchError

        try:
            grids.get_grid(grid_id)
        except EobatchError as exc:  # an unknown grid
            raise _bad("batchData.tilingGridId", f"no tiling grid {grid_id}") from exc
    return CollectionBody(name.strip() if isinstance(name, str) else None, bucket, grid_id)
