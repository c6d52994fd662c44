"""Regular square lattices: which cells of side `size` a polygon reaches into, found in vectorised batches.

Cell (i, j) spans x = i*size .. (i+1)*size and y = (j-1)*size .. j*size: `i` counts cells from x = 0
and `j` is the top edge in cells from y = 0, so (i*size, j*size) is the cell's upper-left corner.
A cell is selected when the polygon reaches more than `EDGE_TOLERANCE` cell widths inside it, which
ignores polygons that only touch a cell's edge and slivers left by reprojection round-off.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

EDGE_TOLERANCE = 1e-6  # in cell widths
BATCH = 1 << 18  # candidate cells tested per vectorised call
BLOCK = 8  # cells a side of the blocks tested before their cells


def cells_in(part: BaseGeometry, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) of the cells `part` reaches into, sorted by i then by descending j.

    Blocks of `BLOCK` x `BLOCK` cells are tested first: every cell of a block inside `part` is reached, no
    cell of a block `part` misses is; only the cells of the blocks on its edge are tested one by one (the
    same cells, with far fewer geometries made)."""
    if part.is_empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    minx, miny, maxx, maxy = part.bounds
    i0, i1 = math.floor(minx / size), math.ceil(maxx / size)  # i in [i0, i1)
    i1 = max(i1, i0 + 1)
    j0, j1 = math.floor(miny / size) + 1, math.ceil(maxy / size)  # j in [j0, j1]
    shapely.prepare(part)
    left = np.arange(i0, i1, BLOCK, dtype=np.int64)  # each block's first column and top row
    top = np.arange(j1, j0 - 1, -BLOCK, dtype=np.int64)
    tops, lefts = np.meshgrid(top, left)
    lefts, tops = lefts.ravel(), tops.ravel()
    rights, bottoms = np.minimum(lefts + BLOCK, i1), np.maximum(tops - BLOCK, j0 - 1)  # exclusive
    blocks = shapely.box(lefts * size, bottoms * size, rights * size, tops * size)
    inside = shapely.contains(part, blocks)
    edge = shapely.intersects(part, blocks) & ~inside
    found_i, found_j = [], []
    for selected, test in ((inside, False), (edge, True)):
        di, dj = np.divmod(np.arange(BLOCK * BLOCK, dtype=np.int64), BLOCK)
        ii = (lefts[selected][:, None] + di[None, :]).ravel()
        jj = (tops[selected][:, None] - dj[None, :]).ravel()
        keep = (ii < np.repeat(rights[selected], BLOCK * BLOCK)) & (jj > np.repeat(bottoms[selected], BLOCK * BLOCK))
        ii, jj = ii[keep], jj[keep]
        if test:
            ii, jj = _reached(part, ii, jj, size)
        found_i.append(ii)
        found_j.append(jj)
    i, j = np.concatenate(found_i), np.concatenate(found_j)
    order = np.lexsort((-j, i))
    return i[order], j[order]


def _reached(part: BaseGeometry, i: np.ndarray, j: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The cells (i, j) that the prepared `part` reaches into (`reaches_into`), tested in batches."""
    inset = EDGE_TOLERANCE * size
    hit = np.zeros(len(i), dtype=bool)
    for start in range(0, len(i), BATCH):
        ii, jj = i[start : start + BATCH], j[start : start + BATCH]
        boxes = shapely.box(ii * size + inset, (jj - 1) * size + inset, (ii + 1) * size - inset, jj * size - inset)
        hit[start : start + BATCH] = shapely.intersects(part, boxes)
    return i[hit], j[hit]


def cell_bounds(i: int, j: int, size: float) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of cell (i, j)."""
    return (float(i * size), float((j - 1) * size), float((i + 1) * size), float(j * size))


def cells_bounds_array(i: np.ndarray, j: np.ndarray, size: float) -> np.ndarray:
    """`cell_bounds` of many cells as an (n, 4) float64 array (the same floats)."""
    columns = (i * size, (j - 1) * size, (i + 1) * size, j * size)
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in columns]).reshape(len(i), 4)


def reaches_into(part: BaseGeometry, i: int, j: int, size: float) -> bool:
    """Whether `part` reaches into cell (i, j) (the selection rule of `cells_in`, for one cell)."""
    inset = EDGE_TOLERANCE * size
    return bool(
        shapely.intersects(
            part, shapely.box(i * size + inset, (j - 1) * size + inset, (i + 1) * size - inset, j * size - inset)
        )
    )
