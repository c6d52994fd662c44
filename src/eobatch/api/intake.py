"""The rules v1 and v2 create bodies share, on the way from the wire to a `domain.plan.BatchPlan`.

Each rule lives here once and raises `BadRequest` naming the offending parameter (batch-api.md §6):
the grid / resolution / buffer rule, bounds, data inputs, the evalscript, responses, path templates,
COG parameters and write flags. Every location a body names is collected while parsing and checked
against the account's buckets once, at the end (`Locations.check`), so the destinations of the plan
and any alias the body spells are checked by one policy. I/O (the collection registry, a GeoPackage
read) happens here at the edge, never inside a database transaction.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eobatch.domain.plan import (
    DEFAULT_JPEG_QUALITY,
    JPEG,
    Area,
    BatchPlan,
    CogParameters,
    DataInput,
    Destination,
    GridTiling,
    Output,
    WriteFlags,
)
from eobatch.errors import BadRequest, NotFound, Violation
from eobatch.settings import Settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
BATCH_FORMATS = ("image/tiff", "image/png", "image/jpeg", "application/json")
DEFAULT_RESPONSES = ({"identifier": "default", "format": {"type": "image/tiff"}},)
MAX_BUFFER_PX = 32767
COG_RESAMPLING = ("nearest", "average", "gauss", "cubic", "cubicspline", "lanczos", "average_magphase", "mode")

#: fetches the GeoPackage of a `geopackage` input: (s3 url, the `features.s3` object) -> bytes
FetchFeatures = Callable[[str, dict[str, Any]], bytes]


def fail(parameter: str, violation: str) -> BadRequest:
    """A BadRequest about one parameter."""
    return BadRequest(f"{parameter}: {violation}", [Violation(parameter, violation)])


@dataclass(frozen=True)
class Echo:
    """What the wire shows back of a create body (the raw parts, kept only for that)."""

    body: dict[str, Any]  # the create body as sent (secrets masked)
    process_request: dict[str, Any]  # bounds.properties.crs filled in, default responses added
    tiling_grid: dict[str, Any] | None
    output: dict[str, Any] | None
    bucket_name: str | None
    description: str | None


@dataclass(frozen=True)
class Intake:
    """A create body turned into a plan, its echo, the key pairs it gave and the tile-count estimate."""

    plan: BatchPlan
    echo: Echo
    credentials: dict[str, Any] | None  # the `delivery_credentials` column (delivery keys, "features" keys)
    tile_count: int


@dataclass
class IntakeContext:
    """What intake needs from outside the body: settings, the account's buckets, how to read GeoPackages."""

    settings: Settings
    allowed_buckets: tuple[str, ...] = ()
    fetch_features: FetchFeatures | None = None
    max_features: int | None = None
    extra_collections: tuple[Any, ...] = ()  # the account's batch collections (`batch-<id>` input types)
    stored: bool = False  # converting a stored request: it was checked at create (no collection, bucket or
    # GeoPackage checks, no tile count)

    @property
    def buckets(self) -> list[str]:
        """The buckets the account may use: its own list, else the deployment's (empty: every bucket)."""
        if self.stored:
            return []
        return list(self.allowed_buckets) or list(self.settings.allowed_buckets)


@dataclass
class Locations:
    """Every s3:// location a body names, with the parameter that names it; checked once at the end."""

    named: list[tuple[str, str, bool]] = field(default_factory=list)

    def add(self, parameter: str, url: str, *, own_credentials: bool = False) -> str:
        """Record `url`; `own_credentials`: the request brings its own keys for it."""
        self.named.append((parameter, url, own_credentials))
        return url

    def check(self, buckets: Iterable[str]) -> None:
        """BadRequest naming the first location the account may not use (storage/tenancy.py's policy)."""
        from eobatch.storage.tenancy import check_destination

        allowed = list(buckets)
        for parameter, url, own in self.named:
            try:
                check_destination(url, allowed, own_credentials=own)
            except BadRequest as exc:
                raise fail(parameter, exc.message) from exc


# --------------------------------------------------------------------------- body and tiling


def object_body(body: Any) -> dict[str, Any]:
    """The body as a JSON object; BadRequest for an empty or non-object body."""
    if body is None or body == {} or body == "":
        raise BadRequest("Request body should be non-empty.")
    if not isinstance(body, dict):
        raise fail("body", f"must be a JSON object, got {type(body).__name__}")
    return body


def process_request_of(body: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `processRequest` (the echo gets defaults filled in)."""
    process_request = body.get("processRequest")
    if not isinstance(process_request, dict) or not process_request:
        raise fail("processRequest", "is required: an object with input, output and evalscript")
    return copy.deepcopy(process_request)


def description_of(body: dict[str, Any]) -> str | None:
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise fail("description", f"must be a string, got {description!r}")
    return description


def grid_tiling(raw: dict[str, Any], prefix: str) -> GridTiling:
    """The one grid / resolution / buffer rule of both APIs; `prefix` names the object in messages
    ("tilingGrid" in v1, "input" in v2)."""
    from eobatch import grids

    grid_id = raw.get("id")
    if grid_id is None:
        raise fail(f"{prefix}.id", "is required: the id of a tiling grid (see GET /api/v1/batch/tilinggrids)")
    if isinstance(grid_id, bool) or not isinstance(grid_id, int | str) or not str(grid_id).isdigit():
        raise fail(f"{prefix}.id", f"must be a non-negative integer, got {grid_id!r}")
    try:
        grid = grids.get_grid(int(grid_id))
    except (NotFound, BadRequest) as exc:
        known = ", ".join(str(g.id) for g in grids.list_grids())
        raise fail(f"{prefix}.id", f"unknown tiling grid {grid_id}; available grids: {known}") from exc
    resolution = raw.get("resolution")
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, int | float)
        or not math.isfinite(resolution)
        or resolution <= 0
    ):
        raise fail(f"{prefix}.resolution", f"is required as a positive number, got {resolution!r}")
    resolution = _grid_resolution(grid, resolution, f"{prefix}.resolution")
    buffers = []
    for key in ("bufferX", "bufferY"):
        value = raw.get(key) or 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BUFFER_PX:
            raise fail(
                f"{prefix}.{key}",
                f"must be an integer number of pixels from 0 to {MAX_BUFFER_PX}, got {raw.get(key)!r}",
            )
        buffers.append(value)
    _check_tile_size(grid, resolution, buffers[0], buffers[1], prefix)
    return GridTiling(
        grid_id=grid.id,
        resolution=resolution,
        buffer_x=buffers[0],
        buffer_y=buffers[1],
        tile_width_px=round(grid.tile_width / resolution),
        tile_height_px=round(grid.tile_height / resolution),
    )


MAX_TILE_SIDE_PX = 12000  # a tile with its buffers, on either side


def _check_tile_size(grid: Any, resolution: float, buffer_x: int, buffer_y: int, prefix: str) -> None:
    """BadRequest when a tile with its buffers exceeds MAX_TILE_SIDE_PX on a side."""
    width = round(grid.tile_width / resolution) + 2 * buffer_x
    height = round(grid.tile_height / resolution) + 2 * buffer_y
    if max(width, height) > MAX_TILE_SIDE_PX:
        key = "bufferX" if width > MAX_TILE_SIDE_PX else "bufferY"
        raise fail(
            f"{prefix}.{key}",
            f"a tile with its buffers would be {width} x {height} px; at most {MAX_TILE_SIDE_PX} px on a side",
        )


def _grid_resolution(grid: Any, resolution: float, parameter: str) -> float:
    """The grid's own value for `resolution`; BadRequest naming the allowed ones otherwise."""
    for allowed in grid.resolutions:
        if math.isclose(allowed, resolution, rel_tol=1e-9, abs_tol=1e-12):
            return float(allowed)
    allowed_text = ", ".join(f"{r:g}" for r in grid.resolutions)
    raise fail(
        parameter,
        f"Resolution {resolution!r} is not supported by tiling grid {grid.id} ({grid.name}); "
        f"allowed: {allowed_text} ({grid.unit})",
    )


def estimate_tile_count(tiling: GridTiling, area: Area, context: IntakeContext) -> int:
    """The number of grid tiles the area touches (BadRequest when none or more than the limit)."""
    from shapely.geometry import shape

    from eobatch import grids

    if context.stored:
        return 0
    max_tiles = context.settings.max_tiles_per_request
    return len(grids.tile_columns_for_area(tiling.grid_id, shape(area.geometry), max_tiles=max_tiles))


def parse_bounds(process_request: dict[str, Any]) -> Area:
    """Fill in `bounds.properties.crs` (CRS84 by default) and return the area in WGS84."""
    from eobatch import grids
    from eobatch.grids.geo import as_geojson

    source = process_request.get("input")
    if not isinstance(source, dict):
        raise fail("processRequest.input", "is required: an object with bounds and data")
    bounds = source.get("bounds")
    if not isinstance(bounds, dict) or ("geometry" not in bounds and "bbox" not in bounds):
        raise fail("processRequest.input.bounds", "is required with a geometry (Polygon or MultiPolygon) or a bbox")
    geometry = bounds.get("geometry")
    if geometry is not None:
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in GEOMETRY_TYPES:
            raise fail(
                "processRequest.input.bounds.geometry",
                f"geometry type {kind!r} is not supported; allowed: {', '.join(GEOMETRY_TYPES)}",
            )
    properties = bounds.get("properties")
    if properties is None:
        properties = bounds["properties"] = {}
    if not isinstance(properties, dict):
        raise fail("processRequest.input.bounds.properties", 'must be an object such as {"crs": "..."}')
    if not properties.get("crs"):
        properties["crs"] = CRS84
    area = grids.area_from_bounds(bounds)
    return Area(geometry=as_geojson(area), crs=str(properties["crs"]))


# --------------------------------------------------------------------------- inputs and evalscript


def parse_inputs(process_request: dict[str, Any], context: IntakeContext) -> tuple[DataInput, ...]:
    """Check every `input.data[i]`: a known collection type and a valid dataFilter."""
    from eobatch.collections.filters import validate_data_filter

    if not isinstance(process_request.get("input"), dict):
        raise fail("processRequest.input", "is required: an object with data (and bounds for tiling-grid input)")
    data = process_request["input"].get("data")
    if not isinstance(data, list) or not data:
        raise fail("processRequest.input.data", "is required: a non-empty list of data sources")
    registry = None
    if not context.stored:
        from eobatch.collections.registry import CollectionRegistry

        registry = CollectionRegistry.from_settings(context.settings)
        if context.extra_collections:
            registry = registry.merged(CollectionRegistry(context.extra_collections))
    parsed = []
    for index, item in enumerate(data):
        parameter = f"processRequest.input.data[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise fail(f"{parameter}.type", "is required: a collection type such as sentinel-2-l1c")
        collection = registry.get(item["type"], index) if registry is not None else None
        data_filter = validate_data_filter(
            item.get("dataFilter"),
            index=index,
            collection_type=item["type"],
            static=collection.traits.static if collection is not None else True,
        )
        if collection is not None:
            from eobatch.processing.read import check_processing

            check_processing(item.get("processing"), f"{parameter}.processing")
            collection.check_options(item.get("dataFilter"), item.get("processing"), index)
        processing = item.get("processing") if isinstance(item.get("processing"), dict) else {}
        parsed.append(
            DataInput(
                type=item["type"],
                id=_text_or_none(item.get("id")),
                time_from=data_filter.time_from,
                time_to=data_filter.time_to,
                max_cloud_coverage=data_filter.max_cloud_coverage,
                mosaicking_order=data_filter.mosaicking_order,
                upsampling=_text_or_none(processing.get("upsampling")),
                downsampling=_text_or_none(processing.get("downsampling")),
                harmonize=bool(processing.get("harmonizeValues", True)),
            )
        )
    if registry is not None:
        check_input_ids(parsed)
    return tuple(parsed)


def check_input_ids(inputs: list[DataInput]) -> None:
    """With several inputs (data fusion) each needs its own `id`: the evalscript's datasource names them."""
    if len(inputs) < 2:
        return
    ids = [i.id for i in inputs]
    for index, item in enumerate(inputs):
        if not isinstance(item.id, str) or not item.id or ids.count(item.id) > 1:
            raise fail(
                f"processRequest.input.data[{index}].id",
                f"with several inputs each needs its own id (the evalscript's datasource), got {ids!r}",
            )


def check_script_outputs(evalscript: str, outputs: tuple[Output, ...], cog_output: bool, settings: Settings) -> None:
    """Formats that depend on the evalscript's setup() (INT8 with cogOutput, PNG/JPEG sample types and bands),
    checked at create (api.output_checks) in a confined worker."""
    from eobatch.api.output_checks import check_script_outputs as check

    check(evalscript, outputs, cog_output=cog_output, settings=settings)


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def parse_evalscript(process_request: dict[str, Any]) -> str:
    script = process_request.get("evalscript")
    if not isinstance(script, str) or not script.strip():
        raise fail("processRequest.evalscript", "is required: the evalscript source as a non-empty string")
    return script


def parse_responses(process_request: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Response identifiers and format types: image/tiff, image/png, image/jpeg (with `quality`) and
    application/json (userdata)."""
    out = process_request.get("output")
    if out is None:
        out = process_request["output"] = {"responses": [dict(r) for r in DEFAULT_RESPONSES]}
    if not isinstance(out, dict):
        raise fail("processRequest.output", "must be an object with a responses list")
    responses = out.get("responses")
    if responses is None:
        responses = out["responses"] = [dict(r) for r in DEFAULT_RESPONSES]
    if not isinstance(responses, list) or not responses:
        raise fail("processRequest.output.responses", "must be a non-empty list of {identifier, format}")
    ids, formats = [], []
    for index, response in enumerate(responses):
        parameter = f"processRequest.output.responses[{index}]"
        if not isinstance(response, dict):
            raise fail(parameter, "must be an object {identifier, format: {type}}")
        identifier = response.get("identifier", "default")
        if not isinstance(identifier, str) or not identifier:
            raise fail(f"{parameter}.identifier", f"must be a non-empty string, got {identifier!r}")
        from eobatch.storage.paths import check_path_part

        check_path_part(identifier, f"{parameter}.identifier")
        fmt = response.get("format")
        if fmt is not None and not isinstance(fmt, dict):
            raise fail(f"{parameter}.format", f'must be an object such as {{"type": "image/tiff"}}, got {fmt!r}')
        kind = (fmt or {}).get("type", "image/tiff")
        if kind not in BATCH_FORMATS:
            raise fail(
                f"{parameter}.format.type",
                f"format {kind!r} is not supported by batch processing; allowed: {', '.join(BATCH_FORMATS)}",
            )
        response_quality(response, f"{parameter}.format")
        if kind == "application/json" and identifier != "userdata":
            raise fail(f"{parameter}.identifier", "an application/json response must have identifier 'userdata'")
        if identifier in ids:
            raise fail(f"{parameter}.identifier", f"identifier {identifier!r} is used twice")
        ids.append(identifier)
        formats.append(kind)
    return tuple(ids), tuple(formats)


# --------------------------------------------------------------------------- outputs


def path_template(
    parameter: str, template: Any, n_outputs: int, locations: Locations, *, own_credentials: bool = False
) -> str:
    """A valid output path template with the default layout applied (its bucket is checked with the
    others by `Locations.check`); BadRequest naming `parameter` otherwise."""
    from eobatch.storage import expand_default_layout, validate_path_template

    if not isinstance(template, str) or not template:
        raise fail(parameter, f"must be a path such as s3://bucket/<tileName>/<outputId>.<format>, got {template!r}")
    try:
        validate_path_template(template, n_outputs)
        expanded = expand_default_layout(template)
    except BadRequest as exc:
        raise fail(parameter, exc.message) from exc
    return locations.add(parameter, expanded, own_credentials=own_credentials)


def response_tile_paths(process_request: dict[str, Any], locations: Locations) -> dict[str, str]:
    """`processRequest.output.responses[].tilePath`: per-output paths, checked like the default one."""
    paths = {}
    for index, response in enumerate((process_request.get("output") or {}).get("responses") or []):
        if isinstance(response, dict) and response.get("tilePath") is not None:
            parameter = f"processRequest.output.responses[{index}].tilePath"
            paths[str(response.get("identifier", "default"))] = path_template(
                parameter, response["tilePath"], 1, locations
            )
    return paths


def outputs_for(
    process_request: dict[str, Any],
    default_path: str,
    tile_paths: dict[str, str],
    credentials: str | None,
) -> tuple[Output, ...]:
    """One plan output per (checked) response: its own tile path when the body gives one, else the default
    path; a JPEG's quality."""
    outputs = []
    for response in process_request["output"]["responses"]:
        identifier = response.get("identifier", "default")
        outputs.append(
            Output(
                id=identifier,
                format=(response.get("format") or {}).get("type", "image/tiff"),
                destination=Destination(path=tile_paths.get(identifier) or default_path, credentials=credentials),
                quality=response_quality(response),
            )
        )
    return tuple(outputs)


def response_quality(response: dict[str, Any], where: str = "format") -> int:
    """`format.quality` of a JPEG response: an integer 1-100 (default 90); BadRequest naming `where` otherwise,
    or when another format carries it."""
    fmt = response.get("format") or {}
    quality = fmt.get("quality") if isinstance(fmt, dict) else None
    if quality is None:
        return DEFAULT_JPEG_QUALITY
    kind = fmt.get("type") or "image/tiff"
    if kind != JPEG:
        raise fail(f"{where}.quality", f"quality applies only to {JPEG}, not {kind}")
    if isinstance(quality, float) and quality.is_integer():
        quality = int(quality)
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise fail(f"{where}.quality", f"quality must be an integer from 1 to 100, got {quality!r}")
    return quality


def check_cog_formats(output: dict[str, Any], response_ids: tuple[str, ...], formats: tuple[str, ...]) -> None:
    """`cogOutput` needs every raster response to be image/tiff."""
    if not output.get("cogOutput"):
        return
    for identifier, kind in zip(response_ids, formats, strict=True):
        if kind not in ("image/tiff", "application/json"):
            raise fail(
                "output.cogOutput",
                f"a Cloud-Optimized GeoTIFF output needs every response to be image/tiff; {identifier!r} is {kind}",
            )


def write_flags(output: dict[str, Any]) -> WriteFlags:
    return WriteFlags(overwrite=bool(output.get("overwrite", False)), skip_existing=bool(output.get("skipExisting")))


def cog_settings(output: dict[str, Any], parameter: str = "output.cogParameters") -> CogParameters | None:
    """The COG parameters when `cogOutput` is on (they are validated either way)."""
    params = parse_cog_parameters(output.get("cogParameters"), parameter)
    return params if output.get("cogOutput") else None


def parse_cog_parameters(raw: Any, parameter: str = "output.cogParameters") -> CogParameters:
    """`cogParameters`, strictly: BadRequest naming `output.cogParameters.<field>` for a wrong value."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise fail(parameter, f'must be an object such as {{"blockxsize": 512}}, got {raw!r}')
    levels = raw.get("overviewLevels")
    if levels is not None and not isinstance(levels, list | tuple):
        raise _cog_bad("overviewLevels", f"must be a list of integers, got {levels!r}")
    resampling = raw.get("resamplingAlgorithm") or "average"
    if not isinstance(resampling, str):
        raise _cog_bad("resamplingAlgorithm", f"must be a string, got {resampling!r}")
    predictor = raw.get("usePredictor", True)
    if not isinstance(predictor, bool):
        raise _cog_bad("usePredictor", f"must be true or false, got {predictor!r}")
    min_size = raw.get("overviewMinSize")
    params = CogParameters(
        overview_levels=tuple(_cog_int(v, "overviewLevels") for v in levels) if levels is not None else None,
        overview_min_size=None if min_size is None else _cog_int(min_size, "overviewMinSize"),
        resampling=resampling,
        blockxsize=_cog_int(raw.get("blockxsize") or 1024, "blockxsize"),
        blockysize=_cog_int(raw.get("blockysize") or 1024, "blockysize"),
        use_predictor=predictor,
    )
    _check_cog(params)
    return params


def _check_cog(params: CogParameters) -> None:
    if params.resampling not in COG_RESAMPLING:
        allowed = ", ".join(COG_RESAMPLING)
        raise _cog_bad(
            "resamplingAlgorithm", f"resamplingAlgorithm {params.resampling!r} is not supported; allowed: {allowed}"
        )
    for name in ("blockxsize", "blockysize"):
        value = getattr(params, name)
        if value < 16 or value % 16:
            raise _cog_bad(name, f"{name} must be a positive multiple of 16, got {value}")
    if params.overview_levels is not None and any(v < 2 for v in params.overview_levels):
        raise _cog_bad("overviewLevels", f"overviewLevels must be integers >= 2, got {list(params.overview_levels)}")
    if params.overview_min_size is not None and params.overview_min_size < 1:
        raise _cog_bad("overviewMinSize", "overviewMinSize must be a positive integer")


def _cog_int(value: Any, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _cog_bad(name, f"must be an integer, got {value!r}")
    return value


def _cog_bad(name: str, message: str) -> BadRequest:
    parameter = f"output.cogParameters.{name}"
    text = message if message.startswith(name) else f"{parameter} {message}"
    return BadRequest(text, [Violation(parameter, text)])


def check_flags(output: dict[str, Any]) -> None:
    for key in ("overwrite", "skipExisting", "cogOutput", "createCollection"):
        value = output.get(key)
        if value is not None and not isinstance(value, bool):
            raise fail(f"output.{key}", f"must be true or false, got {value!r}")
    collection_id = output.get("collectionId")
    if collection_id is not None and (not isinstance(collection_id, str) or not collection_id):
        raise fail("output.collectionId", f"must be the id of a batch collection, got {collection_id!r}")
    if collection_id and output.get("createCollection"):
        raise fail("output.createCollection", "give createCollection or collectionId, not both")


def check_keys(s3: dict[str, Any], parameter: str, settings: Settings) -> None:
    """Both keys or neither; and no role without keys on an S3 endpoint: this deployment cannot assume a role,
    and writing with its own keys instead would ignore what the client asked for."""
    if bool(s3.get("accessKey")) != bool(s3.get("secretAccessKey")):
        raise fail(parameter, "give both accessKey and secretAccessKey, or neither")
    if s3.get("iamRoleARN") and not s3.get("accessKey") and settings.s3_endpoint:
        raise fail(
            f"{parameter}.iamRoleARN",
            "iamRoleARN is not supported by this deployment; give accessKey and secretAccessKey",
        )


def secret_part(s3: dict[str, Any]) -> dict[str, Any]:
    """The credential keys of an `s3` object (what goes into the credentials column)."""
    return {k: s3[k] for k in ("accessKey", "secretAccessKey", "region", "iamRoleARN") if s3.get(k)}
