"""The v2 files the engine writes besides the tiles (docs/v2.md, "Engine hooks"):

* at the end of an analysis, `featureManifest-<requestId>.gpkg` in the output root, written with the
  request's delivery credentials; it is the real write that proves those credentials may write there,
  so a failure fails the analysis with a message naming the URL (and nothing else is written);
* for Zarr output, then, the Zarr group with its coordinate and (empty) data arrays;
* while processing and when the request settles, `execution-<requestId>.sqlite`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eobatch.domain.plan import ZarrSettings
from eobatch.engine.keys import plan_of, storage_keys
from eobatch.errors import BadRequest, EobatchError, Violation
from eobatch.settings import Settings
from eobatch.store.work import RequestSnapshot


def prepare_v2_outputs(
    request: RequestSnapshot, settings: Settings, tiles: Sequence[tuple[Any, Any]], geometries: Mapping[int, Any] | None
) -> str:
    """Upload the feature manifest (BadRequest naming the URL when the credentials cannot write there),
    then create the Zarr group of a Zarr request. Returns the manifest's URL."""
    from eobatch.artifacts import manifest_entries, upload_feature_manifest, zarr_group_url
    from eobatch.storage import ObjectStorage

    plan = plan_of(request)
    template = plan.delivery.path
    if plan.zarr is not None:
        entry_template = f"{zarr_group_url(template, request.id)}/<outputId>"
        outputs = [(o.id, "zarr") for o in plan.outputs]
    else:
        entry_template = template
        outputs = [(o.id, o.extension) for o in plan.outputs]
    storage = ObjectStorage(settings, storage_keys(request, plan.delivery.credentials))
    entries = manifest_entries(request.id, tiles, outputs, entry_template, geometries)
    url = upload_feature_manifest(storage, template, request.id, entries)
    if plan.zarr is not None:
        create_zarr_group(request, settings, [t for t, _ in tiles], plan.zarr)
    return url


def create_zarr_group(request: RequestSnapshot, settings: Settings, tiles: Sequence[Any], zarr: ZarrSettings) -> str:
    """Lay out the request's Zarr group over the union of its tiles; returns the group's URL.

    The `time` coordinate is the start of the first input's time range.
    """
    from eobatch.artifacts import ZarrOutput, array_specs, geometry_for_tiles, zarr_group_url, zarr_store

    plan = plan_of(request)
    url = zarr_group_url(plan.delivery.path, request.id)
    epsgs = sorted({t.epsg for t in tiles})
    if len(epsgs) != 1 or plan.grid is None:
        raise BadRequest(f"Zarr output needs tiles in a single CRS on a tiling grid; the tiles are in EPSG {epsgs}")
    geometry = geometry_for_tiles(epsgs[0], plan.grid.resolution, [tuple(t.bounds) for t in tiles], origin=zarr.origin)
    try:
        ZarrOutput.create(
            zarr_store(url, settings, storage_keys(request, plan.delivery.credentials)),
            geometry,
            array_specs(zarr),
            time=plan.inputs[0].time_from,
            group_attributes=zarr.custom_attributes,
            zarr_format=zarr.zarr_format,
        )
    except EobatchError:
        raise
    except Exception as exc:  # the store refused or failed
        message = f"Cannot create the Zarr group at {url}: {type(exc).__name__}: {exc}"
        raise BadRequest(message, [Violation("output.delivery.s3", message)]) from exc
    return url


def upload_execution_db(
    uploads: Any, request: RequestSnapshot, settings: Settings, tiles: Any, *, final: bool
) -> str | None:
    """`ExecutionDbUploads.upload_if_due` for a v2 request, with its delivery credentials; the URL or None."""
    from eobatch.storage import ObjectStorage

    if not request.is_v2 or request.plan is None:
        return None
    delivery = request.plan.delivery
    storage = ObjectStorage(settings, storage_keys(request, delivery.credentials))
    return uploads.upload_if_due(storage, delivery.path, request.id, tiles, final=final)
