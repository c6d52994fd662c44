"""Batch collections (v1 `/api/v1/batch/collections`): the typed views the store hands out, and the pure
rules of what a collection holds.

A batch collection belongs to one account. Its bands are the output identifiers of the requests that
write into it (single-band COG GeoTIFFs); each processed tile of such a request is registered with its
files' hrefs, footprint, CRS and the request's time range, so a later request can read the collection as
`batch-<id>`. Pure: dataclasses and string work only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eobatch.domain.plan import BatchPlan

BATCH_PREFIX = "batch-"
BYOC_PREFIX = "byoc-"

# sampleType -> (bitDepth, sampleFormat) as Sentinel Hub describes collection bands
SAMPLE_FORMATS = {
    "UINT8": (8, "UINT"),
    "UINT16": (16, "UINT"),
    "INT16": (16, "INT"),
    "FLOAT32": (32, "FLOAT"),
    "AUTO": (8, "UINT"),
}


@dataclass(frozen=True)
class CollectionBand:
    """One band of a collection: an output identifier, its sample type and nodata value."""

    name: str
    sample_type: str = "FLOAT32"
    no_data: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sampleType": self.sample_type, "noData": self.no_data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CollectionBand:
        return cls(str(data["name"]), str(data.get("sampleType") or "FLOAT32"), data.get("noData"))


@dataclass(frozen=True)
class BatchCollection:
    """A batch collection as the API shows it (no ORM row leaves the store)."""

    id: str
    account_id: str
    name: str
    s3_bucket: str
    bands: tuple[CollectionBand, ...]
    created: datetime
    tiling_grid_id: int | None
    tile_count: int

    @property
    def type(self) -> str:
        """The `input.data[].type` that reads this collection."""
        return collection_type(self.id)

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bands)


@dataclass(frozen=True)
class CollectionTile:
    """One registered tile: where its files are and what it covers."""

    request_id: str
    tile_id: int
    name: str
    epsg: int
    bounds: tuple[float, float, float, float]  # in EPSG:epsg
    footprint: dict[str, Any]  # GeoJSON, WGS84
    time_from: datetime
    time_to: datetime
    assets: dict[str, str]  # band (output id) -> file href


@dataclass(frozen=True)
class CollectionUse:
    """How a request uses a collection: it writes into it (`output`) or reads it (`input`)."""

    collection_id: str
    role: str  # output | input


def collection_type(collection_id: str) -> str:
    return f"{BATCH_PREFIX}{collection_id}"


def batch_collection_id(input_type: str) -> str | None:
    """The collection id of a `batch-<id>` input type, or of `byoc-<id>` when the id is a UUID (as
    sentinelhub-py's `BatchCollection.to_data_collection()` names it), else None."""
    if input_type.startswith(BATCH_PREFIX):
        return input_type[len(BATCH_PREFIX) :]
    if input_type.startswith(BYOC_PREFIX) and is_uuid(input_type[len(BYOC_PREFIX) :]):
        return input_type[len(BYOC_PREFIX) :]
    return None


def is_uuid(text: str) -> bool:
    """True for a lower-case 8-4-4-4-12 hexadecimal UUID (the ids eobatch gives collections)."""
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(c in "0123456789abcdef" for c in "".join(parts))


def uses_of(plan: BatchPlan) -> list[CollectionUse]:
    """The collections a plan writes into and reads."""
    uses = [CollectionUse(plan.collection.id, "output")] if plan.collection and plan.collection.id else []
    for data in plan.inputs:
        collection_id = batch_collection_id(data.type)
        if collection_id:
            uses.append(CollectionUse(collection_id, "input"))
    return uses


def bands_for(outputs: list[tuple[str, str, float | None]]) -> tuple[CollectionBand, ...]:
    """The bands a request's outputs (id, sample type, nodata) give a collection."""
    return tuple(CollectionBand(i, s.upper(), n) for i, s, n in outputs)


def band_mismatch(have: tuple[CollectionBand, ...], new: tuple[CollectionBand, ...]) -> str | None:
    """Why outputs with bands `new` cannot be added to a collection that has `have` (None: they can)."""
    if not have:
        return None
    by_name = {b.name: b for b in have}
    if {b.name for b in new} != set(by_name):
        return f"the collection's bands are {sorted(by_name)}, the request's outputs are {sorted(b.name for b in new)}"
    for b in new:
        if by_name[b.name].sample_type != b.sample_type:
            return f"band {b.name} is {by_name[b.name].sample_type} in the collection, {b.sample_type} in the request"
    return None
