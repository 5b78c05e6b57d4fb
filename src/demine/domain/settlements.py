"""Which settlements are closed, and by which hazards.

A settlement is closed while any hazard that is not released lies within the closure
distance of where its people live. The status is never typed in: it is derived from
the hazards so that it cannot drift from them, and the reasons name the hazards so a
community liaison officer can say *why* a village is still closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from shapely import STRtree

DEFAULT_CLOSURE_DISTANCE_M = 500.0


@dataclass(frozen=True)
class ClosureResult:
    """Closed settlements and their blocking hazards, as index pairs into the inputs."""

    settlement_index: np.ndarray
    hazard_index: np.ndarray
    n_settlements: int

    def blockers(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for s, h in zip(self.settlement_index.tolist(), self.hazard_index.tolist(), strict=True):
            out.setdefault(s, []).append(h)
        return out

    def closed_mask(self) -> np.ndarray:
        mask = np.zeros(self.n_settlements, dtype=bool)
        mask[self.settlement_index] = True
        return mask


def closures(
    settlements_metric: Sequence | np.ndarray,
    hazards_metric: Sequence | np.ndarray,
    distance_m: float = DEFAULT_CLOSURE_DISTANCE_M,
) -> ClosureResult:
    """Pairs (settlement, unreleased hazard) within ``distance_m``, in metric coordinates.

    Pass only hazards that are not released (their remaining polygons).
    """
    settlements = np.asarray(settlements_metric, dtype=object)
    hazards = np.asarray(hazards_metric, dtype=object)
    if len(settlements) == 0 or len(hazards) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ClosureResult(empty, empty, len(settlements))
    tree = STRtree(hazards)
    pairs = tree.query(settlements, predicate="dwithin", distance=distance_m)
    order = np.lexsort((pairs[1], pairs[0]))
    return ClosureResult(pairs[0][order], pairs[1][order], len(settlements))
