"""Real, small, picklable tile task functions for engine tests; behaviour set by the request's `output`.

output keys: dir (where tiles are written), sleep_s, cost_pu, fail (tile names failing while the
`fail_marker` file exists), fatal (tile names failing without retry), kill (tile names whose first
attempt SIGKILLs its own worker; `dir`/killed-<name> remembers it).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from eobatch.engine.tasks import TileSpec
from eobatch.errors import TileFailure


@dataclass
class SmallResult:
    bytes_written: int
    outputs: list[str] = field(default_factory=list)
    scene_count: int = 1
    no_data: bool = False
    cost_pu: float = 0.0


def tile_task(spec: TileSpec) -> SmallResult:
    options = spec.request.stored_output or {}
    name = spec.tile.name
    out = Path(options["dir"]) / spec.request.id
    out.mkdir(parents=True, exist_ok=True)
    with (out / "started.log").open("a") as log:
        log.write(f"{name}\n")
    if name in options.get("kill", ()):
        marker = out / f"killed-{name}"
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
    if name in options.get("fatal", ()):
        raise TileFailure(f"tile {name}: the evalscript returned no value", retryable=False)
    if name in options.get("fail", ()) and Path(options["fail_marker"]).exists():
        raise TileFailure(f"object store unavailable while writing {name}", retryable=True)
    time.sleep(options.get("sleep_s", 0.0))
    data = f"{spec.request.id} {name}\n".encode()
    target = out / f"{name}.txt"
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)  # atomic: written once, complete or absent
    with (out / "runs.log").open("a") as log:
        log.write(f"{name}\n")
    return SmallResult(bytes_written=len(data), outputs=[str(target)], cost_pu=options.get("cost_pu", 3.0))


@dataclass
class Parcel:
    """A payload with one large field (as a request's area or evalscript can be)."""

    name: str
    blob: str


def parcel_task(parcel: Parcel) -> SmallResult:
    return SmallResult(bytes_written=len(parcel.blob), outputs=[parcel.name])
