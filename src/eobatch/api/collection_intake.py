"""`output.createCollection` / `output.collectionId` of a v1 create body, and the collections a request
uses (batch-api.md §3.9, docs/collections.md "Batch collections").

At parse time (no database): every response must be a single-band GeoTIFF, written as a COG (implied;
an explicit `cogOutput: false` is refused); the bands come from the evalscript's setup(). At create time
(in the create transaction): a `createCollection` request creates its collection in the bucket its
outputs go to; a `collectionId` must be the account's own collection in that bucket with the same bands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eobatch.api.intake import Intake, fail, parse_cog_parameters
from eobatch.domain.batch_collections import (
    BYOC_PREFIX,
    BatchCollection,
    CollectionBand,
    band_mismatch,
)
from eobatch.domain.plan import JSON, TIFF, BatchPlan, CogParameters, CollectionBandSpec, CollectionTarget, Output
from eobatch.errors import NotFound
from eobatch.settings import Settings
from eobatch.storage.paths import split_s3_url
from eobatch.store.batch_collections import AccountCollections

PARAMETER = "output.createCollection"


def wants_collection(output: Any) -> bool:
    return isinstance(output, dict) and bool(output.get("createCollection") or output.get("collectionId"))


def collection_part(
    output: dict[str, Any],
    outputs: Sequence[Output],
    cog: CogParameters | None,
    evalscript: str,
    *,
    stored: bool,
    settings: Settings,
) -> tuple[CollectionTarget, CogParameters]:
    """The collection a request writes into and its COG settings; BadRequest unless every output is a
    single-band GeoTIFF (checked against the evalscript's setup() unless converting a stored request)."""
    collection_id = output.get("collectionId")
    if collection_id is not None and (not isinstance(collection_id, str) or not collection_id):
        raise fail("output.collectionId", f"must be the id of a batch collection, got {collection_id!r}")
    if collection_id and output.get("createCollection"):
        raise fail(PARAMETER, "give createCollection or collectionId, not both")
    if output.get("createCollection") not in (None, True, False):
        raise fail(PARAMETER, f"must be true or false, got {output.get('createCollection')!r}")
    parameter = "output.collectionId" if collection_id else PARAMETER
    if output.get("cogOutput") is False:
        raise fail("output.cogOutput", "results added to a batch collection are always COGs; leave cogOutput out")
    for o in outputs:
        if o.format != TIFF:
            kind = "the userdata JSON" if o.format == JSON else f"{o.id!r} as {o.format}"
            raise fail(parameter, f"a batch collection takes single-band image/tiff outputs only; {kind} is not")
    specs = {}
    if not stored:
        from eobatch.api.output_checks import script_outputs

        specs = {s.id: s for s in script_outputs(evalscript, settings)}
        for o in outputs:
            spec = specs.get(o.id)
            if spec is not None and spec.bands != 1:
                raise fail(
                    parameter,
                    f"a batch collection takes single-band outputs only; output {o.id!r} has {spec.bands} bands",
                )
    bands = tuple(
        CollectionBandSpec(
            name=o.id,
            sample_type=(specs[o.id].sample_type.upper() if o.id in specs else "FLOAT32"),
            no_data=specs[o.id].nodata_value if o.id in specs else None,
        )
        for o in outputs
    )
    target = CollectionTarget(id=output.get("collectionId") or None, bands=bands)
    return target, cog or parse_cog_parameters(output.get("cogParameters"))


def _bucket(plan: BatchPlan) -> str:
    buckets = {split_s3_url(o.destination.path)[0] for o in plan.outputs}
    if len(buckets) != 1:
        raise fail(PARAMETER, f"a batch collection's files are in one bucket; the outputs go to {sorted(buckets)}")
    return buckets.pop()


def attach_collection(collections: AccountCollections, intake: Intake) -> Intake:
    """Create the collection of a `createCollection` request (named after the request's description), or
    check its `collectionId`; the intake with the collection's id in its plan and in the echoed `output`."""
    from dataclasses import replace

    target = intake.plan.collection
    if target is None:
        return intake
    bucket = _bucket(intake.plan)
    bands = tuple(CollectionBand(b.name, b.sample_type, b.no_data) for b in target.bands)
    grid_id = getattr(intake.plan.tiling, "grid_id", None)
    if target.id is None:
        name = intake.echo.description or "batch collection"
        created = collections.create(name[:200], bucket, bands=bands, tiling_grid_id=grid_id)
        collection_id = created.id
    else:
        collection_id = target.id
        try:
            existing = collections.get(collection_id)
        except NotFound as exc:
            raise fail("output.collectionId", f"batch collection {collection_id} not found") from exc
        if existing.s3_bucket != bucket:
            raise fail(
                "output.collectionId",
                f"batch collection {collection_id} is in bucket {existing.s3_bucket}; the outputs go to {bucket}",
            )
        why = band_mismatch(existing.bands, bands)
        if why:
            raise fail("output.collectionId", f"the outputs cannot be added to batch collection {collection_id}: {why}")
        collections.set_bands(collection_id, bands)
    plan = intake.plan.model_copy(update={"collection": target.model_copy(update={"id": collection_id})})
    output = dict(intake.echo.output or {})
    output["collectionId"] = collection_id
    return replace(intake, plan=plan, echo=replace(intake.echo, output=output))


def input_collections(found: Sequence[BatchCollection], settings: Any) -> tuple[Any, ...]:
    """The account's batch collections that have bands (`found`), as `Collection`s intake can look up by type."""
    from eobatch.collections.batch import batch_collection
    from eobatch.storage.access import output_store_access

    access = output_store_access(settings)
    types = [(c, t) for c in found for t in (c.type, f"{BYOC_PREFIX}{c.id}")]  # batch-<id>, and byoc-<id> too
    return tuple(batch_collection(t, c.bands, access) for c, t in types)


def bind_inputs(intake: Intake, collections: Sequence[Any]) -> Intake:
    """Put each `batch-<id>` input's bands (as its collection has them now) into the plan."""
    from dataclasses import replace

    bands = {c.type: c.source_bands for c in collections}
    if not any(d.type in bands for d in intake.plan.inputs):
        return intake
    inputs = tuple(
        d.model_copy(
            update={
                "bands": tuple(
                    CollectionBandSpec(name=b.name, sample_type=b.sample_type, no_data=b.no_data) for b in bands[d.type]
                )
            }
        )
        if d.type in bands
        else d
        for d in intake.plan.inputs
    )
    return replace(intake, plan=intake.plan.model_copy(update={"inputs": inputs}))
