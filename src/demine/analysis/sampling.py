"""Post-clearance inspection (QC) sampling: how many sample units, which ones, and what
a clean or dirty sample says about the released land.

IMAS 09.20 bases post-clearance inspection on ISO 2859, with the cleared task as the lot
and square sample units (1 m x 1 m for manual clearance, larger for mechanical or BAC
tasks) as the items. Two kinds of plan are offered:

* ISO 2859-1 single sampling plans for normal inspection at general inspection level II
  (:func:`iso2859_plan`): sample size from the lot size, acceptance number from the AQL.
* Zero-acceptance plans (:func:`zero_acceptance_plan`), the usual choice for explosive
  items where a single missed item fails the lot: the smallest ``n`` such that a lot
  with a fraction ``p`` of bad units shows at least one in the sample with confidence
  ``C``.

Sample unit locations are drawn on a square grid anchored at the polygon's south-west
bound, keeping only units entirely inside the polygon: the lot is the number of such
units, units never overlap, and a seed makes the draw repeatable for the inspector's
audit trail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError

# --- ISO 2859-1 -----------------------------------------------------------------------

#: ISO 2859-1 Table 1, general inspection level II: (lowest lot size, code letter).
LEVEL_II_CODE_LETTERS: tuple[tuple[int, str], ...] = (
    (2, "A"), (9, "B"), (16, "C"), (26, "D"), (51, "E"), (91, "F"), (151, "G"),
    (281, "H"), (501, "J"), (1201, "K"), (3201, "L"), (10001, "M"), (35001, "N"),
    (150001, "P"), (500001, "Q"),
)
#: ISO 2859-1 Table 2-A, sample size per code letter (R is only reached by an arrow).
SAMPLE_SIZES: dict[str, int] = {
    "A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50, "J": 80,
    "K": 125, "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000,
}
_LETTERS = "ABCDEFGHJKLMNPQR"
#: AQLs (percent nonconforming) supported. Table 2-A goes on to 10 and to the
#: nonconformities-per-100-units columns (15 ... 1000); those are left out on purpose
#: (see :func:`table_2a`).
AQLS: tuple[float, ...] = (
    0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5,
)
#: Acceptance number on each diagonal of Table 2-A (diagonal = row index of the code
#: letter, A=0 ... R=15, plus column index of the AQL, 0.010=0 ... 6.5=14). 15 is an up
#: arrow, 16 a down arrow, below 14 down arrows, above 24 up arrows.
_DIAGONAL_AC = {14: 0, 17: 1, 18: 2, 19: 3, 20: 5, 21: 7, 22: 10, 23: 14, 24: 21}

_PLAN = "sampling plan"


@dataclass(frozen=True)
class SamplingPlan:
    """A single sampling plan: inspect ``sample_size`` units, accept if at most
    ``accept`` of them hold a nonconformity (a missed item)."""

    sample_size: int
    accept: int
    code_letter: str | None = None
    aql: float | None = None

    @property
    def reject(self) -> int:
        return self.accept + 1

    def acceptance_probability(self, p: float | np.ndarray) -> float | np.ndarray:
        return acceptance_probability(self.sample_size, self.accept, p)


def code_letter(lot_size: int) -> str:
    """ISO 2859-1 Table 1 code letter at general inspection level II."""
    if isinstance(lot_size, bool) or not isinstance(lot_size, int | np.integer) or lot_size < 2:
        raise ValidationError(_PLAN, "lot_size", f"must be a whole number >= 2, got {lot_size!r}")
    letter = "A"
    for lowest, candidate in LEVEL_II_CODE_LETTERS:
        if lot_size >= lowest:
            letter = candidate
    return letter


def level_ii_sample_size(lot_size: int) -> int:
    """The sample size of the lot's code letter (before any arrow of Table 2-A)."""
    return SAMPLE_SIZES[code_letter(lot_size)]


def table_2a(letter: str, aql: float) -> SamplingPlan:
    """The plan ISO 2859-1 Table 2-A gives for a code letter and AQL, arrows followed.

    Table 2-A (single sampling, normal inspection) is built on diagonals: every cell on
    one diagonal holds the same Ac/Re, and moving one code letter down or one AQL column
    right moves one diagonal on (both multiply n x AQL by about 1.6). Along the diagonal
    through (A, 6.5), (B, 4.0), (C, 2.5), (D, 1.5), (E, 1.0), (F, 0.65), (G, 0.40),
    (H, 0.25), (J, 0.15), (K, 0.10), (L, 0.065), (M, 0.040), (N, 0.025), (P, 0.015),
    (Q, 0.010) the cells read, in order away from the top-left corner:

    * above that diagonal: down arrows (use the first plan below the arrow, i.e. the
      Ac 0 plan of the same column, with its larger sample size);
    * on it: Ac 0, Re 1;
    * next diagonal: up arrow (use Ac 0, Re 1 with the code letter above);
    * next: down arrow (use Ac 1, Re 2 with the code letter below);
    * then Ac/Re 1/2, 2/3, 3/4, 5/6, 7/8, 10/11, 14/15, 21/22 on successive diagonals;
    * beyond the 21/22 diagonal: up arrows (use 21/22 with a smaller sample size).

    Spot values this reproduces: J (n=80) at AQL 0.65, 1.0, 1.5, 2.5, 4.0, 6.5 gives
    Ac 1, 2, 3, 5, 7, 10; L (n=200) at 0.65, 1.0, 1.5, 2.5, 4.0 gives Ac 3, 5, 7, 10, 14;
    E (n=13) at 1.0 gives Ac 0, at 1.5 an up arrow (n=8, Ac 0), at 2.5 a down arrow
    (n=20, Ac 1). Every plan so reached accepts a lot at exactly the AQL with
    probability of about 0.87 or more, which is how the table was designed.

    The table is built from this structure, not transcribed from a licensed copy of
    the standard. Every cell at level II for AQL 0.65 to 6.5 is checked against the
    public-domain MIL-STD-105E Table II-A, the master table ISO 2859-1 took over (a
    test); the cells below AQL 0.65 follow the same diagonals but were not checked
    against an independent copy. AQL 10 is left out because the cell
    (A, 10) is an up arrow with no plan above it in this reconstruction, and the
    columns above 10 count nonconformities per 100 units, which QC of cleared land
    (a sample unit holds a missed item or not) does not use.
    """
    if letter not in SAMPLE_SIZES:
        raise ValidationError(_PLAN, "code_letter", f"unknown ISO 2859-1 code letter {letter!r}")
    column = _aql_column(aql)
    row = _LETTERS.index(letter)
    diagonal = row + column
    if diagonal <= 14:
        row, accept = 14 - column, 0
    elif diagonal == 15:
        row, accept = row - 1, 0
    elif diagonal == 16:
        row, accept = row + 1, 1
    elif diagonal <= 24:
        accept = _DIAGONAL_AC[diagonal]
    else:
        row, accept = 24 - column, 21
    plan_letter = _LETTERS[row]
    return SamplingPlan(SAMPLE_SIZES[plan_letter], accept, plan_letter, AQLS[column])


def iso2859_plan(lot_size: int, aql: float) -> SamplingPlan:
    """The level II normal-inspection single sampling plan for a lot at an AQL.

    A plan whose sample is larger than the lot (an arrow can lead there, e.g. a lot of
    20 units at AQL 0.065) is refused: the standard's answer is to inspect every unit,
    which the caller should decide knowingly rather than receive as a "sample".
    """
    plan = table_2a(code_letter(lot_size), aql)
    if plan.sample_size > lot_size:
        raise ValidationError(
            _PLAN, "lot_size",
            f"the plan for AQL {plan.aql:g} needs {plan.sample_size} sample units but the lot "
            f"has {lot_size}; inspect every unit (100 %) or use smaller sample units",
        )
    return plan


def _aql_column(aql: float) -> int:
    try:
        value = float(aql)
    except (TypeError, ValueError):
        value = math.nan
    for index, known in enumerate(AQLS):
        if math.isclose(value, known, rel_tol=1e-9):
            return index
    raise ValidationError(
        _PLAN, "aql",
        f"AQL {aql!r} is not supported; use one of {', '.join(f'{a:g}' for a in AQLS)}",
    )


# --- zero acceptance and OC -----------------------------------------------------------


def zero_acceptance_sample_size(confidence: float, fraction: float) -> int:
    """n = ceil(ln(1 - C) / ln(1 - p)): the smallest sample that shows at least one bad
    unit with probability C when a fraction p of the lot's units are bad."""
    _check_open_probability(confidence, "confidence")
    _check_open_probability(fraction, "fraction")
    ratio = math.log1p(-confidence) / math.log1p(-fraction)
    # A ratio a hair above an integer because of rounding must not add a unit.
    return max(1, math.ceil(ratio - 1e-9))


def zero_acceptance_plan(
    confidence: float, fraction: float, lot_size: int | None = None
) -> SamplingPlan:
    """The zero-acceptance plan (any item found fails the lot), checked against the lot.

    The binomial sample size is conservative for a finite lot; a lot smaller than it is
    refused rather than silently sampled at 100 %.
    """
    n = zero_acceptance_sample_size(confidence, fraction)
    if lot_size is not None:
        if isinstance(lot_size, bool) or not isinstance(lot_size, int | np.integer) or (
            lot_size < 1
        ):
            raise ValidationError(
                _PLAN, "lot_size", f"must be a whole number >= 1, got {lot_size!r}"
            )
        if n > lot_size:
            raise ValidationError(
                _PLAN, "lot_size",
                f"{confidence:.0%} confidence of fewer than {fraction:g} bad units needs {n} "
                f"sample units but the lot has {lot_size}; inspect every unit or use smaller "
                f"sample units",
            )
    return SamplingPlan(n, 0)


def acceptance_probability(n: int, accept: int, p: float | np.ndarray) -> float | np.ndarray:
    """Operating characteristic Pa(p) = sum_{k<=Ac} C(n,k) p^k (1-p)^(n-k).

    Summed in log space: C(1250, k) overflows a float long before the terms matter.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValidationError(_PLAN, "sample_size", f"must be a whole number >= 1, got {n!r}")
    if isinstance(accept, bool) or not isinstance(accept, int | np.integer) or accept < 0:
        raise ValidationError(_PLAN, "accept", f"must be a whole number >= 0, got {accept!r}")
    probs = np.asarray(p, dtype=float)
    if not np.all((probs >= 0) & (probs <= 1)):
        raise ValidationError(_PLAN, "p", "fractions nonconforming must lie in [0, 1]")
    if accept >= n:
        result = np.ones_like(probs)
    else:
        k = np.arange(accept + 1, dtype=float)
        log_comb = (math.lgamma(n + 1) - np.array([math.lgamma(x + 1) for x in k])
                    - np.array([math.lgamma(n - x + 1) for x in k]))
        inner = probs[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_terms = log_comb + k * np.log(inner) + (n - k) * np.log1p(-inner)
        terms = np.exp(log_terms)
        # 0 * log(0) is 0 here: p = 0 accepts surely, p = 1 rejects surely (accept < n).
        terms = np.where((inner == 0) & (k == 0), 1.0, terms)
        terms = np.where((inner == 0) & (k > 0), 0.0, terms)
        terms = np.where(inner == 1, 0.0, terms)
        result = np.clip(terms.sum(axis=-1), 0.0, 1.0)
    return float(result) if result.ndim == 0 else result


def _check_open_probability(value: float, field: str) -> None:
    ok = isinstance(value, Real) and not isinstance(value, bool) and 0 < value < 1
    if not ok:
        raise ValidationError(_PLAN, field, f"must lie strictly between 0 and 1, got {value!r}")


# --- sample unit locations ------------------------------------------------------------

#: Candidate grid cells examined at most: 2 million 1 m units is 200 ha.
MAX_GRID_CELLS = 2_000_000


@dataclass(frozen=True)
class SampleUnit:
    """A square sample unit; ``row``/``col`` count units north/east of the grid origin."""

    id: str
    row: int
    col: int
    geometry: Polygon
    stratum: int


@dataclass(frozen=True)
class UnitGrid:
    """The sample units that fit entirely inside a polygon: the lot."""

    origin: tuple[float, float]
    unit_size: float
    rows: np.ndarray
    cols: np.ndarray

    @property
    def lot_size(self) -> int:
        return len(self.rows)

    def centres(self) -> np.ndarray:
        x0, y0 = self.origin
        s = self.unit_size
        return np.column_stack([x0 + (self.cols + 0.5) * s, y0 + (self.rows + 0.5) * s])

    def unit(self, index: int, stratum: int = 0) -> SampleUnit:
        row, col = int(self.rows[index]), int(self.cols[index])
        x0, y0 = self.origin
        s = self.unit_size
        geom = shapely.box(x0 + col * s, y0 + row * s, x0 + (col + 1) * s, y0 + (row + 1) * s)
        return SampleUnit(f"SU-{row:04d}-{col:04d}", row, col, geom, stratum)


def unit_grid(
    area: BaseGeometry, unit_size: float = 1.0, record: str = "released area"
) -> UnitGrid:
    """Every ``unit_size`` square of the grid that lies entirely inside ``area`` (metric)."""
    _check_polygon(area, record)
    if isinstance(unit_size, bool) or not isinstance(unit_size, Real) or not (
        math.isfinite(unit_size) and unit_size > 0
    ):
        raise ValidationError(
            record, "unit_size", f"must be a positive length in metres, got {unit_size!r}"
        )
    minx, miny, maxx, maxy = area.bounds
    n_cols = math.floor((maxx - minx) / unit_size + 1e-9)
    n_rows = math.floor((maxy - miny) / unit_size + 1e-9)
    if n_cols * n_rows > MAX_GRID_CELLS:
        raise ValidationError(
            record, "unit_size",
            f"{n_cols * n_rows} candidate {unit_size:g} m units is more than {MAX_GRID_CELLS}; "
            "use larger sample units or split the area",
        )
    rows, cols = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    rows, cols = rows.ravel(), cols.ravel()
    shapely.prepare(area)
    # Centres first (cheap), then the full square for the survivors.
    centre_in = shapely.contains_xy(
        area, minx + (cols + 0.5) * unit_size, miny + (rows + 0.5) * unit_size
    )
    rows, cols = rows[centre_in], cols[centre_in]
    squares = shapely.box(
        minx + cols * unit_size, miny + rows * unit_size,
        minx + (cols + 1) * unit_size, miny + (rows + 1) * unit_size,
    )
    inside = shapely.covers(area, squares) if len(squares) else np.zeros(0, dtype=bool)
    grid = UnitGrid((float(minx), float(miny)), float(unit_size), rows[inside], cols[inside])
    if grid.lot_size == 0:
        raise ValidationError(
            record, "unit_size",
            f"no {unit_size:g} m x {unit_size:g} m sample unit fits entirely inside the area",
        )
    return grid


def lot_size(area: BaseGeometry, unit_size: float = 1.0, record: str = "released area") -> int:
    return unit_grid(area, unit_size, record).lot_size


def random_sample_units(
    area: BaseGeometry,
    sample_size: int,
    *,
    seed: int,
    unit_size: float = 1.0,
    record: str = "released area",
) -> tuple[SampleUnit, ...]:
    """``sample_size`` distinct units drawn uniformly from the lot, sorted by id."""
    grid = unit_grid(area, unit_size, record)
    _check_sample_size(sample_size, grid.lot_size, record)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(grid.lot_size, size=sample_size, replace=False))
    return tuple(grid.unit(int(i)) for i in _by_position(grid, chosen))


def stratified_sample_units(
    area: BaseGeometry,
    sample_size: int,
    *,
    seed: int,
    unit_size: float = 1.0,
    strata: Sequence[BaseGeometry] | None = None,
    record: str = "released area",
) -> tuple[SampleUnit, ...]:
    """A sample spread over strata in proportion to their size, random within each.

    A simple random sample can leave a whole corner of a task uninspected; QC wants
    every part (every team's or machine's sub-area, every lane block) looked at. Give
    ``strata`` (e.g. the sub-areas each team cleared): a unit belongs to the first
    stratum holding its centre, units in none form one more stratum (numbered
    ``len(strata)``). Without strata the lot is cut into square blocks of about
    ``lot / sample_size`` units each, so the sample is spread evenly over the ground.
    Allocation is proportional with largest remainders (ties broken by the seed).
    """
    grid = unit_grid(area, unit_size, record)
    _check_sample_size(sample_size, grid.lot_size, record)
    rng = np.random.default_rng(seed)
    labels = _strata_labels(grid, sample_size, strata, record)
    names, counts = np.unique(labels, return_counts=True)
    quotas = sample_size * counts / grid.lot_size
    alloc = np.floor(quotas + 1e-9).astype(int)
    left = sample_size - int(alloc.sum())
    if left > 0:
        order = rng.permutation(len(names))
        ranked = order[np.argsort(-(quotas - alloc)[order], kind="stable")]
        alloc[ranked[:left]] += 1
    chosen: list[tuple[int, int]] = []
    for name, take in zip(names, alloc, strict=True):
        if take == 0:
            continue
        members = np.flatnonzero(labels == name)
        for index in rng.choice(members, size=int(take), replace=False):
            chosen.append((int(index), int(name)))
    stratum_of = dict(chosen)
    ordered = _by_position(grid, np.array([i for i, _ in chosen]))
    return tuple(grid.unit(int(i), stratum_of[int(i)]) for i in ordered)


def _strata_labels(
    grid: UnitGrid, sample_size: int, strata: Sequence[BaseGeometry] | None, record: str
) -> np.ndarray:
    if strata is not None:
        centres = grid.centres()
        labels = np.full(grid.lot_size, len(strata), dtype=int)
        for index, stratum in reversed(list(enumerate(strata))):
            if not isinstance(stratum, BaseGeometry) or stratum.is_empty:
                raise ValidationError(record, "strata", f"stratum {index} is not a geometry")
            inside = shapely.contains_xy(stratum, centres[:, 0], centres[:, 1])
            labels[inside] = index
        return labels
    side = max(1, math.ceil(math.sqrt(grid.lot_size / sample_size)))
    block_rows, block_cols = grid.rows // side, grid.cols // side
    return block_rows * (int(block_cols.max()) + 1) + block_cols


def _by_position(grid: UnitGrid, indices: np.ndarray) -> np.ndarray:
    indices = np.asarray(indices, dtype=int)
    order = np.lexsort((grid.cols[indices], grid.rows[indices]))
    return indices[order]


def _check_sample_size(sample_size: int, lot: int, record: str) -> None:
    if isinstance(sample_size, bool) or not isinstance(sample_size, int | np.integer) or (
        sample_size < 1
    ):
        raise ValidationError(
            record, "sample_size", f"must be a whole number >= 1, got {sample_size!r}"
        )
    if sample_size > lot:
        raise ValidationError(
            record, "sample_size",
            f"{sample_size} sample units asked for but only {lot} fit in the area (the lot); "
            "inspect every unit or use smaller sample units",
        )


def _check_polygon(area: object, record: str) -> None:
    if not isinstance(area, Polygon | MultiPolygon):
        raise ValidationError(record, "area", f"must be a polygon, got {type(area).__name__}")
    if area.is_empty or area.area <= 0:
        raise ValidationError(record, "area", "is empty or has no area")
    if not area.is_valid:
        raise ValidationError(record, "area", f"is not valid: {shapely.is_valid_reason(area)}")
