"""Mosaicking: turn per-scene reads into the samples an evalscript sees (SIMPLE, ORBIT, TILE).

A `SceneReader` reads one scene lazily: first one band, so a scene that adds no new pixel is skipped
without reading the rest. Every sample carries `dataMask` (1 where data exists and inside the area of
interest) and band values of 0 wherever `dataMask` is 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DATA_MASK = "dataMask"


@dataclass
class SceneData:
    """One scene on the tile grid: band values (float32) and where all of them are valid."""

    bands: dict[str, np.ndarray]
    valid: np.ndarray


# read(scene, wanted) -> SceneData or None when the scene has no valid pixel where `wanted` is True
SceneReader = Callable[[object, np.ndarray], SceneData | None]
Sample = dict[str, np.ndarray]


def first_valid(
    scenes: Sequence[object],
    read: SceneReader,
    aoi: np.ndarray,
    bands: Sequence[str],
    stop_when_full: bool = True,
    fill: float = 0.0,
) -> Sample:
    """One sample: each pixel from the first scene (in the given order) with valid data there.
    Bands of pixels without data hold `fill` (0; NaN on Landsat)."""
    shape = aoi.shape
    need = aoi.copy()
    out: dict[str, np.ndarray] | None = None
    filled = np.zeros(shape, dtype=bool)
    for scene in scenes:
        if stop_when_full and not need.any():
            break
        got = read(scene, need)
        if got is None:
            continue
        take = got.valid & need
        if out is None:
            # adopt the first contributing scene's arrays; pixels outside `take` are overwritten by
            # later scenes or zeroed by _finish, so no copy is needed
            out = {b: got.bands[b] for b in bands}
        else:
            for b in bands:
                np.copyto(out[b], got.bands[b], where=take)
        filled |= take
        need &= ~take
        del got, take  # free this scene before reading the next
    if out is None:
        out = {b: np.zeros(shape, dtype=np.float32) for b in bands}
    return _finish(out, filled, fill)


def per_scene(
    scenes: Sequence[object], read: SceneReader, aoi: np.ndarray, bands: Sequence[str], fill: float = 0.0
) -> list[Sample]:
    """TILE mosaicking: one sample per scene, in order."""
    samples = []
    for scene in scenes:
        got = read(scene, aoi)
        if got is None:
            empty = {b: np.zeros(aoi.shape, np.float32) for b in bands}
            samples.append(_finish(empty, np.zeros(aoi.shape, bool), fill))
            continue
        valid = got.valid & aoi
        samples.append(_finish({b: got.bands[b] for b in bands}, valid, fill))
    return samples


def per_day(
    days: Sequence[Sequence[object]], read: SceneReader, aoi: np.ndarray, bands: Sequence[str], fill: float = 0.0
) -> list[Sample]:
    """ORBIT mosaicking: one first-valid mosaic per UTC day (groups already in order)."""
    return [first_valid(day, read, aoi, bands, fill=fill) for day in days]


def _finish(out: dict[str, np.ndarray], valid: np.ndarray, fill: float = 0.0) -> Sample:
    """Set every band to `fill` where there is no data and add `dataMask`."""
    if not valid.all():
        invalid = ~valid
        for arr in out.values():
            arr[invalid] = fill
    out[DATA_MASK] = valid.astype(np.float32)
    return out
