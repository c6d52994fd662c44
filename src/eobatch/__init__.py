"""eobatch: a batch processing service wire-compatible with the Sentinel Hub Batch Processing API."""

__version__ = "0.1.0"
