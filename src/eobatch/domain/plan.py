"""The typed plan of a batch request: what to read, over which area, how to tile it, where each output goes.

A plan is built once at the edge (`api/v1/intake.py`, `api/v2/intake.py`) from a validated create body,
stored as JSON beside the raw bodies (which are kept only to echo them on the wire), and read by the
engine, the tile pipeline and the v2 artifacts. Every fact has exactly one spelling here: an output's
destination is `Output.destination.path`, whatever the client wrote (`defaultTilePath`, `bucketName`,
`tilePaths`, `responses[].tilePath`, `delivery.s3.url`).

Pure: pydantic models and string work only; no I/O and no imports of storage, collections, processing or
artifacts. Credentials are not in the plan: a destination names the stored key pair it writes with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PLAN_VERSION = 1

TIFF, PNG, JPEG, JSON, ZARR = "image/tiff", "image/png", "image/jpeg", "application/json", "zarr/array"
EXTENSIONS = {TIFF: "tif", PNG: "png", JPEG: "jpg", JSON: "json", ZARR: "zarr"}
USERDATA = "userdata"
DEFAULT_JPEG_QUALITY = 90

CredentialsRef = Literal["delivery", "features"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Credentials(_Frozen):
    """An S3 key pair a request gave for its own buckets (stored apart from the plan, never echoed)."""

    access_key: str
    secret_key: str
    region: str | None = None


class CollectionBandSpec(_Frozen):
    """One band a request adds to a batch collection: an output identifier, its sampleType and nodata."""

    name: str
    sample_type: str
    no_data: float | None = None


class DataInput(_Frozen):
    """One `processRequest.input.data[]` entry: a collection, its filter and how to read it."""

    type: str
    id: str | None = None
    time_from: datetime
    time_to: datetime
    max_cloud_coverage: float = 100.0
    mosaicking_order: str = "mostRecent"
    upsampling: str | None = None
    downsampling: str | None = None
    harmonize: bool = True
    bands: tuple[CollectionBandSpec, ...] = ()  # a `batch-<id>` input: the collection's bands at create

    def resampling(self) -> dict[str, str | None]:
        """The resampling choice as `processing.read.resampling_for` takes it."""
        return {"upsampling": self.upsampling, "downsampling": self.downsampling}


class Area(_Frozen):
    """The request's area: a GeoJSON Polygon or MultiPolygon in WGS84 (lon, lat)."""

    geometry: dict[str, Any]
    crs: str  # the CRS the client gave the bounds in (the geometry is always WGS84)


class GridTiling(_Frozen):
    """Tiles of a tiling grid at one of its resolutions, with a buffer in pixels on each side."""

    kind: Literal["grid"] = "grid"
    grid_id: int
    resolution: float
    buffer_x: int = 0
    buffer_y: int = 0
    tile_width_px: int
    tile_height_px: int


class FeatureDefaults(_Frozen):
    """`input.defaults` of a GeoPackage input: the size of features whose row gives none."""

    width: float | None = None
    height: float | None = None
    resolution: float | None = None


class FeatureTiling(_Frozen):
    """One tile per feature of a GeoPackage (v2 `geopackage` input)."""

    kind: Literal["features"] = "features"
    url: str
    credentials: CredentialsRef | None = None
    defaults: FeatureDefaults | None = None


class WindowTiling(_Frozen):
    """One window of the given size (a Process API request, computed by the tile pipeline)."""

    kind: Literal["window"] = "window"
    width_px: int
    height_px: int


Tiling = Annotated[GridTiling | FeatureTiling | WindowTiling, Field(discriminator="kind")]


class Destination(_Frozen):
    """Where files go: one s3:// path template (default layout applied) and the key pair to write with
    (None: the service's own keys)."""

    path: str
    credentials: CredentialsRef | None = None


class Output(_Frozen):
    """One response of the evalscript as a file (or a Zarr array) per tile."""

    id: str
    format: str  # MIME type, or zarr/array
    destination: Destination
    quality: int = DEFAULT_JPEG_QUALITY  # JPEG only

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.format, "tif")

    @property
    def is_userdata(self) -> bool:
        return self.format == JSON


class WriteFlags(_Frozen):
    overwrite: bool = False
    skip_existing: bool = False


@dataclass(frozen=True)
class CogParameters:
    """`output.cogParameters` with the documented defaults (batch-api.md §3.4)."""

    overview_levels: tuple[int, ...] | None = None
    overview_min_size: int | None = None
    resampling: str = "average"
    blockxsize: int = 1024
    blockysize: int = 1024
    use_predictor: bool = True

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


class ZarrArray(_Frozen):
    """One data array of a Zarr output, named after its response."""

    name: str
    dtype: str
    fill_value: float | int | str  # "NaN" kept as text: JSON has no NaN
    chunks: tuple[int, int] | None = None  # (y, x)
    compressor: dict[str, Any] | None = None


class ZarrSettings(_Frozen):
    """v2 Zarr output: one group per request at the delivery path, one array per response."""

    zarr_format: int = 2
    origin: Literal["topLeft", "bottomLeft"] = "topLeft"
    custom_attributes: dict[str, Any] = Field(default_factory=dict)
    arrays: tuple[ZarrArray, ...]


class CollectionTarget(_Frozen):
    """The batch collection a request's processed tiles are registered in (v1 `output.collectionId`, or
    `output.createCollection`: `id` is None until the service has created it at create time)."""

    id: str | None = None
    bands: tuple[CollectionBandSpec, ...]


class BatchPlan(_Frozen):
    """Everything the engine, the pipeline and the artifacts need to know about a request."""

    version: Literal[1] = PLAN_VERSION
    inputs: tuple[DataInput, ...]
    area: Area | None  # None: a GeoPackage input without bounds (each feature is its own area)
    tiling: Tiling
    outputs: tuple[Output, ...]
    delivery: Destination  # the output root: feature manifest, execution database, Zarr group
    write: WriteFlags = WriteFlags()
    cog: CogParameters | None = None  # set: GeoTIFFs are written as Cloud-Optimized GeoTIFFs
    zarr: ZarrSettings | None = None
    evalscript: str
    collection: CollectionTarget | None = None  # v1 batch collections (docs/collections.md)

    @property
    def grid(self) -> GridTiling | None:
        """The tiling grid, or None when each tile is an area of its own (a GeoPackage feature, a Process
        API window): the one way every layer asks "is this a grid tile?"."""
        return self.tiling if isinstance(self.tiling, GridTiling) else None

    @property
    def features(self) -> FeatureTiling | None:
        """The GeoPackage whose features are the tiles (v2 `geopackage` input), or None."""
        return self.tiling if isinstance(self.tiling, FeatureTiling) else None

    @property
    def response_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.outputs)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchPlan:
        """A stored plan; ValueError for a schema version this code does not know."""
        if data.get("version") != PLAN_VERSION:
            raise ValueError(f"stored plan has schema version {data.get('version')!r}; expected {PLAN_VERSION}")
        return cls.model_validate(data)
