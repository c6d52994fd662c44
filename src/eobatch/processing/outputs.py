"""Output settings of a batch request: formats, COG parameters, paths, overwrite rules, validation.

`OutputSettings.parse(task.output, responses)` accepts the normalised dict the engine puts in a
`TileTask` and also the raw v1 `output` / v2 `output` objects (see docs/outputs.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eobatch.errors import BadRequest, Violation
from eobatch.storage import S3Credentials

TIFF, PNG, JPEG, JSON = "image/tiff", "image/png", "image/jpeg", "application/json"
EXTENSIONS = {TIFF: "tif", PNG: "png", JPEG: "jpg", JSON: "json"}
USERDATA = "userdata"
RASTER_FORMATS = (TIFF, PNG, JPEG)
DEFAULT_JPEG_QUALITY = 90

# sample types each format can hold
_FORMAT_SAMPLE_TYPES = {
    TIFF: {"AUTO", "UINT8", "UINT16", "INT8", "INT16", "FLOAT32"},
    PNG: {"AUTO", "UINT8", "UINT16"},
    JPEG: {"AUTO", "UINT8"},
}
_MAX_BANDS = {PNG: 4, JPEG: 4}
COG_RESAMPLING = ("nearest", "average", "gauss", "cubic", "cubicspline", "lanczos", "average_magphase", "mode")


@dataclass(frozen=True)
class CogParameters:
    """`output.cogParameters` with the documented defaults (batch-api.md §3.4)."""

    overview_levels: tuple[int, ...] | None = None
    overview_min_size: int | None = None
    resampling: str = "average"
    blockxsize: int = 1024
    blockysize: int = 1024
    use_predictor: bool = True

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> CogParameters:
        """Strict: BadRequest naming `output.cogParameters.<field>` for a value of the wrong type."""
        raw = raw or {}
        if not isinstance(raw, Mapping):
            raise _bad("output.cogParameters", f"output.cogParameters must be an object, got {raw!r}")
        levels = raw.get("overviewLevels")
        if levels is not None and not isinstance(levels, list | tuple):
            raise _bad(
                "output.cogParameters.overviewLevels",
                f"output.cogParameters.overviewLevels must be a list of integers, got {levels!r}",
            )
        resampling = raw.get("resamplingAlgorithm") or "average"
        if not isinstance(resampling, str):
            raise _bad(
                "output.cogParameters.resamplingAlgorithm",
                f"output.cogParameters.resamplingAlgorithm must be a string, got {resampling!r}",
            )
        predictor = raw.get("usePredictor", True)
        if not isinstance(predictor, bool):
            raise _bad(
                "output.cogParameters.usePredictor",
                f"output.cogParameters.usePredictor must be true or false, got {predictor!r}",
            )
        params = cls(
            overview_levels=tuple(_int(v, "overviewLevels") for v in levels) if levels is not None else None,
            overview_min_size=_opt_int(raw.get("overviewMinSize"), "overviewMinSize"),
            resampling=resampling,
            blockxsize=_int(raw.get("blockxsize") or 1024, "blockxsize"),
            blockysize=_int(raw.get("blockysize") or 1024, "blockysize"),
            use_predictor=predictor,
        )
        params.validate()
        return params

    def validate(self) -> None:
        if self.resampling not in COG_RESAMPLING:
            allowed = ", ".join(COG_RESAMPLING)
            raise _bad(
                "output.cogParameters.resamplingAlgorithm",
                f"resamplingAlgorithm {self.resampling!r} is not supported; allowed: {allowed}",
            )
        for name in ("blockxsize", "blockysize"):
            value = getattr(self, name)
            if value < 16 or value % 16:
                raise _bad(f"output.cogParameters.{name}", f"{name} must be a positive multiple of 16, got {value}")
        if self.overview_levels is not None and any(v < 2 for v in self.overview_levels):
            raise _bad(
                "output.cogParameters.overviewLevels",
                f"overviewLevels must be integers >= 2, got {list(self.overview_levels)}",
            )
        if self.overview_min_size is not None and self.overview_min_size < 1:
            raise _bad("output.cogParameters.overviewMinSize", "overviewMinSize must be a positive integer")

    @property
    def min_size(self) -> int:
        """Overviews smaller than this (in both dimensions) are not made; default min(blockxsize, blockysize)."""
        return self.overview_min_size or min(self.blockxsize, self.blockysize)

    def levels_for(self, width: int, height: int) -> list[int]:
        """The overview factors to build for an image of this size."""
        if self.overview_levels is not None:
            candidates = sorted(set(self.overview_levels))
        else:
            candidates = [2**k for k in range(1, 31)]
        return [f for f in candidates if max(-(-width // f), -(-height // f)) >= self.min_size]


@dataclass(frozen=True)
class OutputSettings:
    """Everything about writing a tile's outputs, parsed from the request."""

    default_tile_path: str
    tile_paths: dict[str, str] = field(default_factory=dict)
    overwrite: bool = False
    skip_existing: bool = False
    cog_output: bool = False
    cog: CogParameters = field(default_factory=CogParameters)
    credentials: S3Credentials | None = None

    @classmethod
    def parse(cls, output: Mapping[str, Any], responses: Sequence[Mapping[str, Any]] = ()) -> OutputSettings:
        delivery_s3 = ((output.get("delivery") or {}).get("s3")) or {}
        path = (
            output.get("defaultTilePath")
            or delivery_s3.get("url")
            or (f"s3://{output['bucketName']}" if output.get("bucketName") else None)
        )
        # every location read here is checked against the account's buckets at create and update
        # (domain.spec.check_output_paths / check_response_paths): read no other key
        tile_paths = dict(output.get("tilePaths") or {})
        for response in output.get("responses") or ():
            if isinstance(response, Mapping) and response.get("tilePath"):
                tile_paths[str(response.get("identifier", "default"))] = str(response["tilePath"])
        for response in responses:
            if response.get("tilePath"):
                tile_paths[str(response.get("identifier", "default"))] = str(response["tilePath"])
        if not path and not tile_paths:
            raise _bad("output", "No output location: give output.defaultTilePath, bucketName or delivery.s3.url")
        return cls(
            default_tile_path=str(path or ""),
            tile_paths=tile_paths,
            overwrite=bool(output.get("overwrite", False)),
            skip_existing=bool(output.get("skipExisting", False)),
            cog_output=bool(output.get("cogOutput", False)),
            cog=CogParameters.parse(output.get("cogParameters")),
            credentials=S3Credentials.from_delivery(delivery_s3),
        )

    def template_for(self, output_id: str) -> str:
        return self.tile_paths.get(output_id) or self.default_tile_path


def response_format(response: Mapping[str, Any]) -> str:
    """The MIME type of one `output.responses[]` entry (default image/tiff)."""
    fmt = response.get("format") or {}
    return str(fmt.get("type") or TIFF) if isinstance(fmt, Mapping) else str(fmt)


def response_quality(response: Mapping[str, Any], where: str = "format") -> int:
    """`format.quality` of a JPEG response: an integer 1-100 (default 90); BadRequest naming `where` otherwise,
    or when another format carries it."""
    fmt = response.get("format") or {}
    quality = fmt.get("quality") if isinstance(fmt, Mapping) else None
    if quality is None:
        return DEFAULT_JPEG_QUALITY
    if response_format(response) != JPEG:
        raise _bad(f"{where}.quality", f"quality applies only to {JPEG}, not {response_format(response)}")
    if isinstance(quality, float) and quality.is_integer():
        quality = int(quality)
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise _bad(f"{where}.quality", f"quality must be an integer from 1 to 100, got {quality!r}")
    return quality


def validate_output_formats(
    responses: Sequence[Mapping[str, Any]], setup_outputs: Sequence[Any], *, cog_output: bool = False
) -> None:
    """BadRequest when a response cannot be written: unknown id or format, or a sampleType the format can't hold."""
    outputs = {o.id: o for o in setup_outputs}
    for i, response in enumerate(responses):
        where = f"processRequest.output.responses[{i}]"
        output_id = str(response.get("identifier", "default"))
        fmt = response_format(response)
        if fmt not in EXTENSIONS:
            allowed = ", ".join(EXTENSIONS)
            raise _bad(f"{where}.format.type", f"Output format {fmt!r} is not supported; allowed: {allowed}")
        if output_id == USERDATA:
            if fmt != JSON:
                raise _bad(f"{where}.format.type", f"The 'userdata' output must be {JSON}, got {fmt!r}")
            continue
        if fmt == JSON:
            raise _bad(f"{where}.format.type", f"{JSON} is only for the 'userdata' output, not {output_id!r}")
        spec = outputs.get(output_id)
        if spec is None:
            raise _bad(
                f"{where}.identifier",
                f"Response {output_id!r} is not an evalscript output; outputs: {', '.join(outputs) or 'none'}",
            )
        sample_type = str(spec.sample_type).upper()
        if sample_type not in _FORMAT_SAMPLE_TYPES[fmt]:
            allowed = ", ".join(sorted(_FORMAT_SAMPLE_TYPES[fmt]))
            raise _bad(
                f"{where}.format.type",
                f"Output {output_id!r} has sampleType {sample_type}, which {fmt} cannot hold; allowed: {allowed}",
            )
        if fmt in _MAX_BANDS and spec.bands > _MAX_BANDS[fmt]:
            raise _bad(
                f"{where}.format.type",
                f"Output {output_id!r} has {spec.bands} bands; {fmt} holds at most {_MAX_BANDS[fmt]}",
            )
        if cog_output and fmt != TIFF:
            raise _bad(f"{where}.format.type", f"cogOutput requires every output to be {TIFF}; {output_id!r} is {fmt}")
        if cog_output and sample_type == "INT8":
            raise _bad(f"{where}.format.type", f"cogOutput does not allow sampleType INT8 (output {output_id!r})")


def _int(value: Any, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"output.cogParameters.{name}", f"output.cogParameters.{name} must be an integer, got {value!r}")
    return value


def _opt_int(value: Any, name: str) -> int | None:
    return None if value is None else _int(value, name)


def _bad(parameter: str, message: str) -> BadRequest:
    return BadRequest(message, [Violation(parameter, message)])
