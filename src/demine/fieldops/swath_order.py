"""In which order a machine with a turning radius works the swaths of one cell.

Back and forth onto the neighbouring swath is the natural order, but when the swath
spacing is under the turning diameter every such U-turn is a bulb (omega) turn of
about ``(pi + 4 * asin(...)) * r``: 19 m for a 3 m radius and 2.4 m spacing, against
10.6 m for a plain loop onto a swath three spacings away. Skipping swaths saves turn
length where the swath ends line up, and loses it where they do not: where the edge
runs slanted to the swaths, the ends of swaths k apart are k times further apart
along the track, and the machine drives that offset on every turn.

So the order is chosen piecewise. The cell's swaths are cut into consecutive blocks,
each worked plain, as an interleave of k-apart swaths, or in the i, i+K pattern; every
block starts at its first swath and ends at its last, so the blocks join with one
plain turn and each can be chosen on its own. A shortest-path pass over the block
boundaries picks the blocks, the turns costed as exact Dubins lengths (no geometry).
The caller still drives every candidate order for real, checks that its turns stay in
the free ground, and keeps the shortest; the plain order is always among them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from demine.fieldops.turns import dubins_candidates

#: Interleaved blocks of k * q swaths are tried for q in this range.
INTERLEAVE_ROWS = range(2, 6)
#: Swaps of swaths at most this many positions apart, for at most this many passes.
SWAP_WINDOW = 6
SWAP_PASSES = 20


def interleave(n: int, k: int) -> list[int]:
    """0, k, 2k, ... then the next residue back down, and so on: k apart but at k-1 seams."""
    order: list[int] = []
    for c in range(k):
        rows = list(range(c, n, k))
        order += rows if c % 2 == 0 else rows[::-1]
    return order


def grid(n: int, k: int) -> list[int]:
    """0, k, 2k, ..., 1, 1+k, ...: k apart, starting at the first swath, ending at the last."""
    return [c + k * q for c in range(k) for q in range(n // k)]


def pairs(k: int) -> list[int]:
    """i, i+k for i in 0..k-1 (a block of 2k): jumps of +k and -(k-1)."""
    out: list[int] = []
    for i in range(k):
        out += [i, i + k]
    return out


class TurnLengths:
    """Shortest forward turn lengths between swath ends, memoised over a whole plan.

    Swaths are indexed as in ``starts``/``ends`` (the layout's pieces); a turn leaves
    swath ``a`` at its end (``at_end``) or its start and enters swath ``b`` at the same
    side, heading back. One table serves every entry corner tried for a cell.
    """

    def __init__(self, starts: np.ndarray, ends: np.ndarray, heading: float,
                 radius: float) -> None:
        self.starts, self.ends, self.heading, self.radius = starts, ends, heading, radius
        self._memo: dict[tuple[int, int, bool], float] = {}

    def __call__(self, a: int, b: int, at_end: bool) -> float:
        key = (a, b, at_end)
        if key not in self._memo:
            leave = self.ends[a] if at_end else self.starts[a]
            enter = self.ends[b] if at_end else self.starts[b]
            h = self.heading if at_end else self.heading + math.pi
            paths = dubins_candidates((leave[0], leave[1], h), (enter[0], enter[1], h + math.pi),
                                      self.radius)
            self._memo[key] = paths[0].length if paths else math.inf
        return self._memo[key]


def sequence_cost(pieces: np.ndarray, forward: bool, turns: TurnLengths
                  ) -> Callable[[int, int, int], float]:
    """cost(a, b, t): the turn from the cell's a-th swath at position t onto its b-th."""
    ids = [int(i) for i in pieces]

    def cost(a: int, b: int, t: int) -> float:
        return turns(ids[a], ids[b], forward == (t % 2 == 0))
    return cost


def order_cost(order: list[int] | np.ndarray, cost: Callable[[int, int, int], float],
               first: int = 0) -> float:
    """Turn length of working ``order`` (offset by ``first``) from sequence position
    ``first`` on: a block over the swaths [i, j) fills the positions [i, j)."""
    return sum(cost(int(a) + first, int(b) + first, first + i)
               for i, (a, b) in enumerate(itertools.pairwise(order)))


def piecewise_order(n: int, cost: Callable[[int, int, int], float], k: int) -> list[int]:
    """Cheapest concatenation of plain, interleaved and paired blocks (swath indices).

    ``k`` is the fewest swaths apart that a plain loop turn reaches (k * spacing at least
    the turning diameter). A block covering the swaths [i, j) fills the sequence
    positions [i, j), so which end each turn is at (the position's parity) is known
    whatever the blocks before it were.
    """
    patterns: list[list[int]] = []
    for apart in range(2, k + 2):
        patterns += [grid(apart * q, apart) for q in INTERLEAVE_ROWS]
        patterns.append(pairs(apart))
    best = np.full(n + 1, math.inf)
    best[0] = 0.0
    choice: list[tuple[int, list[int]] | None] = [None] * (n + 1)
    for j in range(1, n + 1):
        # a plain step: swath j - 1 after swath j - 2
        step = best[j - 1] + (cost(j - 2, j - 1, j - 2) if j >= 2 else 0.0)
        best[j], choice[j] = step, (j - 1, [0])
        for pat in patterns:
            i = j - len(pat)
            if i < 0 or not math.isfinite(best[i]):
                continue
            join = cost(i - 1, i, i - 1) if i >= 1 else 0.0
            total = best[i] + join + order_cost(pat, cost, i)
            if total < best[j] - 1e-9:
                best[j], choice[j] = total, (i, pat)
    order: list[int] = []
    j = n
    while j > 0:
        made = choice[j]
        assert made is not None
        i, pat = made
        order = [i + p for p in pat] + order
        j = i
    return order


def improve_by_swaps(order: list[int], cost: Callable[[int, int, int], float],
                     window: int = SWAP_WINDOW) -> list[int]:
    """Swap two swaths at most ``window`` positions apart while that shortens the turns.

    A swap keeps every other swath at its position (so at its end), so only the four
    turns around the two positions change; the blocks' seams are where it helps. The
    first swath is never moved: the caller drives to it before the cell.
    """
    seq = list(order)
    n = len(seq)

    def around(t: int) -> float:
        left = cost(seq[t - 1], seq[t], t - 1) if t > 0 else 0.0
        right = cost(seq[t], seq[t + 1], t) if t + 1 < n else 0.0
        return left + right

    for _ in range(SWAP_PASSES):
        better = False
        for t in range(1, n):  # the first swath is where the machine enters: it stays
            for u in range(t + 1, min(n, t + window + 1)):
                before = around(t) + around(u) - (cost(seq[t], seq[u], t) if u == t + 1
                                                  else 0.0)
                seq[t], seq[u] = seq[u], seq[t]
                after = around(t) + around(u) - (cost(seq[t], seq[u], t) if u == t + 1
                                                 else 0.0)
                if after < before - 1e-6:
                    better = True
                else:
                    seq[t], seq[u] = seq[u], seq[t]
        if not better:
            break
    return seq


def ranked_orders(pieces: np.ndarray, forward: bool, turns: TurnLengths, spacing: float
                  ) -> list[tuple[float, np.ndarray]]:
    """Candidate orders of a cell's swaths with their turn length, cheapest first.

    Orders are positions into ``pieces`` (the cell's swaths in strip order); ``forward``
    says whether the first swath is worked from its start. The plain order is always a
    candidate (the caller falls back on it when a skip pattern's turns do not fit). A
    machine that pivots, or whose turning diameter fits between neighbouring swaths,
    has nothing to gain from skipping.
    """
    n, radius = len(pieces), turns.radius
    plain = np.arange(n)
    if radius <= 0 or spacing >= 2 * radius:
        return [(0.0, plain)]
    k = math.ceil(2 * radius / spacing - 1e-9)
    cost = sequence_cost(pieces, forward, turns)
    orders = [plain]
    if n >= 2 * k:
        orders.append(np.asarray(improve_by_swaps(piecewise_order(n, cost, k), cost)))
        orders += [np.asarray(interleave(n, apart)) for apart in range(2, k + 2)
                   if n >= 2 * apart]
    ranked = [(order_cost(o, cost), o) for o in orders]
    ranked.sort(key=lambda item: item[0])
    return ranked
