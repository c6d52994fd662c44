"""`lattice.cells_in` decides whole blocks of cells at once; it must select exactly the cells that testing
every candidate cell of the part's bounds (`reaches_into`'s rule) selects, in the same order."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import shapely

from eobatch.grids import lattice


def _every_cell(part: shapely.Geometry, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Every cell of the part's bounds tested on its own, sorted as `cells_in` sorts."""
    minx, miny, maxx, maxy = part.bounds
    i0, i1 = math.floor(minx / size), math.ceil(maxx / size)
    j0, j1 = math.floor(miny / size) + 1, math.ceil(maxy / size)
    cells = [(i, j) for i in range(i0, max(i1, i0 + 1)) for j in range(j1, j0 - 1, -1)]
    hits = [(i, j) for i, j in cells if lattice.reaches_into(part, i, j, size)]
    i = np.array([c[0] for c in hits], dtype=np.int64)
    j = np.array([c[1] for c in hits], dtype=np.int64)
    order = np.lexsort((-j, i))
    return i[order], j[order]


def _shapes(rng: random.Random, size: float) -> list[shapely.Geometry]:
    cx, cy = rng.uniform(-50, 50) * size, rng.uniform(-50, 50) * size
    x, y = round(cx / size) * size, round(cy / size) * size
    return [
        shapely.box(cx, cy, cx + rng.uniform(0, 25) * size, cy + rng.uniform(0, 25) * size),
        shapely.Point(cx, cy).buffer(rng.uniform(0.1, 20) * size),
        shapely.box(x, y, x + rng.randint(1, 20) * size, y + rng.randint(1, 20) * size),  # edges on cell edges
        shapely.Polygon(
            [(cx + rng.uniform(-15, 15) * size, cy + rng.uniform(-15, 15) * size) for _ in range(8)]
        ).buffer(0),
        shapely.Point(cx, cy).buffer(rng.uniform(8, 20) * size).difference(shapely.Point(cx, cy).buffer(5 * size)),
        shapely.box(x, y, x + 9 * size, y + 17 * size).union(shapely.box(x + 30 * size, y, x + 31 * size, y + size)),
        shapely.LineString([(cx, cy), (cx + 5 * size, cy + 7 * size)]).buffer(size / 1e7),  # thinner than the inset
    ]


@pytest.mark.parametrize("size", [1, 3, 10000, 20040, 100080])
def test_cells_in_selects_the_cells_every_cell_test_selects(size) -> None:
    rng = random.Random(size)
    found = 0
    for _ in range(6):
        for part in _shapes(rng, size):
            i, j = lattice.cells_in(part, size)
            expected_i, expected_j = _every_cell(part, size)
            assert i.tolist() == expected_i.tolist() and j.tolist() == expected_j.tolist()
            found += len(i)
    assert found > 1000  # blocks inside, on the edge and outside were all seen
