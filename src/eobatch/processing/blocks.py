"""Row blocks of a tile: the pipeline reads, mosaics, evaluates and stages one block at a time.

A block is the tile's pixel grid restricted to some rows: same CRS, resolution and columns, its
transform moved down by the block's first row, so every pixel keeps its position (and its value).
"""

from __future__ import annotations

from dataclasses import dataclass

from affine import Affine

from eobatch.processing.grid import TargetGrid


@dataclass(frozen=True)
class Block:
    """Rows `row0` to `row0 + grid.height` of a tile, as a grid of their own."""

    row0: int
    grid: TargetGrid


def block_grid(grid: TargetGrid, row0: int, rows: int) -> TargetGrid:
    """The rows `row0` .. `row0 + rows` of `grid`."""
    return TargetGrid(grid.epsg, grid.transform @ Affine.translation(0, row0), grid.width, rows)


def row_blocks(grid: TargetGrid, rows: int) -> list[Block]:
    """The tile cut into blocks of `rows` rows (the last one may be shorter); one block when `rows`
    covers the tile (then its grid is the tile's own)."""
    rows = max(1, rows)
    if rows >= grid.height:
        return [Block(0, grid)]
    return [Block(r0, block_grid(grid, r0, min(rows, grid.height - r0))) for r0 in range(0, grid.height, rows)]
