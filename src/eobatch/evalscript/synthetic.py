"""Small, deterministic synthetic inputs of the right shape for a script (validation and tests)."""

from __future__ import annotations

import re
import zlib
from datetime import datetime, timedelta

import numpy as np

from eobatch.evalscript.spec import InputSpec, SceneInfo, SetupInfo

MAX_SCENES = 400


def synthetic_scenes(mosaicking: str, time_from: datetime, time_to: datetime, every_days: int = 1) -> list[SceneInfo]:
    """One scene per `every_days` UTC days from time_to back to time_from (at most MAX_SCENES), newest
    first (mostRecent order); a single scene for SIMPLE mosaicking."""
    out = []
    day = time_to.replace(hour=10, minute=30, second=0, microsecond=0)
    if day > time_to:
        day -= timedelta(days=1)
    while day >= time_from and len(out) < (1 if mosaicking == "SIMPLE" else MAX_SCENES):
        n = len(out)
        out.append(
            SceneInfo(
                id=str(1000 + n),
                date=day,
                cloud_cover=float((7 * n) % 100),
                data_path=f"synthetic://scene/{n}",
                tile_id=f"T{n}",
            )
        )
        day -= timedelta(days=every_days)
    return out


def _range(band: str, unit: str) -> tuple[float, float, bool]:
    """(low, high, integer) of plausible values for a band name and unit."""
    if band == "dataMask":
        return (0.0, 1.0, True)
    if band in ("SCL",):
        return (0.0, 11.0, True)
    if band in ("CLM", "shadowMask"):
        return (0.0, 1.0, True)
    if band in ("CLP",):
        return (0.0, 255.0, True)
    if band in ("CLD", "SNW"):
        return (0.0, 100.0, True)
    if band == "DEM":
        return (-50.0, 3000.0, False)
    if band in ("BQA", "QA_PIXEL") or "QUALITY" in band.upper():
        return (0.0, 65535.0, True)
    if re.search(r"Angle|Mean$", band):
        return (0.0, 90.0, False)
    if unit == "DN":
        return (0.0, 6000.0, True)
    if unit in ("KELVIN", "BRIGHTNESS_TEMPERATURE"):
        return (260.0, 320.0, False)
    return (0.0, 0.6, False)


def synthetic_band(band: str, unit: str, shape: tuple[int, int], seed: int) -> np.ndarray:
    """Deterministic float32 values for one band; dataMask is 1 except one pixel."""
    rng = np.random.default_rng(zlib.crc32(f"{band}/{seed}".encode()))
    low, high, integer = _range(band, unit)
    if band == "dataMask":
        values = np.ones(shape, dtype=np.float32)
        values.flat[-1] = 0
        return values
    values = rng.uniform(low, high, size=shape)
    return (np.floor(values) if integer else values).astype(np.float32)


def _sample(spec: InputSpec, shape: tuple[int, int], seed: int) -> dict[str, np.ndarray]:
    return {b: synthetic_band(b, u, shape, seed) for b, u in zip(spec.bands, spec.units, strict=True)}


def synthetic_samples(
    setup: SetupInfo, scenes: dict[str | None, list[SceneInfo]], shape: tuple[int, int]
) -> dict[str | None, list[dict[str, np.ndarray]]]:
    """One sample per SIMPLE input, one per UTC day (ORBIT) or scene (TILE) of `scenes`."""
    from eobatch.evalscript.scenes import group_by_day

    out: dict[str | None, list[dict[str, np.ndarray]]] = {}
    for spec in setup.inputs:
        listed = scenes.get(spec.datasource, [])
        if spec.mosaicking == "SIMPLE":
            count = 1
        elif spec.mosaicking == "ORBIT":
            count = len(group_by_day(listed))
        else:
            count = len(listed)
        out[spec.datasource] = [_sample(spec, shape, k) for k in range(count)]
    return out
