"""The v2 files the engine writes besides the tiles (docs/v2.md, "Engine hooks"):

* at the end of an analysis, `featureManifest-<requestId>.gpkg` in the output root, written with the
  request's delivery credentials; it is the real write that proves those credentials may write there,
  so a failure fails the analysis with a message naming the URL (and nothing else is written);
* for Zarr output, then, the Zarr group with its coordinate and (empty) data arrays;
* while processing and when the request settles, `execution-<requestId>.sqlite`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from eobatch.errors import BadRequest, EobatchError, Violation
from eobatch.settings import Settings
from eobatch.store.work import RequestSnapshot


def delivery_keys(credentials: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The delivery part of a request's stored credentials (the GeoPackage source's keys left out)."""
    if not credentials:
        return None
    return {k: v for k, v in credentials.items() if k != "features"} or None


def _responses(request: RequestSnapshot) -> list[dict[str, Any]]:
    output = request.process_request.get("output") or {}
    return list(output.get("responses") or [{"identifier": "default"}])


def prepare_v2_outputs(
    request: RequestSnapshot, settings: Settings, tiles: Sequence[tuple[Any, Any]], geometries: Mapping[int, Any] | None
) -> str:
    """Upload the feature manifest (BadRequest naming the URL when the credentials cannot write there),
    then create the Zarr group of a Zarr request. Returns the manifest's URL."""
    from eobatch.artifacts import manifest_entries, upload_feature_manifest, zarr_group_url
    from eobatch.processing.outputs import EXTENSIONS, response_format
    from eobatch.storage import ObjectStorage

    output = request.output or {}
    template = output.get("defaultTilePath")
    if not template:
        raise BadRequest("output.delivery.s3.url is missing; cannot write the feature manifest")
    responses = _responses(request)
    zarr_settings = output.get("zarr")
    if zarr_settings is not None:
        entry_template = f"{zarr_group_url(template, request.id)}/<outputId>"
        outputs = [(str(r.get("identifier", "default")), "zarr") for r in responses]
    else:
        entry_template = template
        outputs = [(str(r.get("identifier", "default")), EXTENSIONS.get(response_format(r), "tif")) for r in responses]
    storage = ObjectStorage(settings, delivery_keys(request.delivery_credentials))
    entries = manifest_entries(request.id, tiles, outputs, entry_template, geometries)
    url = upload_feature_manifest(storage, template, request.id, entries)
    if zarr_settings is not None:
        create_zarr_group(request, settings, [t for t, _ in tiles], [o for o, _ in outputs], zarr_settings)
    return url


def create_zarr_group(
    request: RequestSnapshot,
    settings: Settings,
    tiles: Sequence[Any],
    array_names: Sequence[str],
    zarr_settings: Mapping[str, Any],
) -> str:
    """Lay out the request's Zarr group over the union of its tiles; returns the group's URL.

    The `time` coordinate is the start of the first input's timeRange.
    """
    from eobatch.artifacts import ZarrOutput, array_specs, geometry_for_tiles, zarr_group_url, zarr_store
    from eobatch.storage import S3Credentials

    url = zarr_group_url(request.output["defaultTilePath"], request.id)
    epsgs = sorted({t.epsg for t in tiles})
    if len(epsgs) != 1 or request.resolution is None:
        raise BadRequest(f"Zarr output needs tiles in a single CRS on a tiling grid; the tiles are in EPSG {epsgs}")
    group = dict(zarr_settings.get("group") or {})
    origin = (group.get("coordinates") or {}).get("origin", "topLeft")
    geometry = geometry_for_tiles(epsgs[0], request.resolution, [tuple(t.bounds) for t in tiles], origin=origin)
    credentials = S3Credentials.from_delivery(request.delivery_credentials)
    try:
        ZarrOutput.create(
            zarr_store(url, settings, credentials),
            geometry,
            array_specs(zarr_settings, array_names),
            time=_time_from(request),
            group_attributes=group.get("customAttributes") or {},
            zarr_format=int(group.get("zarr_format", 2)),
        )
    except EobatchError:
        raise
    except Exception as exc:  # the store refused or failed
        message = f"Cannot create the Zarr group at {url}: {type(exc).__name__}: {exc}"
        raise BadRequest(message, [Violation("output.delivery.s3", message)]) from exc
    return url


def _time_from(request: RequestSnapshot) -> datetime | None:
    data = (request.process_request.get("input") or {}).get("data") or []
    value = (((data[0] if data else {}).get("dataFilter") or {}).get("timeRange") or {}).get("from")
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def upload_execution_db(
    uploads: Any, request: RequestSnapshot, settings: Settings, tiles: Any, *, final: bool
) -> str | None:
    """`ExecutionDbUploads.upload_if_due` for a v2 request, with its delivery credentials; the URL or None."""
    from eobatch.storage import ObjectStorage

    template = (request.output or {}).get("defaultTilePath")
    if not request.is_v2 or not template:
        return None
    storage = ObjectStorage(settings, delivery_keys(request.delivery_credentials))
    return uploads.upload_if_due(storage, template, request.id, tiles, final=final)
