"""Boustrophedon cells: runs of swath pieces a machine can work back and forth.

Where holes, obstacles or a non-convex edge split a strip into several pieces, a
single back-and-forth over the whole field would jump across them. The pieces are
grouped like a boustrophedon cell decomposition: a piece continues the cell of the
piece on the previous strip when each is the other's only neighbour (the two field
pieces touch); a split or a merge starts new cells. Inside a cell consecutive
swaths are neighbours, so each turn is a short U-turn.
"""

from __future__ import annotations

import numpy as np
import shapely

from demine.fieldops.swaths import Layout


def decompose(lay: Layout) -> list[np.ndarray]:
    """Cells as arrays of piece indices (one piece per strip, consecutive strips)."""
    n = lay.count
    if n == 0:
        return []
    tree = shapely.STRtree(lay.pieces)
    a, b = tree.query(lay.pieces, predicate="intersects")
    nxt = (lay.line[b] == lay.line[a] + 1)
    a, b = a[nxt], b[nxt]
    succ_count = np.bincount(a, minlength=n)
    pred_count = np.bincount(b, minlength=n)
    single = (succ_count[a] == 1) & (pred_count[b] == 1)
    follows = np.full(n, -1)
    follows[b[single]] = a[single]
    cells: list[list[int]] = []
    cell_of = np.full(n, -1)
    for i in range(n):  # pieces are sorted by strip, so a predecessor is seen first
        p = follows[i]
        if p >= 0:
            cell_of[i] = cell_of[p]
            cells[cell_of[i]].append(i)
        else:
            cell_of[i] = len(cells)
            cells.append([i])
    return [np.asarray(c) for c in cells]
