"""Read the requested bands of one scene onto the tile grid and convert DN to the requested units.

The first band is read alone: when it has no valid pixel where the mosaic still needs data, the scene
is skipped without reading the others. The remaining bands are read by a small thread pool (GDAL
releases the GIL) or sequentially (`band_workers=1`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import rasterio

from eobatch.errors import TileFailure
from eobatch.processing.grid import TargetGrid
from eobatch.processing.mosaic import DATA_MASK, SceneData
from eobatch.processing.read import NoOverlap, read_onto_grid, resampling_for
from eobatch.processing.sources import open_source
from eobatch.settings import Settings

DEFAULT_BAND_WORKERS = 1  # measured (bench_pipeline): threads were slower on 2 cores


@dataclass
class BandPlan:
    """How one band is read and converted: value = (DN + dn_offset) * scale + offset, then a
    brightness temperature when `planck` = (K1, K2) is given."""

    name: str
    nodata: float | None
    scale: float
    offset: float
    raw_dn: bool  # units DN: no scaling
    clamp_negative: bool  # harmonizeValues on a reflectance band
    planck: tuple[float, float] | None = None
    resampling: str | None = None  # fixed interpolation for this band (angle grids)


@dataclass
class SceneReader:
    """Callable `(scene, wanted) -> SceneData | None` for `mosaic.first_valid` and friends."""

    collection: object  # collections.Collection
    plans: Sequence[BandPlan]
    grid: TargetGrid
    settings: Settings
    processing: dict
    harmonize: bool = True
    band_workers: int = DEFAULT_BAND_WORKERS
    read_seconds: float = field(default=0.0, init=False)

    def __call__(self, scene, wanted: np.ndarray) -> SceneData | None:
        started = time.perf_counter()
        try:
            return self._read(scene, wanted)
        finally:
            self.read_seconds += time.perf_counter() - started

    def _read(self, scene, wanted: np.ndarray) -> SceneData | None:
        first, rest = self.plans[0], self.plans[1:]
        try:
            first_dn = self._read_band(scene, first)
        except NoOverlap:
            return None
        valid = ~np.isnan(first_dn)
        if not np.any(valid & wanted):
            return None
        if len(rest) > 1 and self.band_workers > 1:
            with ThreadPoolExecutor(max_workers=min(self.band_workers, len(rest))) as pool:
                others = list(pool.map(lambda p: self._read_band_or_empty(scene, p), rest))
        else:
            others = [self._read_band_or_empty(scene, p) for p in rest]
        dn = [first_dn, *others]
        for arr in others:
            valid &= ~np.isnan(arr)
        offset = self.collection.harmonize_offset(scene) if self.harmonize else 0.0
        bands = {plan.name: _to_values(arr, plan, offset) for plan, arr in zip(self.plans, dn, strict=True)}
        if _family(self.collection) == "sar":
            self._backscatter(scene, bands, valid)
        return SceneData(bands, valid)

    def _backscatter(self, scene, bands: dict[str, np.ndarray], valid: np.ndarray) -> None:
        """Convert the polarisation bands to the requested backscatter coefficient, then speckle-filter."""
        from eobatch.collections.options import parse_sar_processing
        from eobatch.collections.presets import S1_POLARISATIONS
        from eobatch.processing.sar import conversion_factor, lee_filter, same_scale

        options = parse_sar_processing(self.processing)
        stored = self.collection.traits.stored_coefficient
        names = [n for n in bands if n in S1_POLARISATIONS]
        if not names:
            return
        factor = None
        if not same_scale(stored, options.back_coeff):
            factor = conversion_factor(self._incidence(scene, bands), stored, options.back_coeff)
        for name in names:
            values = bands[name] if factor is None else bands[name] * factor
            if options.speckle_window is not None:
                values = lee_filter(values, valid, options.speckle_window)
            bands[name] = values

    def _incidence(self, scene, bands: dict[str, np.ndarray]) -> np.ndarray:
        name = "localIncidenceAngle"
        if name in bands:
            return bands[name]
        spec = self.collection.bands.get(name)
        if spec is None or name not in scene.assets:
            raise TileFailure(
                f"Scene {scene.id} has no incidence angle asset, so its {self.collection.traits.stored_coefficient} "
                "backscatter cannot be converted to the requested processing.backCoeff",
                retryable=False,
            )
        plan = BandPlan(name, spec.nodata, 1.0, 0.0, True, False, resampling=spec.resampling)
        return self._read_band_or_empty(scene, plan)

    def _read_band_or_empty(self, scene, plan: BandPlan) -> np.ndarray:
        try:
            return self._read_band(scene, plan)
        except NoOverlap:
            return np.full(self.grid.shape, np.nan, dtype=np.float32)

    def _read_band(self, scene, plan: BandPlan) -> np.ndarray:
        href = scene.assets.get(plan.name)
        if not href:
            raise TileFailure(
                f"Scene {scene.id} has no asset for band {plan.name}; it has: {', '.join(scene.assets) or 'none'}",
                retryable=False,
            )
        with open_source(href, self.grid, self.collection.access) as src:
            processing = self.processing
            if plan.resampling:
                processing = {"upsampling": plan.resampling, "downsampling": plan.resampling}
            resampling = resampling_for(processing, _native_resolution(src, self.grid), self.grid.resolution)
            return read_onto_grid(src, self.grid, resampling, plan.nodata)


def band_plans(collection, bands: Sequence[str], units: Sequence[str], harmonize: bool) -> list[BandPlan]:
    """The plans for an input's bands (dataMask excluded; it comes from the mosaic)."""
    plans = []
    check_units = getattr(collection, "check_units", None)
    if check_units is not None:
        check_units(bands, units)
    for name, unit in zip(bands, units, strict=True):
        if name == DATA_MASK:
            continue
        spec = collection.bands[name]
        raw = spec.is_raw(unit)
        reflectance = str(spec.unit).upper() == "REFLECTANCE" and not raw
        plans.append(
            BandPlan(
                name,
                spec.nodata,
                spec.scale,
                spec.offset,
                raw,
                harmonize and reflectance,
                None if raw else spec.planck,
                spec.resampling,
            )
        )
    if not plans:  # only dataMask requested: read the first asset band for validity
        spec = next(iter(collection.asset_bands.values()))
        plans.append(BandPlan(spec.name, spec.nodata, 1.0, 0.0, True, False))
    return plans


def _to_values(dn: np.ndarray, plan: BandPlan, dn_offset: float) -> np.ndarray:
    """DN (float32, NaN = no data) -> the requested units, in place."""
    if dn_offset:
        dn += np.float32(dn_offset)
    if not plan.raw_dn and (plan.scale != 1.0 or plan.offset != 0.0):
        dn *= np.float32(plan.scale)
        if plan.offset:
            dn += np.float32(plan.offset)
    if plan.clamp_negative:
        np.maximum(dn, 0.0, out=dn)  # NaN stays NaN
    if plan.planck is not None:
        k1, k2 = plan.planck
        with np.errstate(divide="ignore", invalid="ignore"):
            dn = (np.float32(k2) / np.log(np.float32(k1) / dn + np.float32(1.0))).astype(np.float32)
    return dn


def _family(collection) -> str:
    traits = getattr(collection, "traits", None)
    return getattr(traits, "family", "optical")


def _native_resolution(src: rasterio.DatasetReader, grid: TargetGrid) -> float:
    """The opened source's pixel size in the grid's units (an overview, when one was chosen, is still
    at least as fine as the grid, so the up/downsampling decision is unchanged)."""
    res = max(abs(src.transform.a), abs(src.transform.e))
    if src.crs is None or src.crs == grid.crs:
        return res
    if src.crs.is_geographic and not grid.crs.is_geographic:
        return res * 111_320.0
    if not src.crs.is_geographic and grid.crs.is_geographic:
        return res / 111_320.0
    return res
