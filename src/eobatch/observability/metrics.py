"""Prometheus metrics (prometheus-client). Counters and the tile-duration histogram are kept by the
process that sees the events (the scheduler, the worker pool, storage calls); database-wide figures
(tiles by status, queue depth, analyses running, PU charged) are read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

TILE_DURATION = Histogram(
    "eobatch_tile_duration_seconds",
    "Wall-clock time of tile attempts, by outcome",
    ["outcome"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
TILE_OUTCOMES = Counter("eobatch_tile_attempts_total", "Tile attempts by outcome", ["outcome"])
WORKER_RESTARTS = Counter(
    "eobatch_worker_restarts_total", "Worker processes replaced, by reason (memory, cpu, time, lost)", ["reason"]
)
STORAGE_RETRIES = Counter("eobatch_storage_retries_total", "Object-storage calls tried again after a transient error")

QUEUED_STATUSES = ("PENDING", "SCHEDULED", "QUEUED")


class DatabaseCollector(Collector):
    """Figures read from the database at each scrape."""

    def __init__(self, database: Any):
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from eobatch.store.gauges import read_gauges
        from eobatch.store.models import utcnow

        with self.database.session() as session:
            gauges = read_gauges(session, utcnow())
        tiles = GaugeMetricFamily("eobatch_tiles", "Tiles by status", labels=["status"])
        for status, count in sorted(gauges.tiles_by_status.items()):
            tiles.add_metric([status], count)
        yield tiles
        requests = GaugeMetricFamily("eobatch_requests", "Batch requests by status", labels=["status"])
        for status, count in sorted(gauges.requests_by_status.items()):
            requests.add_metric([status], count)
        yield requests
        yield GaugeMetricFamily(
            "eobatch_queue_depth",
            "Tiles waiting to be processed (PENDING, SCHEDULED or QUEUED)",
            value=sum(gauges.tiles_by_status.get(s, 0) for s in QUEUED_STATUSES),
        )
        yield GaugeMetricFamily(
            "eobatch_analyses_running", "Analyses held by a live lease", value=gauges.analyses_running
        )
        yield GaugeMetricFamily(
            "eobatch_pu_charged", "Processing units charged over all requests", value=gauges.pu_charged
        )


def render(database: Any) -> bytes:
    """The text exposition of this process's metrics plus the database figures."""
    from prometheus_client import REGISTRY

    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(database))
    return generate_latest(REGISTRY) + generate_latest(registry)
