"""The per-tile pipeline: search, read + warp, mosaic, evaluate, encode, write."""

from eobatch.processing.encode import encode_cog, encode_geotiff, encode_json, encode_raster
from eobatch.processing.grid import TargetGrid
from eobatch.processing.outputs import CogParameters, validate_output_formats
from eobatch.processing.pipeline import process_tile, run_tile
from eobatch.processing.read import NoOverlap, read_onto_grid, resampling_for
from eobatch.processing.task import TileResult, TileTask

__all__ = [
    "CogParameters",
    "NoOverlap",
    "TargetGrid",
    "TileResult",
    "TileTask",
    "encode_cog",
    "encode_geotiff",
    "encode_json",
    "encode_raster",
    "process_tile",
    "read_onto_grid",
    "resampling_for",
    "run_tile",
    "validate_output_formats",
]
