"""A v2 create body (batch-api.md §4.3) turned into the same `BatchPlan` a v1 body gives.

The v2 `input` becomes a `GridTiling` (the one grid rule of `api.intake`) or a `FeatureTiling` (the
GeoPackage is read here, at the edge, to count and check its features); `output.delivery.s3.url` becomes
the destination of every output (Zarr: the group, one array per response). The delivery and GeoPackage
keys are taken out of the echoed body (masked there) and stored apart for the writes.
Tolerated client quirks: `instance_type`, `arrayParameter` (singular), unknown keys.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from eobatch.api.collection_intake import collection_part, wants_collection
from eobatch.api.intake import (
    Echo,
    FetchFeatures,
    Intake,
    IntakeContext,
    Locations,
    check_cog_formats,
    check_keys,
    check_script_outputs,
    cog_settings,
    description_of,
    estimate_tile_count,
    fail,
    grid_tiling,
    object_body,
    outputs_for,
    parse_bounds,
    parse_evalscript,
    parse_inputs,
    parse_responses,
    path_template,
    process_request_of,
    response_tile_paths,
    secret_part,
    write_flags,
)
from eobatch.domain.plan import (
    ZARR,
    Area,
    BatchPlan,
    Destination,
    FeatureDefaults,
    FeatureTiling,
    GridTiling,
    Output,
    ZarrArray,
    ZarrSettings,
)
from eobatch.errors import BadRequest, NotFound
from eobatch.settings import Settings

MASK = "***"
SECRET_KEYS = ("accessKey", "secretAccessKey")
INPUT_TYPES = ("tiling-grid", "geopackage")
OUTPUT_TYPES = ("raster", "zarr")
INSTANCE_TYPES = ("normal", "large")
ZARR_GRIDS = (3, 4, 6, 7)  # WGS84 and LAEA grids
ZARR_PLACEHOLDERS = ("<requestId>", "<taskId>")


def parse_v2(body: Any, context: IntakeContext) -> Intake:
    """Parse and validate a `POST /api/v2/batch/process` body; BadRequest naming the first problem."""
    body = normalise_quirks(object_body(body))
    process_request = process_request_of(body)
    source, output = body.get("input"), body.get("output")
    input_type = _kind(source, "input", INPUT_TYPES)
    output_type = _kind(output, "output", OUTPUT_TYPES)
    _check_instance_type(body.get("instanceType"))
    description = description_of(body)
    inputs = parse_inputs(process_request, context)
    evalscript = parse_evalscript(process_request)
    if output_type == "zarr":
        response_ids, formats = _zarr_responses(process_request), None
    else:
        response_ids, formats = parse_responses(process_request)
        check_cog_formats(output, response_ids, formats)
    delivery = _delivery(output, context.settings)
    own_keys = bool(secret_part(delivery).get("accessKey") and delivery.get("secretAccessKey"))
    locations = Locations()
    template = _template(output_type, delivery["url"], response_ids, locations, own_keys)
    tile_paths = response_tile_paths(process_request, locations)
    cog = cog_settings(output)
    credentials = secret_part(delivery) or None
    keys_ref = "delivery" if delivery.get("accessKey") else None

    if input_type == "tiling-grid":
        tiling, echo_grid = _tiling_grid(source, output_type)
        area = parse_bounds(process_request)
        locations.check(context.buckets)
        tile_count = estimate_tile_count(tiling, area, context)
    else:
        if output_type == "zarr":
            raise fail(
                "output.type",
                "Zarr output needs a tiling-grid input on a WGS84 or LAEA grid "
                f"(ids {', '.join(map(str, ZARR_GRIDS))}); GeoPackage input is not allowed",
            )
        features_s3 = _features_s3(source, context.settings, locations)
        area = _optional_bounds(process_request)
        defaults = _defaults(source.get("defaults"))
        locations.check(context.buckets)
        tile_count = 0 if context.stored else _feature_count(features_s3, defaults, area, context)
        features_keys = bool(features_s3.get("accessKey") and features_s3.get("secretAccessKey"))
        if features_keys:
            credentials = {**(credentials or {}), "features": secret_part(features_s3)}
        tiling = FeatureTiling(
            url=features_s3["url"], credentials="features" if features_keys else None, defaults=defaults
        )
        echo_grid = None

    collection = None
    if output_type == "zarr":
        if wants_collection(output):
            raise fail("output.createCollection", "Zarr output cannot be added to a collection; use a raster output")
        outputs = tuple(_zarr_output(name, template, keys_ref) for name in response_ids)
        zarr = _zarr_settings(output, response_ids, tiling)
    else:
        outputs = outputs_for(process_request, template, tile_paths, keys_ref)
        if wants_collection(output):  # results into a collection: api/collection_intake.py
            collection, cog = collection_part(
                output, outputs, cog, evalscript, stored=context.stored, settings=context.settings
            )
        if not context.stored:
            check_script_outputs(
                evalscript, outputs, bool(output.get("cogOutput")) or collection is not None, context.settings
            )
        zarr = None
    plan = BatchPlan(
        inputs=inputs,
        area=area,
        tiling=tiling,
        outputs=outputs,
        delivery=Destination(path=template, credentials=keys_ref),
        write=write_flags(output),
        cog=cog,
        zarr=zarr,
        evalscript=evalscript,
        collection=collection,
    )
    stored_output = v1_output(output, template)
    if zarr is not None:
        stored_output["zarr"] = _zarr_echo(output)
    echo = Echo(
        body=mask_secrets(body),
        process_request=process_request,
        tiling_grid=echo_grid,
        output=stored_output,
        bucket_name=None,
        description=description,
    )
    return Intake(plan, echo, credentials, tile_count)


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
    """What the v1 wire shows as `output` of a v2 task: defaultTilePath and flags, no secrets (echo only)."""
    view = {"type": output["type"], "defaultTilePath": template}
    for key in ("overwrite", "skipExisting", "cogOutput", "cogParameters"):
        if output.get(key) is not None:
            view[key] = copy.deepcopy(output[key])
    return view


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


def _tiling_grid(source: dict[str, Any], output_type: str) -> tuple[GridTiling, dict[str, Any]]:
    if "features" in source:
        raise fail(
            "input",
            "give either a tiling-grid input or a geopackage input, not both (a tiling-grid input has no 'features')",
        )
    echo = {k: source[k] for k in ("id", "resolution", "bufferX", "bufferY") if source.get(k) is not None}
    tiling = grid_tiling(source, "input")
    if output_type == "zarr":
        if tiling.grid_id not in ZARR_GRIDS:
            from eobatch import grids

            name = grids.get_grid(tiling.grid_id).name
            raise fail(
                "input.id",
                f"Zarr output supports only the WGS84 and LAEA grids "
                f"(ids {', '.join(map(str, ZARR_GRIDS))}); grid {tiling.grid_id} ({name}) is not one",
            )
        if tiling.buffer_x or tiling.buffer_y:
            raise fail("input.bufferX", "Zarr output needs bufferX = bufferY = 0: buffered tiles would overlap")
    return tiling, echo


def _features_s3(source: dict[str, Any], settings: Settings, locations: Locations) -> dict[str, Any]:
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
    check_keys(s3, "input.features.s3", settings)
    from eobatch.storage import split_s3_url

    try:
        split_s3_url(s3["url"])
    except BadRequest as exc:
        raise fail("input.features.s3.url", exc.message) from exc
    own_keys = bool(s3.get("accessKey") and s3.get("secretAccessKey"))
    locations.add("input.features.s3.url", s3["url"], own_credentials=own_keys)
    return s3


def _optional_bounds(process_request: dict[str, Any]) -> Area | None:
    if process_request["input"].get("bounds") is None:
        return None
    return parse_bounds(process_request)


def _defaults(raw: Any) -> FeatureDefaults | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise fail("input.defaults", "must be an object {width, height} or {resolution}")
    values = {}
    for key in ("width", "height", "resolution"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise fail(f"input.defaults.{key}", f"must be a number, got {value!r}")
        values[key] = value
    return FeatureDefaults(**values) if any(v is not None for v in values.values()) else None


def _feature_count(
    s3: dict[str, Any], defaults: FeatureDefaults | None, area: Area | None, context: IntakeContext
) -> int:
    """Read the GeoPackage (with the input's own keys) and count its features inside the bounds."""
    from eobatch.artifacts import MAX_FEATURES, read_feature_geopackage
    from eobatch.artifacts.features import feature_footprint_wgs84

    fetch = context.fetch_features or default_fetch(context.settings)
    try:
        data = fetch(s3["url"], s3)
    except NotFound as exc:
        raise fail("input.features.s3.url", f"no GeoPackage at {s3['url']}: {exc.message}") from exc
    except BadRequest:
        raise
    except Exception as exc:  # storage refused or failed
        message = getattr(exc, "message", str(exc))
        raise fail("input.features.s3", f"cannot read {s3['url']} with the given credentials: {message}") from exc
    features = read_feature_geopackage(data, defaults=defaults, max_features=context.max_features or MAX_FEATURES)
    if area is None:
        return len(features)
    from shapely.geometry import shape

    bounds = shape(area.geometry)
    kept = [f for f in features if feature_footprint_wgs84(f).intersects(bounds)]
    if not kept:
        raise fail(
            "processRequest.input.bounds",
            "no GeoPackage feature intersects the bounds; remove the bounds to process every feature",
        )
    return len(kept)


def default_fetch(settings: Settings) -> FetchFeatures:
    """Read the GeoPackage through the object storage with the input's own credentials."""
    from eobatch.storage import ObjectStorage

    def fetch(url: str, s3: dict[str, Any]) -> bytes:
        return ObjectStorage(settings, s3).get(url)

    return fetch


def _delivery(output: dict[str, Any], settings: Settings) -> dict[str, Any]:
    s3 = (output.get("delivery") or {}).get("s3") if isinstance(output.get("delivery"), dict) else None
    if not isinstance(s3, dict) or not isinstance(s3.get("url"), str) or not s3["url"]:
        raise fail(
            "output.delivery",
            'is required: {"s3": {"url": "s3://bucket/...", "accessKey", '
            '"secretAccessKey", "region"} or with "iamRoleARN"}',
        )
    check_keys(s3, "output.delivery.s3", settings)
    return s3


def _template(output_type: str, url: str, response_ids: tuple[str, ...], locations: Locations, own_keys: bool) -> str:
    if output_type != "zarr":
        return path_template("output.delivery.s3.url", url, len(response_ids), locations, own_credentials=own_keys)
    from eobatch.storage import split_s3_url

    try:
        split_s3_url(url)
    except BadRequest as exc:
        raise fail("output.delivery.s3.url", exc.message) from exc
    rest = url
    for placeholder in ZARR_PLACEHOLDERS:
        rest = rest.replace(placeholder, "")
    if "<" in rest:
        raise fail("output.delivery.s3.url", f"a Zarr delivery URL may contain only <requestId>, got {url!r}")
    return locations.add("output.delivery.s3.url", url, own_credentials=own_keys)


def _zarr_output(name: str, template: str, credentials: Any) -> Output:
    return Output(
        id=name, format=ZARR, destination=Destination(path=f"{template.rstrip('/')}/{name}", credentials=credentials)
    )


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
        if kind != ZARR:
            raise fail(
                f"processRequest.output.responses[{index}].format.type",
                f"with Zarr output every response must be {ZARR}, got {kind!r}",
            )
        identifier = response.get("identifier", "default")
        if not isinstance(identifier, str) or not identifier.isidentifier() or identifier in ids:
            raise fail(
                f"processRequest.output.responses[{index}].identifier",
                f"{identifier!r} must be a unique identifier (it names the Zarr array)",
            )
        ids.append(identifier)
    return tuple(ids)


def _zarr_echo(output: dict[str, Any]) -> dict[str, Any]:
    return {
        "group": copy.deepcopy(output.get("group")),
        "arrayParameters": copy.deepcopy(output.get("arrayParameters") or {}),
        "arrayOverrides": copy.deepcopy(output.get("arrayOverrides") or {}),
    }


def _zarr_settings(output: dict[str, Any], response_ids: tuple[str, ...], tiling: Any) -> ZarrSettings:
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
    arrays = []
    for name in response_ids:
        override = overrides.get(name)
        if override is not None and not isinstance(override, dict):
            raise fail(f"output.arrayOverrides.{name}", f"must be an object of array parameters, got {override!r}")
        arrays.append(_zarr_array(name, {**base, **(override or {})}, tiling))
    attributes = group.get("customAttributes") or {}
    if not isinstance(attributes, dict):
        raise fail("output.group.customAttributes", f"must be an object, got {attributes!r}")
    return ZarrSettings(
        zarr_format=int(group.get("zarr_format", 2)),
        origin=origin,
        custom_attributes=copy.deepcopy(attributes),
        arrays=tuple(arrays),
    )


def _zarr_array(name: str, params: dict[str, Any], tiling: GridTiling) -> ZarrArray:
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
    if h <= 0 or w <= 0 or tiling.tile_height_px % h or tiling.tile_width_px % w:
        raise fail(
            f"{where}.chunks",
            f"chunk size {h} x {w} must divide the tile size {tiling.tile_height_px} x {tiling.tile_width_px} px",
        )
    fill = params["fill_value"]
    number = isinstance(fill, int | float) and not isinstance(fill, bool)
    if not (number or (isinstance(fill, str) and fill in ("NaN", "nan"))):
        raise fail(f"{where}.fill_value", f'fill_value must be a number or "NaN", got {fill!r}')
    if isinstance(fill, float) and math.isnan(fill) is False and not math.isfinite(fill):
        raise fail(f"{where}.fill_value", f"fill_value must be finite or NaN, got {fill!r}")
    compressor = params.get("compressor")
    if compressor is not None and not isinstance(compressor, dict):
        raise fail(f"{where}.compressor", f'must be an object such as {{"id": "blosc"}}, got {compressor!r}')
    return ZarrArray(name=name, dtype=dtype, fill_value=fill, chunks=(h, w), compressor=compressor)
