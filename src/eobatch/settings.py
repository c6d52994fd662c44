"""All configuration in one typed object, read from `EOBATCH_*` environment variables or passed in.

Nothing reads the environment at import time: the CLI and the tests build a `Settings` and hand it down.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EOBATCH_", extra="ignore")

    data_dir: Path = Field(default=Path(".eobatch"), description="Everything the service keeps lives here")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    collections_file: Path | None = Field(default=None, description="YAML/TOML collection registry")

    # object storage: s3:// URLs go to this endpoint, or to local folders under data_dir/buckets
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    allowed_buckets: list[str] = Field(default_factory=list, description="Empty: every bucket is allowed")
    tenancy: str = Field(
        default="claims",
        description="claims: a bucket belongs to the first account using it (docs/operations.md); shared: no claims",
    )
    storage_retry_window_s: float = Field(
        default=180.0, description="How long transient storage errors (refused, timeouts, 5xx) are retried"
    )

    # logs (docs/operations.md, "Logs and metrics")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: str = Field(default="json", description="json (one object per line) or text")

    # auth
    jwt_secret: str | None = Field(default=None, description="HMAC secret; default generated in data_dir")
    token_lifetime_s: int = 3600
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest request body the API reads (413 beyond); 0: no limit"
    )
    token_failures_per_minute: int = Field(
        default=10, description="Failed token requests per client id and per address before 429 (0: no limit)"
    )

    # engine
    executor: str = "local"  # local | dask
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    dask_address: str | None = None
    poll_interval_s: float = 0.2
    tile_heartbeat_timeout_s: float = 300.0
    max_tile_attempts: int = 3
    max_tiles_per_request: int = 200_000
    worker_memory_mb: int = Field(
        default=4096,
        description="Memory one worker process may use (an OS-level limit, docs/operations.md); analysis refuses "
        "tiles estimated above it (0: no limit, no check)",
    )
    worker_threads: int = Field(
        default=0,
        ge=0,
        description="Threads each tile worker may use (GDAL compression, output encoding, numeric libraries); "
        "0: the cores divided among the workers, at least 1 (docs/engine.md)",
    )
    max_tiles_in_flight_per_account: int = 64
    max_concurrent_analyses: int = 2
    initial_pu_grant: float = 100_000.0
    execution_db_interval_s: float = Field(
        default=60.0,
        description="v2: upload execution-<id>.sqlite at most this often while processing (and always at the end)",
    )

    # events and webhooks (eobatch extensions, docs/events.md)
    events_poll_interval_s: float = Field(default=0.5, description="How often an event stream reads new events")
    events_max_stream_s: float = Field(default=300.0, description="An event stream closes after this; clients resume")
    webhook_retry_base_s: float = Field(default=2.0, description="First webhook retry delay; doubles each time")
    webhook_max_attempts: int = Field(default=8, description="Attempts per webhook event before it is skipped")
    webhook_timeout_s: float = 10.0

    # Process API (docs/process.md)
    process_api_workers: int = Field(default=1, description="Worker processes for Process API windows")
    process_api_time_limit_s: float = Field(default=120.0, description="Wall-clock time per window (0: none)")
    process_api_cpu_limit_s: float = Field(default=240.0, description="CPU time per window, all threads (0: none)")
    process_api_queue: int = Field(default=8, description="Windows running or waiting at once; beyond: 429")
    process_api_per_account: int = Field(default=2, description="Of those, at most this many from one account")

    # dashboard (docs/dashboard.md): an optional basemap, e.g. https://tile.example.org/{z}/{x}/{y}.png
    dashboard_basemap_url: str | None = Field(default=None, description="XYZ URL template; none: no basemap")
    dashboard_basemap_attribution: str = ""

    # evalscript sandbox
    evalscript_timeout_s: float = 600.0
    evalscript_max_memory_mb: int = 1024
    # evaluate scripts the compiler handles as numba kernels (identical outputs; see docs/evalscripts.md)
    evalscript_compiled: bool = True
    # evaluations smaller than this (pixels x samples) use a compiled kernel only if one exists already
    evalscript_compile_min_pixels: int = 1_000_000

    # worker limits (docs/operations.md, "Worker limits"); 0 turns a limit off
    worker_confinement: str = Field(default="auto", description="auto | cgroup | watchdog | none")
    tile_time_limit_s: float = Field(default=600.0, description="Wall-clock time per tile attempt")
    tile_cpu_limit_s: float = Field(default=1200.0, description="CPU time per tile attempt (all threads)")
    analysis_time_limit_s: float = Field(default=20.0, description="Evalscript check at analysis, per try")
    shutdown_grace_s: float = Field(default=30.0, description="SIGTERM: how long running tiles may finish")
    dask_confine_tiles: bool = Field(
        default=True, description="Dask: run each tile in a confined worker process with the limits above"
    )

    # cleanup of stale requests (seconds since last_updated; 0 disables that kind), see docs/engine.md
    cleanup_interval_s: float = Field(default=300.0, description="How often a scheduler looks for stale requests")
    cleanup_failed_after_s: float = 30 * 86400
    cleanup_unstarted_after_s: float = 30 * 86400
    cleanup_finished_after_s: float = Field(default=90 * 86400, description="DONE, PARTIAL and CANCELED requests")
    cleanup_stopped_after_s: float = Field(
        default=0.0, description="STOPPED requests (resumable); 0, the default, keeps them until the user acts"
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'eobatch.sqlite').resolve()}"

    @property
    def buckets_dir(self) -> Path:
        """Local folder standing in for S3: one sub-folder per bucket."""
        return self.data_dir / "buckets"

    @property
    def archive_dir(self) -> Path:
        """Where the built-in demo collection is generated."""
        return self.data_dir / "archive"
