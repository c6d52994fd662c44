"""The v2 execution database: `execution-<requestId>.sqlite` in the output root, uploaded during processing.

Table `features(id INTEGER, name TEXT, status TEXT, error TEXT, delivered BOOLEAN)` with status
PENDING, DONE (no data: DONE with error "No data") or FATAL (batch-api.md §4.1). It replaces the v1
tile routes, so it is rebuilt from the tile rows and uploaded at intervals and once at the end.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eobatch.artifacts.manifest import output_root
from eobatch.storage import ObjectStorage

PENDING, DONE, FATAL = "PENDING", "DONE", "FATAL"
NO_DATA = "No data"
SCHEMA = "CREATE TABLE features (id INTEGER PRIMARY KEY, name TEXT, status TEXT, error TEXT, delivered BOOLEAN)"


@dataclass(frozen=True)
class ExecutionRecord:
    """One feature (tile) row of the execution database."""

    id: int
    name: str
    status: str
    error: str | None
    delivered: bool


def record_for_tile(tile: Any) -> ExecutionRecord:
    """The execution row of a stored tile (anything with tile_id, name, status, error, no_data).

    PROCESSED -> DONE (error "No data" and not delivered when nothing was found), FAILED -> FATAL,
    every other status -> PENDING.
    """
    status = str(tile.status)
    if status == "PROCESSED":
        no_data = bool(getattr(tile, "no_data", False))
        return ExecutionRecord(int(tile.tile_id), tile.name, DONE, NO_DATA if no_data else None, not no_data)
    if status == "FAILED":
        return ExecutionRecord(int(tile.tile_id), tile.name, FATAL, tile.error or "failed", False)
    return ExecutionRecord(int(tile.tile_id), tile.name, PENDING, None, False)


def write_execution_db(records: Iterable[ExecutionRecord], path: str | Path) -> Path:
    """Write the execution database to a local `path` (replacing it)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(SCHEMA)
        connection.executemany(
            "INSERT INTO features (id, name, status, error, delivered) VALUES (?, ?, ?, ?, ?)",
            [(r.id, r.name, r.status, r.error, r.delivered) for r in records],
        )
    connection.close()
    return path


def execution_db_bytes(records: Iterable[ExecutionRecord]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="eobatch-execution-") as folder:
        return write_execution_db(records, Path(folder) / "execution.sqlite").read_bytes()


def execution_db_url(template: str, request_id: str) -> str:
    return f"{output_root(template)}execution-{request_id}.sqlite"


def upload_execution_db(
    storage: ObjectStorage, template: str, request_id: str, records: Sequence[ExecutionRecord]
) -> str:
    """Write the execution database to the output root; returns its URL (storage errors propagate)."""
    url = execution_db_url(template, request_id)
    storage.put(url, execution_db_bytes(records))
    return url


class ExecutionDbUploads:
    """Decides when a request's execution database is due again: at most once per `interval_s`,
    and always when `final` (the request is leaving PROCESSING)."""

    def __init__(self, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}

    def due(self, request_id: str, *, final: bool = False) -> bool:
        last = self._last.get(request_id)
        return final or last is None or self._clock() - last >= self.interval_s

    def upload_if_due(
        self,
        storage: ObjectStorage,
        template: str,
        request_id: str,
        tiles: Callable[[], Iterable[Any]],
        *,
        final: bool = False,
    ) -> str | None:
        """Upload the rows of `tiles()` when due; returns the URL or None when it was not due."""
        if not self.due(request_id, final=final):
            return None
        url = upload_execution_db(storage, template, request_id, [record_for_tile(t) for t in tiles()])
        if final:
            self._last.pop(request_id, None)
        else:
            self._last[request_id] = self._clock()
        return url
