"""A v2 create body (batch-api.md §4.3) parsed into the same `BatchSpec` the v1 parser produces.

v1 and v2 are two views of one stored request: the v2 `input` becomes the tiling-grid fields (or a
GeoPackage feature list), `output.delivery.s3.url` becomes the default tile path, and the delivery
credentials are taken out of the echoed body (masked there) and kept apart for the writes.
Tolerated client quirks: `instance_type`, `arrayParameter` (singular), unknown keys.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from eobatch.domain import spec as v1
from eobatch.domain.spec import BatchSpec, fail
from eobatch.errors import BadRequest, NotFound
from eobatch.settings import Settings
from eobatch.storage.tenancy import own_credentials

MASK = "***"
SECRET_KEYS = ("accessKey", "secretAccessKey")
INPUT_TYPES = ("tiling-grid", "geopackage")
OUTPUT_TYPES = ("raster", "zarr")
INSTANCE_TYPES = ("normal", "large")
ZARR_GRIDS = (3, 4, 6, 7)  # WGS84 and LAEA grids
ZARR_FORMAT = "zarr/array"
ZARR_PLACEHOLDERS = ("<requestId>", "<taskId>")

#: fetches the GeoPackage of a `geopackage` input: (s3 url, the `features.s3` object) -> bytes
FetchFeatures = Callable[[str, dict[str, Any]], bytes]


@dataclass(frozen=True)
class V2Spec:
    """A parsed v2 body: the shared `spec` plus what only v2 says.

    `spec.body` is the echo with credentials masked; `credentials` is what goes into the
    `delivery_credentials` column: the delivery keys at the top level (as `S3Credentials.from_delivery`
    reads them) and the GeoPackage source's keys under "features".
    """

    spec: BatchSpec
    input_type: str
    output_type: str
    credentials: dict[str, Any] | None
    features: tuple[Any, ...] | None = None  # artifacts.Feature list for GeoPackage input
    zarr: dict[str, Any] | None = None  # {"group", "arrayParameters", "arrayOverrides"}


def parse_v2(
    body: Any,
    settings: Settings,
    *,
    allowed_buckets: Iterable[str] = (),
    fetch_features: FetchFeatures | None = None,
    max_features: int | None = None,
) -> V2Spec:
    """Parse and validate a `POST /api/v2/batch/process` body; BadRequest naming the first problem."""
    if body is None or body == {} or body == "":
        raise BadRequest("Request body should be non-empty.")
    if not isinstance(body, dict):
        raise fail("body", f"must be a JSON object, got {type(body).__name__}")
    body = normalise_quirks(body)
    process_request = body.get("processRequest")
    if not isinstance(process_request, dict) or not process_request:
        raise fail("processRequest", "is required: an object with input, output and evalscript")
    process_request = copy.deepcopy(process_request)
    source, output = body.get("input"), body.get("output")
    input_type = _kind(source, "input", INPUT_TYPES)
    output_type = _kind(output, "output", OUTPUT_TYPES)
    _check_instance_type(body.get("instanceType"))
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise fail("description", f"must be a string, got {description!r}")
    inputs = v1.parse_inputs(_with_input(process_request), settings)
    evalscript = v1.parse_evalscript(process_request)
    if output_type == "zarr":
        response_ids = _zarr_responses(process_request)
    else:
        response_ids, formats = v1.parse_responses(process_request)
        v1.check_cog_formats(output, response_ids, formats)
        v1.check_script_outputs(evalscript, process_request["output"]["responses"], output)
    delivery = _delivery(output, settings)
    with own_credentials(bool(_secrets(delivery))):  # tenancy claims apply to the service's own keys only
        template = _template(output_type, delivery["url"], response_ids, settings, allowed_buckets)
    buckets = v1.account_buckets(settings, allowed_buckets)
    v1.check_response_paths(process_request, buckets)
    v1.check_cog_parameters(output.get("cogParameters"), "output.cogParameters")
    credentials = _secrets(delivery)

    features = None
    if input_type == "tiling-grid":
        grid_fields = _tiling_grid(source, output_type)
        area = v1.parse_bounds(process_request)
        tile_count = v1.estimate_tile_count(grid_fields["grid_id"], area, settings.max_tiles_per_request)
    else:
        if output_type == "zarr":
            raise fail(
                "output.type",
                "Zarr output needs a tiling-grid input on a WGS84 or LAEA grid "
                f"(ids {', '.join(map(str, ZARR_GRIDS))}); GeoPackage input is not allowed",
            )
        features_s3 = _features_s3(source, settings, buckets)
        area = _optional_bounds(process_request)
        features = _read_features(features_s3, source.get("defaults"), fetch_features, settings, max_features)
        features = _features_in_area(features, area)
        if area is None:
            area = _features_area(features)
        grid_fields = {
            "tiling_grid": None,
            "grid_id": None,
            "resolution": None,
            "buffer_x": 0,
            "buffer_y": 0,
            "tile_width_px": None,
            "tile_height_px": None,
        }
        tile_count = len(features)
        if features_s3.get("accessKey") and features_s3.get("secretAccessKey"):
            credentials = {**(credentials or {}), "features": _secret_part(features_s3)}

    spec = BatchSpec(
        body=mask_secrets(body),
        process_request=process_request,
        tiling_grid=grid_fields["tiling_grid"],
        grid_id=grid_fields["grid_id"],
        resolution=grid_fields["resolution"],
        buffer_x=grid_fields["buffer_x"],
        buffer_y=grid_fields["buffer_y"],
        output=v1_output(output, template),
        bucket_name=None,
        description=description,
        output_template=template,
        response_ids=response_ids,
        inputs=inputs,
        evalscript=evalscript,
        area_wgs84=area,
        tile_count=tile_count,
        tile_width_px=grid_fields["tile_width_px"],
        tile_height_px=grid_fields["tile_height_px"],
    )
    zarr = None
    if output_type == "zarr":
        zarr = _zarr_settings(output, response_ids, spec)
    return V2Spec(spec, input_type, output_type, credentials, tuple(features) if features else None, zarr)


def normalise_quirks(body: dict[str, Any]) -> dict[str, Any]:
    """Fold sentinelhub-py quirks into the documented keys: `instance_type` -> `instanceType`,
    `output.arrayParameter` -> `output.arrayParameters` (the echo shows the documented names)."""
    body = copy.deepcopy(body)
    if "instance_type" in body:
        value = body.pop("instance_type")
        body.setdefault("instanceType", value)
    output = body.get("output")
    if isinstance(output, dict) and "arrayParameter" in output:
        value = output.pop("arrayParameter")
        output.setdefault("arrayParameters", value)
    return body


def mask_secrets(value: Any) -> Any:
    """A deep copy with every accessKey / secretAccessKey value replaced by "***"."""
    if isinstance(value, dict):
        return {k: (MASK if k in SECRET_KEYS and v else mask_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return copy.deepcopy(value)


def v1_output(output: dict[str, Any], template: str) -> dict[str, Any]:
    """The v1 view of a v2 output (stored in the `output` column): defaultTilePath and flags, no secrets."""
    view = {"type": output["type"], "defaultTilePath": template}
    for key in ("overwrite", "skipExisting", "cogOutput", "cogParameters"):
        if output.get(key) is not None:
            view[key] = copy.deepcopy(output[key])
    return view


def engine_output(stored_output: dict[str, Any] | None, delivery_credentials: dict[str, Any] | None) -> dict[str, Any]:
    """The output settings a worker needs for a v2 request: the stored v1 view plus `delivery.s3` with
    the request's keys, as `processing.outputs.OutputSettings.parse` reads them. Never store or echo it."""
    out = dict(stored_output or {})
    s3 = {"url": out.get("defaultTilePath")}
    for key in ("accessKey", "secretAccessKey", "region", "iamRoleARN"):
        if (delivery_credentials or {}).get(key):
            s3[key] = delivery_credentials[key]
    out["delivery"] = {"s3": s3}
    return out


def _kind(value: Any, parameter: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, dict):
        raise fail(parameter, f"is required: an object with type {' or '.join(allowed)}")
    kind = value.get("type")
    if kind not in allowed:
        raise fail(f"{parameter}.type", f"type {kind!r} is not supported; allowed: {', '.join(allowed)}")
    return str(kind)


def _check_instance_type(value: Any) -> None:
    if value is not None and (not isinstance(value, str) or value.lower() not in INSTANCE_TYPES):
        raise fail("instanceType", f"instanceType {value!r} is not supported; allowed: {', '.join(INSTANCE_TYPES)}")


def _with_input(process_request: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(process_request.get("input"), dict):
        raise fail("processRequest.input", "is required: an object with data (and bounds for tiling-grid input)")
    return process_request


def _tiling_grid(source: dict[str, Any], output_type: str) -> dict[str, Any]:
    if "features" in source:
        raise fail(
            "input",
            "give either a tiling-grid input or a geopackage input, not both (a tiling-grid input has no 'features')",
        )
    from eobatch import grids

    echo = {k: source[k] for k in ("id", "resolution", "bufferX", "bufferY") if source.get(k) is not None}
    grid = grids.grid_for_request(source.get("id"), "input.id")
    resolution = grids.check_resolution(grid, source.get("resolution"), "input.resolution")
    buffers = []
    for key in ("bufferX", "bufferY"):
        value = source.get(key) or 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= v1.MAX_BUFFER_PX:
            raise fail(
                f"input.{key}",
                f"must be an integer number of pixels from 0 to {v1.MAX_BUFFER_PX}, got {source.get(key)!r}",
            )
        buffers.append(value)
    v1.check_tile_size(grid, resolution, buffers[0], buffers[1], "input")
    if output_type == "zarr":
        if grid.id not in ZARR_GRIDS:
            raise fail(
                "input.id",
                f"Zarr output supports only the WGS84 and LAEA grids "
                f"(ids {', '.join(map(str, ZARR_GRIDS))}); grid {grid.id} ({grid.name}) is not one",
            )
        if any(buffers):
            raise fail("input.bufferX", "Zarr output needs bufferX = bufferY = 0: buffered tiles would overlap")
    return {
        "tiling_grid": echo,
        "grid_id": grid.id,
        "resolution": resolution,
        "buffer_x": buffers[0],
        "buffer_y": buffers[1],
        "tile_width_px": round(grid.tile_width / resolution),
        "tile_height_px": round(grid.tile_height / resolution),
    }


def _features_s3(source: dict[str, Any], settings: Settings, buckets: list[str]) -> dict[str, Any]:
    from eobatch.storage.tenancy import check_destination

    if "id" in source or "resolution" in source:
        raise fail(
            "input",
            "give either a tiling-grid input or a geopackage input, not both "
            "(a geopackage input has no id or resolution)",
        )
    s3 = (source.get("features") or {}).get("s3") if isinstance(source.get("features"), dict) else None
    if not isinstance(s3, dict) or not isinstance(s3.get("url"), str):
        raise fail(
            "input.features",
            'is required: {"s3": {"url": "s3://bucket/features.gpkg", "accessKey", "secretAccessKey"}}',
        )
    _check_keys(s3, "input.features.s3", settings)
    try:
        check_destination(s3["url"], buckets, own_credentials=bool(s3.get("accessKey") and s3.get("secretAccessKey")))
    except BadRequest as exc:
        raise fail("input.features.s3.url", exc.message) from exc
    return s3


def _optional_bounds(process_request: dict[str, Any]) -> Any:
    bounds = process_request["input"].get("bounds")
    if bounds is None:
        return None
    return v1.parse_bounds(process_request)


def _read_features(
    s3: dict[str, Any], defaults: Any, fetch: FetchFeatures | None, settings: Settings, max_features: int | None
) -> list[Any]:
    from eobatch.artifacts import MAX_FEATURES, read_feature_geopackage

    fetch = fetch or default_fetch(settings)
    try:
        data = fetch(s3["url"], s3)
    except NotFound as exc:
        raise fail("input.features.s3.url", f"no GeoPackage at {s3['url']}: {exc.message}") from exc
    except BadRequest:
        raise
    except Exception as exc:  # storage refused or failed
        message = getattr(exc, "message", str(exc))
        raise fail("input.features.s3", f"cannot read {s3['url']} with the given credentials: {message}") from exc
    if defaults is not None and not isinstance(defaults, dict):
        raise fail("input.defaults", "must be an object {width, height} or {resolution}")
    return read_feature_geopackage(data, defaults=defaults, max_features=max_features or MAX_FEATURES)


def default_fetch(settings: Settings) -> FetchFeatures:
    """Read the GeoPackage through the object storage with the input's own credentials."""
    from eobatch.storage import ObjectStorage

    def fetch(url: str, s3: dict[str, Any]) -> bytes:
        return ObjectStorage(settings, s3).get(url)

    return fetch


def _features_in_area(features: list[Any], area: Any) -> list[Any]:
    if area is None:
        return features
    from eobatch.artifacts.features import feature_footprint_wgs84

    kept = [f for f in features if feature_footprint_wgs84(f).intersects(area)]
    if not kept:
        raise fail(
            "processRequest.input.bounds",
            "no GeoPackage feature intersects the bounds; remove the bounds to process every feature",
        )
    return kept


def _features_area(features: list[Any]) -> Any:
    from eobatch.artifacts.features import feature_footprint_wgs84

    return shapely.union_all([feature_footprint_wgs84(f) for f in features])


def _delivery(output: dict[str, Any], settings: Settings) -> dict[str, Any]:
    s3 = (output.get("delivery") or {}).get("s3") if isinstance(output.get("delivery"), dict) else None
    if not isinstance(s3, dict) or not isinstance(s3.get("url"), str) or not s3["url"]:
        raise fail(
            "output.delivery",
            'is required: {"s3": {"url": "s3://bucket/...", "accessKey", '
            '"secretAccessKey", "region"} or with "iamRoleARN"}',
        )
    _check_keys(s3, "output.delivery.s3", settings)
    return s3


def _check_keys(s3: dict[str, Any], parameter: str, settings: Settings) -> None:
    """Both keys or neither; and no role without keys on an S3 endpoint: this deployment cannot assume a role,
    and writing with its own keys instead would ignore what the client asked for."""
    if bool(s3.get("accessKey")) != bool(s3.get("secretAccessKey")):
        raise fail(parameter, "give both accessKey and secretAccessKey, or neither")
    if s3.get("iamRoleARN") and not s3.get("accessKey") and settings.s3_endpoint:
        raise fail(
            f"{parameter}.iamRoleARN",
            "iamRoleARN is not supported by this deployment; give accessKey and secretAccessKey",
        )


def _secret_part(s3: dict[str, Any]) -> dict[str, Any]:
    return {k: s3[k] for k in ("accessKey", "secretAccessKey", "region", "iamRoleARN") if s3.get(k)}


def _secrets(delivery: dict[str, Any]) -> dict[str, Any] | None:
    part = _secret_part(delivery)
    return part or None


def _template(
    output_type: str, url: str, response_ids: tuple[str, ...], settings: Settings, allowed_buckets: Iterable[str]
) -> str:
    from eobatch.storage import check_destination, split_s3_url

    buckets = list(allowed_buckets) or list(settings.allowed_buckets)
    if output_type == "zarr":
        split_s3_url(url)
        rest = url
        for placeholder in ZARR_PLACEHOLDERS:
            rest = rest.replace(placeholder, "")
        if "<" in rest:
            raise fail("output.delivery.s3.url", f"a Zarr delivery URL may contain only <requestId>, got {url!r}")
        check_destination(url, buckets)
        return url
    return v1.check_path("output.delivery.s3.url", url, len(response_ids), buckets)


def _zarr_responses(process_request: dict[str, Any]) -> tuple[str, ...]:
    out = process_request.get("output")
    responses = out.get("responses") if isinstance(out, dict) else None
    if not isinstance(responses, list) or not responses:
        raise fail(
            "processRequest.output.responses",
            "is required for Zarr output: a list of {identifier, format: {type: zarr/array}}",
        )
    ids = []
    for index, response in enumerate(responses):
        fmt = response.get("format") if isinstance(response, dict) else None
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind != ZARR_FORMAT:
            raise fail(
                f"processRequest.output.responses[{index}].format.type",
                f"with Zarr output every response must be {ZARR_FORMAT}, got {kind!r}",
            )
        identifier = response.get("identifier", "default")
        if not isinstance(identifier, str) or not identifier.isidentifier() or identifier in ids:
            raise fail(
                f"processRequest.output.responses[{index}].identifier",
                f"{identifier!r} must be a unique identifier (it names the Zarr array)",
            )
        ids.append(identifier)
    return tuple(ids)


def _zarr_settings(output: dict[str, Any], response_ids: tuple[str, ...], spec: BatchSpec) -> dict[str, Any]:
    group = output.get("group")
    if not isinstance(group, dict):
        raise fail("output.group", 'is required for Zarr output: {"zarr_format": 2}')
    if group.get("zarr_format", 2) not in (2, 3):
        raise fail("output.group.zarr_format", f"must be 2 or 3, got {group.get('zarr_format')!r}")
    coordinates = group.get("coordinates")
    if coordinates is not None and not isinstance(coordinates, dict):
        raise fail(
            "output.group.coordinates", f'must be an object such as {{"origin": "topLeft"}}, got {coordinates!r}'
        )
    origin = (coordinates or {}).get("origin", "topLeft")
    if origin not in ("topLeft", "bottomLeft"):
        raise fail("output.group.coordinates.origin", f"must be topLeft or bottomLeft, got {origin!r}")
    base = output.get("arrayParameters") or {}
    overrides = output.get("arrayOverrides") or {}
    if not isinstance(base, dict) or not isinstance(overrides, dict):
        raise fail("output.arrayParameters", "arrayParameters and arrayOverrides must be objects")
    unknown = sorted(set(overrides) - set(response_ids))
    if unknown:
        raise fail(
            "output.arrayOverrides", f"names {', '.join(unknown)}, which are not responses ({', '.join(response_ids)})"
        )
    for name in response_ids:
        override = overrides.get(name)
        if override is not None and not isinstance(override, dict):
            raise fail(f"output.arrayOverrides.{name}", f"must be an object of array parameters, got {override!r}")
        _check_array(name, {**base, **(override or {})}, spec)
    return {
        "group": copy.deepcopy(group),
        "arrayParameters": copy.deepcopy(base),
        "arrayOverrides": copy.deepcopy(overrides),
    }


def _check_array(name: str, params: dict[str, Any], spec: BatchSpec) -> None:
    where = "output.arrayParameters"
    for key in ("dtype", "chunks", "fill_value"):
        if key not in params:
            raise fail(f"{where}.{key}", f"array {name!r} needs {key} (in arrayParameters or arrayOverrides)")
    dtype = params["dtype"]
    try:
        if not isinstance(dtype, str):
            raise TypeError(dtype)
        kind = np.dtype(dtype).kind
    except TypeError as exc:
        raise fail(
            f"{where}.dtype",
            f'dtype {dtype!r} of array {name!r} is not a Zarr dtype (a string such as "float32" or "uint16")',
        ) from exc
    if kind not in "biuf":
        raise fail(f"{where}.dtype", f"dtype {dtype!r} of array {name!r} must be a boolean, integer or float type")
    if params.get("order", "C") != "C":
        raise fail(f"{where}.order", f'order must be "C", got {params.get("order")!r}')
    chunks = params["chunks"]
    if not (
        isinstance(chunks, list)
        and len(chunks) == 3
        and all(isinstance(c, int) and not isinstance(c, bool) for c in chunks)
        and chunks[0] == 1
    ):
        raise fail(f"{where}.chunks", f"chunks must be [1, height, width], got {chunks!r}")
    h, w = chunks[1], chunks[2]
    if h <= 0 or w <= 0 or spec.tile_height_px % h or spec.tile_width_px % w:
        raise fail(
            f"{where}.chunks",
            f"chunk size {h} x {w} must divide the tile size {spec.tile_height_px} x {spec.tile_width_px} px",
        )
    fill = params["fill_value"]
    number = isinstance(fill, int | float) and not isinstance(fill, bool)
    if not (number or (isinstance(fill, str) and fill in ("NaN", "nan"))):
        raise fail(f"{where}.fill_value", f'fill_value must be a number or "NaN", got {fill!r}')
    if isinstance(fill, float) and math.isnan(fill) is False and not math.isfinite(fill):
        raise fail(f"{where}.fill_value", f"fill_value must be finite or NaN, got {fill!r}")
