"""Object storage (local bucket folders or S3 via obstore) and output path templates."""

from eobatch.storage.objects import ObjectStorage, S3Credentials, StorageError, check_destination
from eobatch.storage.paths import (
    DEFAULT_LAYOUT,
    expand_default_layout,
    render_tile_path,
    split_s3_url,
    validate_path_template,
)

__all__ = [
    "DEFAULT_LAYOUT",
    "ObjectStorage",
    "S3Credentials",
    "StorageError",
    "check_destination",
    "expand_default_layout",
    "render_tile_path",
    "split_s3_url",
    "validate_path_template",
]
