"""Batch collections as inputs (`input.data[].type` = `batch-<id>`): a `Collection` whose bands are the
collection's output identifiers and whose scenes are its registered tiles, one single-band COG per band.

The tiles live in the database, which only the API and the scheduler reach: the scheduler loads a
request's batch inputs (`remember_tiles`) before it analyses the request or dispatches its tiles, and
workers get each tile's scenes with the task. The COGs are read through the service's own output store
like any other COG source (any CRS, reprojected onto the tile grid); `dataMask` comes from their nodata.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from shapely.geometry import shape

from eobatch.collections.bands import BandSpec, data_mask_band
from eobatch.collections.collection import STATIC_RANGE, Collection
from eobatch.collections.scene import Scene
from eobatch.collections.scene_index import SceneIndex
from eobatch.domain.batch_collections import CollectionTile, batch_collection_id
from eobatch.errors import BadRequest
from eobatch.storage.access import StoreAccess

NOMINAL_RESOLUTION = 10.0  # for cost figures only: reads use each COG's own geotransform

_TILES: dict[str, tuple[Scene, ...]] = {}
_RANGES: dict[str, dict[str, tuple[dt.datetime, dt.datetime]]] = {}
_LOCK = threading.Lock()


def scene_of(tile: CollectionTile) -> Scene:
    """A registered tile as a scene: its files by band, its footprint, acquired at the end of its range."""
    return Scene(
        id=f"{tile.request_id}/{tile.name}",
        datetime=tile.time_to,
        cloud_cover=None,
        assets=dict(tile.assets),
        footprint_wgs84=shape(tile.footprint),
        epsg=tile.epsg,
    )


def remember_tiles(collection_id: str, tiles: Iterable[CollectionTile]) -> None:
    """Keep a collection's registered tiles in this process (the scheduler, from the database)."""
    tiles = list(tiles)
    scenes = tuple(scene_of(t) for t in tiles)
    ranges = {f"{t.request_id}/{t.name}": (t.time_from, t.time_to) for t in tiles}
    with _LOCK:
        _TILES[collection_id] = scenes
        _RANGES[collection_id] = ranges


def forget_tiles(collection_id: str) -> None:
    with _LOCK:
        _TILES.pop(collection_id, None)
        _RANGES.pop(collection_id, None)


class RegisteredTiles:
    """The scene source of a batch collection: its registered tiles, as loaded by `remember_tiles`.
    A tile matches a time range when its own range (the writing request's) overlaps it."""

    def __init__(self, collection_id: str):
        self.collection_id = collection_id

    def describe(self) -> str:
        return f"batch collection {self.collection_id}"

    def search(self, bands, harmonize, area_wgs84, time_from, time_to, max_cloud_coverage) -> list[Scene]:
        with _LOCK:
            scenes = _TILES.get(self.collection_id)
            ranges = _RANGES.get(self.collection_id, {})
        if scenes is None:
            raise BadRequest(
                f"batch collection {self.collection_id} was not found (or its tiles were not loaded in this process)"
            )
        overlapping = [s for s in scenes if _overlaps(ranges.get(s.id), time_from, time_to)]
        found = SceneIndex(overlapping).search(area_wgs84, *STATIC_RANGE, max_cloud_coverage)
        return sorted(found, key=lambda s: (-s.datetime.timestamp(), s.id))


def _overlaps(span: tuple[dt.datetime, dt.datetime] | None, start: dt.datetime, end: dt.datetime) -> bool:
    return span is not None and span[0] <= end and span[1] >= start


def batch_bands(specs: Sequence[Any]) -> dict[str, BandSpec]:
    """One band per output identifier (values as written: scale 1, unit DN), plus dataMask."""
    bands = {
        s.name: BandSpec(
            name=s.name,
            asset_keys=(s.name,),
            resolution=NOMINAL_RESOLUTION,
            scale=1.0,
            offset=0.0,
            nodata=s.no_data,
            unit="DN",
            source_format=s.sample_type,
        )
        for s in specs
    }
    bands["dataMask"] = data_mask_band(NOMINAL_RESOLUTION)
    return bands


class BatchInputCollection(Collection):
    """A `Collection` over a batch collection; `source_bands` are the specs its bands were made from."""

    source_bands: tuple[Any, ...] = ()


def batch_collection(type_: str, specs: Sequence[Any], access: StoreAccess) -> BatchInputCollection:
    """The `Collection` of a `batch-<id>` type with these bands (`CollectionBand` or `CollectionBandSpec`)."""
    collection_id = batch_collection_id(type_) or type_
    collection = BatchInputCollection(
        type_,
        batch_bands(specs),
        RegisteredTiles(collection_id),
        title=f"batch collection {collection_id}",
        access=access,
    )
    collection.source_bands = tuple(specs)
    return collection


def with_batch_inputs(registry: Any, inputs: Sequence[Any], settings: Any) -> Any:
    """`registry` with a collection for each `batch-<id>` input of a plan (its bands travel in the plan)."""
    from eobatch.collections.registry import CollectionRegistry
    from eobatch.storage.access import output_store_access

    extra = [
        batch_collection(d.type, d.bands, output_store_access(settings))
        for d in inputs
        if batch_collection_id(d.type) and d.bands
    ]
    return registry.merged(CollectionRegistry(extra)) if extra else registry
