"""The catalogue of tiling grids (ids 0-3, 6, 7) and the checks on a grid id and a resolution."""

from __future__ import annotations

import math

from eobatch.errors import BadRequest, NotFound, Violation
from eobatch.grids.model import TilingGrid

GRIDS: dict[int, TilingGrid] = {
    g.id: g
    for g in (
        TilingGrid(0, "UTM 20km grid", 20040.0, 20040.0, (10.0, 20.0, 30.0, 60.0), "METRE"),
        TilingGrid(1, "UTM 10km grid", 10000.0, 10000.0, (10.0, 20.0), "METRE"),
        TilingGrid(2, "UTM 100km grid", 100080.0, 100080.0, (30.0, 60.0, 120.0, 240.0, 360.0), "METRE"),
        TilingGrid(3, "WGS84 1 degree grid", 1.0, 1.0, (0.0001, 0.0002), "DEGREE"),
        TilingGrid(6, "LAEA 100km grid", 100000.0, 100000.0, (40.0, 50.0, 100.0), "METRE"),
        TilingGrid(7, "LAEA 20km grid", 20000.0, 20000.0, (10.0, 20.0), "METRE"),
    )
}


def list_grids() -> list[TilingGrid]:
    """Every grid, ordered by id."""
    return [GRIDS[k] for k in sorted(GRIDS)]


def get_grid(grid_id: int) -> TilingGrid:
    """The grid with this id; `NotFound` for an unknown id (GET /tilinggrids/{id})."""
    grid = GRIDS.get(_as_int(grid_id, "id"))
    if grid is None:
        raise NotFound(f"Tiling grid {grid_id} does not exist; known grids: {_known()}.")
    return grid


def grid_for_request(grid_id: object, parameter: str = "tilingGrid.id") -> TilingGrid:
    """The grid a request names; `BadRequest` (not 404) when the id is unknown."""
    grid = GRIDS.get(_as_int(grid_id, parameter))
    if grid is None:
        message = f"Unknown tiling grid id {grid_id!r}; allowed ids: {_known()}."
        raise BadRequest(message, [Violation(parameter, message)])
    return grid


def as_wire(grid: TilingGrid) -> dict:
    """The JSON object of GET /api/v1/batch/tilinggrids/{id}."""
    return {
        "id": grid.id,
        "name": grid.name,
        "properties": {
            "tileWidth": grid.tile_width,
            "tileHeight": grid.tile_height,
            "resolutions": list(grid.resolutions),
            "unit": grid.unit,
        },
    }


def check_resolution(grid: TilingGrid, resolution: object, parameter: str = "tilingGrid.resolution") -> float:
    """The grid's own value for `resolution`; `BadRequest` naming the allowed ones otherwise."""
    if isinstance(resolution, int | float) and not isinstance(resolution, bool) and math.isfinite(resolution):
        for allowed in grid.resolutions:
            if math.isclose(float(resolution), allowed, rel_tol=1e-9, abs_tol=0.0):
                return allowed
    allowed_text = ", ".join(f"{r:g}" for r in grid.resolutions)
    message = (
        f"Resolution {resolution!r} is not supported by tiling grid {grid.id} ({grid.name}); "
        f"allowed resolutions in {grid.unit}: {allowed_text}."
    )
    raise BadRequest(message, [Violation(parameter, message)])


def _as_int(value: object, parameter: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        message = f"Tiling grid id must be an integer, got {value!r}."
        raise BadRequest(message, [Violation(parameter, message)])
    try:
        return int(value)
    except ValueError:
        message = f"Tiling grid id must be an integer, got {value!r}."
        raise BadRequest(message, [Violation(parameter, message)]) from None


def _known() -> str:
    return ", ".join(str(k) for k in sorted(GRIDS))
