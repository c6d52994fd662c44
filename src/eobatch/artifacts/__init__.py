"""Files Batch v2 users rely on: GeoPackage feature input, the feature manifest, the execution database,
and the Zarr output writer. Each module is pure I/O on bytes, paths or an object store."""

from eobatch.artifacts.execution import (
    ExecutionDbUploads,
    ExecutionRecord,
    execution_db_bytes,
    execution_db_url,
    record_for_tile,
    upload_execution_db,
    write_execution_db,
)
from eobatch.artifacts.features import (
    GEOPACKAGE_GRID_ID,
    MAX_FEATURE_PX,
    MAX_FEATURES,
    Feature,
    feature_pixel_grid,
    feature_tiles,
    read_feature_geopackage,
)
from eobatch.artifacts.manifest import (
    ManifestEntry,
    feature_manifest_bytes,
    manifest_entries,
    manifest_url,
    output_root,
    upload_feature_manifest,
    write_feature_manifest,
)
from eobatch.artifacts.zarr_output import (
    ZarrArraySpec,
    ZarrGeometry,
    ZarrOutput,
    geometry_for_tiles,
    zarr_store,
)

__all__ = [
    "GEOPACKAGE_GRID_ID",
    "MAX_FEATURES",
    "MAX_FEATURE_PX",
    "ExecutionDbUploads",
    "ExecutionRecord",
    "Feature",
    "ManifestEntry",
    "ZarrArraySpec",
    "ZarrGeometry",
    "ZarrOutput",
    "execution_db_bytes",
    "execution_db_url",
    "feature_manifest_bytes",
    "feature_pixel_grid",
    "feature_tiles",
    "geometry_for_tiles",
    "manifest_entries",
    "manifest_url",
    "output_root",
    "read_feature_geopackage",
    "record_for_tile",
    "upload_execution_db",
    "upload_feature_manifest",
    "write_execution_db",
    "write_feature_manifest",
    "zarr_store",
]
