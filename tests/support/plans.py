"""Plans for tests and benchmarks that run the pipeline or the engine without going through the API.

`tile_plan` takes the pieces in their wire spelling (as the tests have always written them) and builds
the typed plan with the intake's own rules, without the create-time checks that need the outside world.
"""

from __future__ import annotations

from typing import Any

from eobatch.api.intake import IntakeContext, parse_cog_parameters, parse_inputs
from eobatch.domain.plan import (
    Area,
    BatchPlan,
    Credentials,
    DataInput,
    Destination,
    GridTiling,
    Output,
    WriteFlags,
)
from eobatch.settings import Settings
from eobatch.storage import expand_default_layout

DATA = {
    "type": "sentinel-2-l2a",
    "dataFilter": {"timeRange": {"from": "2024-05-01T00:00:00Z", "to": "2024-05-31T00:00:00Z"}},
}


def tile_plan(
    *,
    evalscript: str = "//VERSION=3",
    responses: list[dict[str, Any]] | None = None,
    output: dict[str, Any] | None = None,
    data: list[dict[str, Any]] | None = None,
    grid_id: int = 1,
    resolution: float = 10.0,
    buffer: int = 0,
    area: Area | None = None,
) -> tuple[BatchPlan, dict[str, Credentials]]:
    """A plan (and the key pairs it refers to) from wire-spelled `responses`, `output` and `data`."""
    output = output or {"defaultTilePath": "s3://out/<requestId>/<tileName>/<outputId>.<format>"}
    responses = responses or [{"identifier": "default", "format": {"type": "image/tiff"}}]
    s3 = (output.get("delivery") or {}).get("s3") or {}
    default = expand_default_layout(output.get("defaultTilePath") or s3.get("url") or "s3://out")
    keys = {}
    if s3.get("accessKey") and s3.get("secretAccessKey"):
        keys["delivery"] = Credentials(access_key=s3["accessKey"], secret_key=s3["secretAccessKey"])
    ref = "delivery" if keys else None
    outputs = tuple(
        Output(
            id=r.get("identifier", "default"),
            format=(r.get("format") or {}).get("type", "image/tiff"),
            destination=Destination(path=expand_default_layout(r.get("tilePath") or default), credentials=ref),
        )
        for r in responses
    )
    process_request = {"input": {"data": data or [DATA]}}
    inputs: tuple[DataInput, ...] = parse_inputs(process_request, IntakeContext(Settings(), stored=True))
    plan = BatchPlan(
        inputs=inputs,
        area=area,
        tiling=GridTiling(
            grid_id=grid_id,
            resolution=resolution,
            buffer_x=buffer,
            buffer_y=buffer,
            tile_width_px=1000,
            tile_height_px=1000,
        ),
        outputs=outputs,
        delivery=Destination(path=default, credentials=ref),
        write=WriteFlags(overwrite=bool(output.get("overwrite")), skip_existing=bool(output.get("skipExisting"))),
        cog=parse_cog_parameters(output.get("cogParameters")) if output.get("cogOutput") else None,
        evalscript=evalscript,
    )
    return plan, keys
