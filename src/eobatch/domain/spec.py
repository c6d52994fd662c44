"""A v1 create body parsed and validated into a `BatchSpec` (batch-api.md §3.2, §6).

Every check raises `BadRequest` naming the parameter and what is allowed; nothing is written before
parsing succeeds. The grids, collections and storage packages are imported where they are used.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eobatch.errors import BadRequest, NotFound, Violation
from eobatch.settings import Settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
BATCH_FORMATS = ("image/tiff", "image/png", "image/jpeg", "application/json")
DEFAULT_RESPONSES = ({"identifier": "default", "format": {"type": "image/tiff"}},)
FORMAT_EXTENSIONS = {"image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg", "application/json": "json"}
MAX_BUFFER_PX = 32767
MAX_TILE_SIDE_PX = 12000  # a tile with its buffers, on either side


@dataclass(frozen=True)
class DataInput:
    """One entry of `processRequest.input.data`, validated."""

    type: str
    id: str | None
    time_from: Any
    time_to: Any
    max_cloud_coverage: float
    mosaicking_order: str


@dataclass(frozen=True)
class BatchSpec:
    """Everything a create body says, checked. `tile_count` is the creation-time estimate."""

    body: dict[str, Any]
    process_request: dict[str, Any]  # echoed on the wire, bounds.properties.crs filled in
    tiling_grid: dict[str, Any]  # echoed as sent (deprecated aliases folded in)
    grid_id: int
    resolution: float
    buffer_x: int
    buffer_y: int
    output: dict[str, Any] | None
    bucket_name: str | None
    description: str | None
    output_template: str  # the default tile path, with the default layout applied
    response_ids: tuple[str, ...]
    inputs: tuple[DataInput, ...]
    evalscript: str
    area_wgs84: Any = field(repr=False)  # shapely geometry (lon, lat)
    tile_count: int = 0
    tile_width_px: int = 0
    tile_height_px: int = 0


def fail(parameter: str, violation: str) -> BadRequest:
    """A BadRequest about one parameter."""
    return BadRequest(f"{parameter}: {violation}", [Violation(parameter, violation)])


def parse_v1(body: Any, settings: Settings, *, allowed_buckets: Iterable[str] = ()) -> BatchSpec:
    """Parse and validate a v1 `POST /api/v1/batch/process` body."""
    if body is None or body == {} or body == "":
        raise BadRequest("Request body should be non-empty.")
    if not isinstance(body, dict):
        raise fail("body", f"must be a JSON object, got {type(body).__name__}")
    process_request = body.get("processRequest")
    if not isinstance(process_request, dict) or not process_request:
        raise fail("processRequest", "is required: an object with input, output and evalscript")
    tiling_grid, grid_id, resolution, buffer_x, buffer_y = parse_tiling_grid(body)
    grid = _grid(grid_id)
    resolution = check_resolution(grid, resolution)
    check_tile_size(grid, resolution, buffer_x, buffer_y, "tilingGrid")
    process_request = copy.deepcopy(process_request)
    area = parse_bounds(process_request)
    inputs = parse_inputs(process_request, settings)
    evalscript = parse_evalscript(process_request)
    response_ids, formats = parse_responses(process_request)
    output, bucket_name, template = parse_output(body, response_ids, formats, settings, allowed_buckets)
    check_script_outputs(evalscript, process_request["output"]["responses"], output)
    check_response_paths(process_request, account_buckets(settings, allowed_buckets))
    tile_count = estimate_tile_count(grid_id, area, settings.max_tiles_per_request)
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise fail("description", f"must be a string, got {description!r}")
    return BatchSpec(
        body=copy.deepcopy(body),
        process_request=process_request,
        tiling_grid=tiling_grid,
        grid_id=grid_id,
        resolution=resolution,
        buffer_x=buffer_x,
        buffer_y=buffer_y,
        output=output,
        bucket_name=bucket_name,
        description=description,
        output_template=template,
        response_ids=response_ids,
        inputs=inputs,
        evalscript=evalscript,
        area_wgs84=area,
        tile_count=tile_count,
        tile_width_px=round(grid.tile_width / resolution),
        tile_height_px=round(grid.tile_height / resolution),
    )


def parse_tiling_grid(body: dict[str, Any]) -> tuple[dict[str, Any], int, float, int, int]:
    """`tilingGrid` (or the deprecated top-level `tilingGridId` / `resolution`) -> echo, id, res, buffers."""
    raw = body.get("tilingGrid")
    if raw is None and ("tilingGridId" in body or "resolution" in body):
        raw = {"id": body.get("tilingGridId"), "resolution": body.get("resolution")}
    if not isinstance(raw, dict):
        raise fail("tilingGrid", "is required: an object {id, resolution, bufferX?, bufferY?}")
    echo = {k: v for k, v in raw.items() if not (k in ("bufferX", "bufferY") and v is None)}
    grid_id = raw.get("id")
    if grid_id is None:
        raise fail("tilingGrid.id", "is required: the id of a tiling grid (see GET /api/v1/batch/tilinggrids)")
    if isinstance(grid_id, bool) or not isinstance(grid_id, int | str) or not str(grid_id).isdigit():
        raise fail("tilingGrid.id", f"must be a non-negative integer, got {grid_id!r}")
    resolution = raw.get("resolution")
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, int | float)
        or not math.isfinite(resolution)
        or resolution <= 0
    ):
        raise fail("tilingGrid.resolution", f"is required as a positive number, got {resolution!r}")
    buffers = []
    for key in ("bufferX", "bufferY"):
        value = raw.get(key) or 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BUFFER_PX:
            raise fail(
                f"tilingGrid.{key}",
                f"must be an integer number of pixels from 0 to {MAX_BUFFER_PX}, got {raw.get(key)!r}",
            )
        buffers.append(value)
    return echo, int(grid_id), float(resolution), buffers[0], buffers[1]


def _grid(grid_id: int) -> Any:
    from eobatch import grids

    try:
        return grids.get_grid(grid_id)
    except (NotFound, BadRequest) as exc:
        known = ", ".join(str(g.id) for g in grids.list_grids())
        raise fail("tilingGrid.id", f"unknown tiling grid {grid_id}; available grids: {known}") from exc


def check_resolution(grid: Any, resolution: float) -> float:
    """The grid's own value for `resolution`; BadRequest naming the allowed ones otherwise."""
    for allowed in grid.resolutions:
        if math.isclose(allowed, resolution, rel_tol=1e-9, abs_tol=1e-12):
            return float(allowed)
    allowed_text = ", ".join(f"{r:g}" for r in grid.resolutions)
    raise fail(
        "tilingGrid.resolution",
        f"resolution {resolution:g} is not allowed for tiling grid {grid.id} ({grid.name}); "
        f"allowed: {allowed_text} ({grid.unit})",
    )


def parse_bounds(process_request: dict[str, Any]) -> Any:
    """Fill in `bounds.properties.crs` (CRS84 by default) and return the area in WGS84."""
    from eobatch import grids

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
    return grids.area_from_bounds(bounds)


def parse_inputs(process_request: dict[str, Any], settings: Settings) -> tuple[DataInput, ...]:
    """Check every `input.data[i]`: a known collection type and a valid dataFilter."""
    from eobatch.collections.filters import validate_data_filter
    from eobatch.collections.registry import CollectionRegistry

    data = process_request["input"].get("data")
    if not isinstance(data, list) or not data:
        raise fail("processRequest.input.data", "is required: a non-empty list of data sources")
    registry = CollectionRegistry.from_settings(settings)
    parsed = []
    for index, item in enumerate(data):
        parameter = f"processRequest.input.data[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise fail(f"{parameter}.type", "is required: a collection type such as sentinel-2-l1c")
        collection = registry.get(item["type"], index)
        data_filter = validate_data_filter(
            item.get("dataFilter"), index=index, collection_type=item["type"], static=collection.traits.static
        )
        _check_processing(item.get("processing"), f"{parameter}.processing")
        collection.check_options(item.get("dataFilter"), item.get("processing"), index)
        parsed.append(
            DataInput(
                type=item["type"],
                id=item.get("id"),
                time_from=data_filter.time_from,
                time_to=data_filter.time_to,
                max_cloud_coverage=data_filter.max_cloud_coverage,
                mosaicking_order=data_filter.mosaicking_order,
            )
        )
    check_input_ids(parsed)
    return tuple(parsed)


def _check_processing(processing: Any, parameter: str) -> None:
    from eobatch.processing.read import check_processing

    check_processing(processing, parameter)


def _check_path_part(value: str, parameter: str) -> None:
    from eobatch.storage.paths import check_path_part

    check_path_part(value, parameter)


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


def check_tile_size(grid: Any, resolution: float, buffer_x: int, buffer_y: int, prefix: str) -> None:
    """BadRequest when a tile with its buffers exceeds MAX_TILE_SIDE_PX on a side."""
    width = round(grid.tile_width / resolution) + 2 * buffer_x
    height = round(grid.tile_height / resolution) + 2 * buffer_y
    if max(width, height) > MAX_TILE_SIDE_PX:
        key = "bufferX" if width > MAX_TILE_SIDE_PX else "bufferY"
        raise fail(
            f"{prefix}.{key}",
            f"a tile with its buffers would be {width} x {height} px; at most {MAX_TILE_SIDE_PX} px on a side",
        )


def check_script_outputs(evalscript: str, responses: list[Any], output: dict[str, Any] | None) -> None:
    """Formats that depend on the evalscript's setup() (INT8 with cogOutput, PNG/JPEG sample types and bands),
    checked at create (api.output_checks)."""
    from eobatch.api.output_checks import check_script_outputs as check

    check(evalscript, responses, cog_output=bool((output or {}).get("cogOutput")))


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
        _check_path_part(identifier, f"{parameter}.identifier")
        fmt = response.get("format")
        if fmt is not None and not isinstance(fmt, dict):
            raise fail(f"{parameter}.format", f'must be an object such as {{"type": "image/tiff"}}, got {fmt!r}')
        kind = (fmt or {}).get("type", "image/tiff")
        if kind not in BATCH_FORMATS:
            raise fail(
                f"{parameter}.format.type",
                f"format {kind!r} is not supported by batch processing; allowed: {', '.join(BATCH_FORMATS)}",
            )
        from eobatch.processing.outputs import response_quality

        response_quality(response, f"{parameter}.format")
        if kind == "application/json" and identifier != "userdata":
            raise fail(f"{parameter}.identifier", "an application/json response must have identifier 'userdata'")
        if identifier in ids:
            raise fail(f"{parameter}.identifier", f"identifier {identifier!r} is used twice")
        ids.append(identifier)
        formats.append(kind)
    return tuple(ids), tuple(formats)


def parse_output(
    body: dict[str, Any],
    response_ids: tuple[str, ...],
    formats: tuple[str, ...],
    settings: Settings,
    allowed_buckets: Iterable[str],
) -> tuple[dict[str, Any] | None, str | None, str]:
    """Check `output` / `bucketName`: a valid path template in a bucket the account may write to.

    Every location a worker may write to is checked (see `check_output_paths`), not only the default one.
    """
    if body.get("zarrOutput") is not None:
        raise fail("zarrOutput", "Zarr output is not supported; use output.defaultTilePath or bucketName")
    output = body.get("output")
    bucket_name = body.get("bucketName")
    if output is not None and not isinstance(output, dict):
        raise fail("output", 'must be an object such as {"defaultTilePath": "s3://bucket/<tileName>/..."}')
    if bucket_name is not None and (not isinstance(bucket_name, str) or not bucket_name):
        raise fail("bucketName", f"must be a bucket name, got {bucket_name!r}")
    default_path = (output or {}).get("defaultTilePath")
    template = default_path or (f"s3://{bucket_name}" if bucket_name else None)
    if not template:
        raise fail("output", "one of output.defaultTilePath or bucketName is required to say where results go")
    buckets = account_buckets(settings, allowed_buckets)
    parameter = "output.defaultTilePath" if default_path else "bucketName"
    expanded = check_path(parameter, template, len(response_ids), buckets)
    if output is not None:
        check_output_paths(output, buckets)
        _check_flags(output)
        check_cog_parameters(output.get("cogParameters"), "output.cogParameters")
        check_cog_formats(output, response_ids, formats)
    return output, bucket_name, expanded


def account_buckets(settings: Settings, allowed_buckets: Iterable[str]) -> list[str]:
    """The buckets an account may write to: its own list, else the deployment's (empty: every bucket)."""
    return list(allowed_buckets) or list(settings.allowed_buckets)


def check_path(parameter: str, template: Any, n_outputs: int, buckets: Iterable[str]) -> str:
    """A valid output path template in an allowed bucket, with the default layout applied; BadRequest naming
    `parameter` otherwise."""
    from eobatch.storage import check_destination, expand_default_layout, validate_path_template

    if not isinstance(template, str) or not template:
        raise fail(parameter, f"must be a path such as s3://bucket/<tileName>/<outputId>.<format>, got {template!r}")
    try:
        validate_path_template(template, n_outputs)
        expanded = expand_default_layout(template)
        check_destination(expanded, buckets)
    except BadRequest as exc:
        raise fail(parameter, exc.message) from exc
    return expanded


def check_output_paths(output: dict[str, Any], buckets: Iterable[str]) -> None:
    """Every other location in a v1 `output` that `processing.outputs.OutputSettings.parse` would honour:
    `responses[].tilePath`, `tilePaths` values, `bucketName` and `delivery.s3.url`."""
    responses = output.get("responses")
    if responses is not None and not isinstance(responses, list):
        raise fail("output.responses", "must be a list of {identifier, tilePath}")
    for index, response in enumerate(responses or []):
        if not isinstance(response, dict):
            raise fail(f"output.responses[{index}]", "must be an object {identifier, tilePath}")
        if response.get("tilePath") is not None:
            check_path(f"output.responses[{index}].tilePath", response["tilePath"], 1, buckets)
    tile_paths = output.get("tilePaths")
    if tile_paths is not None:
        if not isinstance(tile_paths, dict):
            raise fail("output.tilePaths", "must be an object {outputId: path template}")
        for output_id, path in tile_paths.items():
            check_path(f"output.tilePaths.{output_id}", path, 1, buckets)
    if output.get("bucketName") is not None:
        check_path("output.bucketName", output["bucketName"], 1, buckets)
    delivery = output.get("delivery")
    if delivery is not None:
        s3 = delivery.get("s3") if isinstance(delivery, dict) else None
        if not isinstance(s3, dict):
            raise fail("output.delivery", 'must be an object {"s3": {"url": "s3://bucket/..."}}')
        if s3.get("url") is not None:
            check_path("output.delivery.s3.url", s3["url"], 1, buckets)


def check_response_paths(process_request: dict[str, Any], buckets: Iterable[str]) -> None:
    """`processRequest.output.responses[].tilePath` (a per-output path a worker honours) must be allowed too."""
    for index, response in enumerate((process_request.get("output") or {}).get("responses") or []):
        if isinstance(response, dict) and response.get("tilePath") is not None:
            check_path(f"processRequest.output.responses[{index}].tilePath", response["tilePath"], 1, buckets)


def check_cog_parameters(raw: Any, parameter: str) -> None:
    """`cogParameters` as the worker will parse them; BadRequest naming the field otherwise."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise fail(parameter, f'must be an object such as {{"blockxsize": 512}}, got {raw!r}')
    from eobatch.processing.outputs import CogParameters

    CogParameters.parse(raw)


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


def _check_flags(output: dict[str, Any]) -> None:
    for key in ("overwrite", "skipExisting", "cogOutput", "createCollection"):
        value = output.get(key)
        if value is not None and not isinstance(value, bool):
            raise fail(f"output.{key}", f"must be true or false, got {value!r}")
    if output.get("createCollection") or output.get("collectionId"):
        raise fail("output.createCollection", "batch collections are not supported by this server")


def estimate_tile_count(grid_id: int, area_wgs84: Any, max_tiles: int) -> int:
    """The number of grid tiles the area touches (BadRequest when none or more than `max_tiles`)."""
    from eobatch import grids

    return len(grids.tiles_for_area(grid_id, area_wgs84, max_tiles=max_tiles))
