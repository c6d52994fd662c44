"""A v1 create body (batch-api.md §3.2) turned into a `BatchPlan`.

Where v1 outputs go: `output.defaultTilePath`, else the top-level `bucketName` (default layout);
per output `output.tilePaths`, `output.responses[].tilePath` and `processRequest.output.responses[].tilePath`
(in that order, the later winning). Those become `Output.destination.path` in the plan. `output.bucketName`
and `output.delivery.s3.url` name no destination but are still checked against the account's buckets, so a
client never believes it writes somewhere it may not. Keys in `output.delivery.s3` are the request's own.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from eobatch.api.collection_intake import collection_part, wants_collection
from eobatch.api.intake import (
    Echo,
    Intake,
    IntakeContext,
    Locations,
    check_cog_formats,
    check_flags,
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
from eobatch.domain.plan import BatchPlan, CogParameters, Destination, Output, WriteFlags


@dataclass(frozen=True)
class OutputPart:
    """The output half of a v1 plan (what `PUT output` may change)."""

    outputs: tuple[Output, ...]
    delivery: Destination
    write: WriteFlags
    cog: CogParameters | None
    credentials: dict[str, Any] | None


def parse_v1(body: Any, context: IntakeContext) -> Intake:
    """Parse and validate a v1 `POST /api/v1/batch/process` body; BadRequest naming the first problem."""
    body = object_body(body)
    process_request = process_request_of(body)
    raw_grid = _raw_tiling_grid(body)
    tiling = grid_tiling(raw_grid, "tilingGrid")
    area = parse_bounds(process_request)
    inputs = parse_inputs(process_request, context)
    evalscript = parse_evalscript(process_request)
    if body.get("zarrOutput") is not None:
        raise fail("zarrOutput", "Zarr output is not supported; use output.defaultTilePath or bucketName")
    locations = Locations()
    part = output_part(body.get("output"), body.get("bucketName"), process_request, locations)
    collection = None
    if wants_collection(body.get("output")):  # batch collections: api/collection_intake.py
        collection, cog = collection_part(
            body["output"], part.outputs, part.cog, evalscript, stored=context.stored, settings=context.settings
        )
        part = dataclasses.replace(part, cog=cog)
    if not context.stored:
        check_script_outputs(
            evalscript,
            part.outputs,
            part.cog is not None or bool((body.get("output") or {}).get("cogOutput")),
            context.settings,
        )
    locations.check(context.buckets)
    tile_count = estimate_tile_count(tiling, area, context)
    plan = BatchPlan(
        inputs=inputs,
        area=area,
        tiling=tiling,
        outputs=part.outputs,
        delivery=part.delivery,
        write=part.write,
        cog=part.cog,
        evalscript=evalscript,
        collection=collection,
    )
    echo = Echo(
        body=copy.deepcopy(body),
        process_request=process_request,
        tiling_grid={k: v for k, v in raw_grid.items() if not (k in ("bufferX", "bufferY") and v is None)},
        output=body.get("output"),
        bucket_name=body.get("bucketName"),
        description=description_of(body),
    )
    return Intake(plan, echo, part.credentials, tile_count)


def _raw_tiling_grid(body: dict[str, Any]) -> dict[str, Any]:
    """`tilingGrid`, or the deprecated top-level `tilingGridId` / `resolution`."""
    raw = body.get("tilingGrid")
    if raw is None and ("tilingGridId" in body or "resolution" in body):
        raw = {"id": body.get("tilingGridId"), "resolution": body.get("resolution")}
    if not isinstance(raw, dict):
        raise fail("tilingGrid", "is required: an object {id, resolution, bufferX?, bufferY?}")
    return raw


def output_part(output: Any, bucket_name: Any, process_request: dict[str, Any], locations: Locations) -> OutputPart:
    """`output` / `bucketName` of a v1 body: destinations, write flags, COG settings and own keys."""
    response_ids, formats = parse_responses(process_request)
    if output is not None and not isinstance(output, dict):
        raise fail("output", 'must be an object such as {"defaultTilePath": "s3://bucket/<tileName>/..."}')
    if bucket_name is not None and (not isinstance(bucket_name, str) or not bucket_name):
        raise fail("bucketName", f"must be a bucket name, got {bucket_name!r}")
    output = output or {}
    default_path = output.get("defaultTilePath")
    template = default_path or (f"s3://{bucket_name}" if bucket_name else None)
    if not template:
        raise fail("output", "No output location: give output.defaultTilePath or bucketName to say where results go")
    parameter = "output.defaultTilePath" if default_path else "bucketName"
    default = path_template(parameter, template, len(response_ids), locations)
    tile_paths = _output_tile_paths(output, locations)
    tile_paths |= response_tile_paths(process_request, locations)
    check_flags(output)
    cog = cog_settings(output)
    check_cog_formats(output, response_ids, formats)
    keys = _delivery_keys(output)
    credentials = "delivery" if keys else None
    return OutputPart(
        outputs=outputs_for(process_request, default, tile_paths, credentials),
        delivery=Destination(path=default, credentials=credentials),
        write=write_flags(output),
        cog=cog,
        credentials=keys,
    )


def _output_tile_paths(output: dict[str, Any], locations: Locations) -> dict[str, str]:
    """Per-output paths in `output` (`tilePaths`, then `responses[].tilePath`); the aliases `bucketName`
    and `delivery.s3.url` are checked too, though no tile is written there."""
    paths: dict[str, str] = {}
    tile_paths = output.get("tilePaths")
    if tile_paths is not None:
        if not isinstance(tile_paths, dict):
            raise fail("output.tilePaths", "must be an object {outputId: path template}")
        for output_id, path in tile_paths.items():
            paths[str(output_id)] = path_template(f"output.tilePaths.{output_id}", path, 1, locations)
    responses = output.get("responses")
    if responses is not None and not isinstance(responses, list):
        raise fail("output.responses", "must be a list of {identifier, tilePath}")
    for index, response in enumerate(responses or []):
        if not isinstance(response, dict):
            raise fail(f"output.responses[{index}]", "must be an object {identifier, tilePath}")
        if response.get("tilePath") is not None:
            path = path_template(f"output.responses[{index}].tilePath", response["tilePath"], 1, locations)
            paths[str(response.get("identifier", "default"))] = path
    if output.get("bucketName") is not None:
        path_template("output.bucketName", output["bucketName"], 1, locations)
    delivery = output.get("delivery")
    if delivery is not None:
        s3 = delivery.get("s3") if isinstance(delivery, dict) else None
        if not isinstance(s3, dict):
            raise fail("output.delivery", 'must be an object {"s3": {"url": "s3://bucket/..."}}')
        if s3.get("url") is not None:
            path_template("output.delivery.s3.url", s3["url"], 1, locations)
    return paths


def _delivery_keys(output: dict[str, Any]) -> dict[str, Any] | None:
    """A v1 output may carry its own key pair in `delivery.s3` (both keys, as the worker needs them)."""
    s3 = (output.get("delivery") or {}).get("s3") or {}
    if not s3.get("accessKey") or not s3.get("secretAccessKey"):
        return None
    return secret_part(s3)
