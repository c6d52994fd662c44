"""The built-in SYNTHETIC Sentinel-2 L1C/L2A demo archive (see docs/collections.md)."""

from eobatch.collections.demo.archive import ARCHIVE_NAME, ensure_demo_archive, generate
from eobatch.collections.demo.area import DEMO_AREA_WGS84, DEMO_BBOX, DEMO_TIME_RANGE

__all__ = ["ARCHIVE_NAME", "DEMO_AREA_WGS84", "DEMO_BBOX", "DEMO_TIME_RANGE", "ensure_demo_archive", "generate"]
