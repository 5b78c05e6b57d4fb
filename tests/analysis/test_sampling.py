"""QC sampling: ISO 2859-1 plans, zero-acceptance plans, OC curves and sample units."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom
from shapely import affinity
from shapely.geometry import Polygon, box

from demine.analysis.sampling import (
    AQLS,
    acceptance_probability,
    code_letter,
    iso2859_plan,
    level_ii_sample_size,
    lot_size,
    random_sample_units,
    stratified_sample_units,
    table_2a,
    unit_grid,
    zero_acceptance_plan,
    zero_acceptance_sample_size,
)
from demine.domain.errors import ValidationError

# Transcribed from the reference (ISO 2859-1 Table 1, level II, and Table 2-A sizes).
BANDS = [
    (2, 8, "A", 2), (9, 15, "B", 3), (16, 25, "C", 5), (26, 50, "D", 8), (51, 90, "E", 13),
    (91, 150, "F", 20), (151, 280, "G", 32), (281, 500, "H", 50), (501, 1200, "J", 80),
    (1201, 3200, "K", 125), (3201, 10000, "L", 200), (10001, 35000, "M", 315),
    (35001, 150000, "N", 500), (150001, 500000, "P", 800), (500001, 10**9, "Q", 1250),
]
LETTERS = [letter for _, _, letter, _ in BANDS]


@pytest.mark.parametrize("low, high, letter, n", BANDS)
def test_code_letter_and_sample_size_at_both_ends_of_each_band(low, high, letter, n):
    for lot in (low, high):
        assert code_letter(lot) == letter
        assert level_ii_sample_size(lot) == n
        # Where Table 2-A has a plan in the letter's own row (no arrow), it uses n.
        assert n in {table_2a(letter, aql).sample_size for aql in AQLS}
    if low > 2:
        assert code_letter(low - 1) != letter


@pytest.mark.parametrize("lot", [0, 1, -5, 2.5, True])
def test_lot_sizes_outside_the_table_are_refused(lot):
    with pytest.raises(ValidationError) as err:
        code_letter(lot)
    assert err.value.field == "lot_size"


@pytest.mark.parametrize("lot, aql, n, ac", [
    # Widely published plans (level II, normal inspection).
    (1000, 0.65, 80, 1),
    (1000, 1.0, 80, 2),
    (1000, 1.5, 80, 3),
    (1000, 2.5, 80, 5),
    (1000, 4.0, 80, 7),
    (1000, 6.5, 80, 10),
    (5000, 0.65, 200, 3),
    (5000, 1.0, 200, 5),
    (5000, 1.5, 200, 7),
    (5000, 2.5, 200, 10),
    (5000, 4.0, 200, 14),
    (5000, 0.065, 200, 0),
    (2000, 0.10, 125, 0),
    (60, 1.0, 13, 0),
    # Arrows: E at 1.5 points up to D's Ac 0 plan, E at 2.5 down to F's Ac 1 plan.
    (60, 1.5, 8, 0),
    (60, 2.5, 20, 1),
    # Below the Ac 0 diagonal: down to the first plan in the column.
    (600, 0.065, 200, 0),
])
def test_known_single_sampling_plans(lot, aql, n, ac):
    plan = iso2859_plan(lot, aql)
    assert (plan.sample_size, plan.accept, plan.reject) == (n, ac, ac + 1)


def test_table_2a_structure():
    for letter in LETTERS:
        accepts = [table_2a(letter, aql).accept for aql in AQLS]
        assert accepts == sorted(accepts), letter  # looser AQL never accepts fewer
        for aql in AQLS:
            plan = table_2a(letter, aql)
            # The table is designed so that a lot at exactly the AQL is accepted most
            # of the time.
            assert plan.acceptance_probability(aql / 100) >= 0.85, (letter, aql)
            assert plan.accept in (0, 1, 2, 3, 5, 7, 10, 14, 21)
    for aql in AQLS:
        sizes = [table_2a(letter, aql).sample_size for letter in LETTERS]
        assert sizes == sorted(sizes), aql  # bigger lots never get smaller samples



#: MIL-STD-105E (public domain; its Table II-A is the master table ISO 2859-1 Table 2-A
#: took over) at general inspection level II, AQL 0.65 to 6.5, as the U.S. National
#: Institute of Building Sciences tabulated it ("AC-TABLE", Table 1-A, developed from
#: MIL-STD-105E Tables I and II-A): the rejection number Re of each cell, "v" a down
#: arrow (use the first plan below), "^" an up arrow (the first plan above). An
#: independent source for the cells demine derives from the table's diagonals.
MIL_STD_105E_RE = {
    #     0.65  1.0  1.5  2.5  4.0  6.5
    "A": ("v", "v", "v", "v", "v", "1"),
    "B": ("v", "v", "v", "v", "1", "^"),
    "C": ("v", "v", "v", "1", "^", "v"),
    "D": ("v", "v", "1", "^", "v", "2"),
    "E": ("v", "1", "^", "v", "2", "3"),
    "F": ("1", "^", "v", "2", "3", "4"),
    "G": ("^", "v", "2", "3", "4", "6"),
    "H": ("v", "2", "3", "4", "6", "8"),
    "J": ("2", "3", "4", "6", "8", "11"),
    "K": ("3", "4", "6", "8", "11", "15"),
    "L": ("4", "6", "8", "11", "15", "22"),
    "M": ("6", "8", "11", "15", "22", "^"),
    "N": ("8", "11", "15", "22", "^", "^"),
    "P": ("11", "15", "22", "^", "^", "^"),
    "Q": ("15", "22", "^", "^", "^", "^"),
}


def test_table_2a_agrees_with_mil_std_105e_at_level_ii():
    rows = list(MIL_STD_105E_RE)
    for column, aql in enumerate((0.65, 1.0, 1.5, 2.5, 4.0, 6.5)):
        for letter in rows:
            k = rows.index(letter)
            while MIL_STD_105E_RE[rows[k]][column] in ("v", "^"):
                k += 1 if MIL_STD_105E_RE[rows[k]][column] == "v" else -1
            re_ = int(MIL_STD_105E_RE[rows[k]][column])
            plan = table_2a(letter, aql)
            assert (plan.sample_size, plan.reject) == (
                level_ii_sample_size_of(rows[k]), re_), (letter, aql)


def level_ii_sample_size_of(letter: str) -> int:
    """Sample size of a code letter: the lowest lot of its level II band, measured."""
    lowest = {"A": 2, "B": 9, "C": 16, "D": 26, "E": 51, "F": 91, "G": 151, "H": 281,
              "J": 501, "K": 1201, "L": 3201, "M": 10001, "N": 35001, "P": 150001,
              "Q": 500001}[letter]
    return level_ii_sample_size(lowest)

def test_plan_larger_than_lot_is_refused():
    with pytest.raises(ValidationError) as err:
        iso2859_plan(20, 0.065)
    assert err.value.field == "lot_size"
    assert "100 %" in err.value.problem


@pytest.mark.parametrize("aql", [10, 0.3, -1, "x", None])
def test_unsupported_aql_is_refused(aql):
    with pytest.raises(ValidationError) as err:
        iso2859_plan(1000, aql)
    assert err.value.field == "aql"


@pytest.mark.parametrize("confidence, fraction, n", [
    (0.95, 0.01, 299), (0.99, 0.01, 459), (0.95, 0.005, 598),
])
def test_zero_acceptance_examples(confidence, fraction, n):
    assert zero_acceptance_sample_size(confidence, fraction) == n
    plan = zero_acceptance_plan(confidence, fraction, lot_size=10_000)
    assert (plan.sample_size, plan.accept) == (n, 0)


@settings(max_examples=200)
@given(st.floats(0.5, 0.9999), st.floats(1e-4, 0.3))
def test_zero_acceptance_sample_is_the_smallest_that_gives_the_confidence(confidence, p):
    n = zero_acceptance_sample_size(confidence, p)
    # A lot with fraction p bad passes a zero-acceptance sample with prob (1-p)^n.
    assert (1 - p) ** n <= (1 - confidence) * (1 + 1e-9)
    if n > 1:
        assert (1 - p) ** (n - 1) > (1 - confidence) * (1 - 1e-9)


@pytest.mark.parametrize("confidence, fraction", [
    (0, 0.01), (1, 0.01), (1.2, 0.01), (0.95, 0), (0.95, 1), (math.nan, 0.01), (True, 0.01),
])
def test_zero_acceptance_refuses_bad_probabilities(confidence, fraction):
    with pytest.raises(ValidationError) as err:
        zero_acceptance_sample_size(confidence, fraction)
    assert err.value.field in ("confidence", "fraction")


def test_zero_acceptance_refuses_a_lot_smaller_than_the_sample():
    with pytest.raises(ValidationError) as err:
        zero_acceptance_plan(0.95, 0.01, lot_size=250)
    assert err.value.field == "lot_size"
    assert "299" in err.value.problem


@pytest.mark.parametrize("n, ac", [(2, 0), (13, 1), (80, 5), (315, 10), (1250, 21), (5, 5)])
def test_oc_curve_matches_binomial_cdf(n, ac):
    p = np.linspace(0, 1, 101)
    assert np.allclose(acceptance_probability(n, ac, p), binom.cdf(ac, n, p), atol=1e-12)
    for q in (0.0, 0.003, 0.05, 0.5, 1.0):
        assert math.isclose(acceptance_probability(n, ac, q), binom.cdf(ac, n, q),
                            rel_tol=1e-9, abs_tol=1e-15)


def test_oc_curve_falls_as_quality_worsens():
    pa = acceptance_probability(200, 5, np.linspace(0, 0.2, 50))
    assert np.all(np.diff(pa) <= 1e-15)
    assert pa[0] == 1.0


def test_oc_refuses_bad_arguments():
    with pytest.raises(ValidationError):
        acceptance_probability(0, 0, 0.1)
    with pytest.raises(ValidationError):
        acceptance_probability(10, -1, 0.1)
    with pytest.raises(ValidationError):
        acceptance_probability(10, 1, 1.5)


# --- sample units -------------------------------------------------------------------


def released() -> Polygon:
    """An irregular released polygon with an unreleased island in it."""
    shell = [(0, 0), (60, 0), (75, 30), (50, 55), (10, 48), (-5, 20)]
    return affinity.translate(
        Polygon(shell, [[(20, 15), (35, 15), (35, 28), (20, 28)]]), 412_000, 5_590_000
    )


def brute_force_lot(area: Polygon, size: float) -> int:
    minx, miny, maxx, maxy = area.bounds
    count = 0
    for i, j in itertools.product(range(int((maxx - minx) // size)),
                                  range(int((maxy - miny) // size))):
        cell = box(minx + i * size, miny + j * size, minx + (i + 1) * size, miny + (j + 1) * size)
        count += area.covers(cell)
    return count


@pytest.mark.parametrize("size", [1.0, 2.0, 10.0])
def test_lot_is_the_number_of_units_that_fit(size):
    area = released()
    assert lot_size(area, size) == brute_force_lot(area, size)
    assert lot_size(box(0, 0, 10, 7), 1.0) == 70


def assert_valid_sample(units, area: Polygon, size: float, n: int) -> None:
    assert len(units) == n
    assert len({u.id for u in units}) == n
    for u in units:
        assert area.covers(u.geometry)
        assert math.isclose(u.geometry.area, size * size)
    union = shapely.union_all([u.geometry for u in units])
    assert math.isclose(union.area, n * size * size, rel_tol=1e-9)  # no overlaps


@pytest.mark.parametrize("size, n", [(1.0, 299), (2.0, 50), (10.0, 8)])
def test_random_units_lie_inside_do_not_overlap_and_repeat_with_the_seed(size, n):
    area = released()
    units = random_sample_units(area, n, seed=7, unit_size=size)
    assert_valid_sample(units, area, size, n)
    again = random_sample_units(area, n, seed=7, unit_size=size)
    assert [u.id for u in again] == [u.id for u in units]
    other = random_sample_units(area, n, seed=8, unit_size=size)
    assert {u.id for u in other} != {u.id for u in units}


def test_random_units_cover_the_lot_uniformly():
    area = box(0, 0, 10, 10)
    counts = np.zeros(100)
    for seed in range(400):
        for u in random_sample_units(area, 10, seed=seed):
            counts[u.row * 10 + u.col] += 1
    # 4000 draws over 100 units: 40 expected per unit; a chi-square check at a loose level.
    chi2 = ((counts - 40) ** 2 / 40).sum()
    assert chi2 < 180  # the 99.9999 % quantile of chi-square(99) is about 181


def test_stratified_units_are_spread_over_given_strata_in_proportion():
    area = box(0, 0, 40, 20)
    strata = [box(0, 0, 10, 20), box(10, 0, 20, 20), box(20, 0, 40, 20)]  # 200, 200, 400
    units = stratified_sample_units(area, 20, seed=3, strata=strata)
    assert_valid_sample(units, area, 1.0, 20)
    counts = np.bincount([u.stratum for u in units], minlength=4)
    assert counts.tolist() == [5, 5, 10, 0]
    for u in units:
        assert strata[u.stratum].contains(u.geometry.centroid)


def test_stratified_allocation_stays_within_one_of_the_quota():
    area = released()
    strata = [box(411_990, 5_589_990, 412_013, 5_590_100), box(412_013, 5_589_990, 412_050,
                                                               5_590_100)]
    grid = unit_grid(area, 1.0)
    centres = grid.centres()
    sizes = [int(shapely.contains_xy(s, centres[:, 0], centres[:, 1]).sum()) for s in strata]
    sizes.append(grid.lot_size - sum(sizes))
    n = 97
    units = stratified_sample_units(area, n, seed=11, strata=strata)
    counts = np.bincount([u.stratum for u in units], minlength=3)
    for got, size in zip(counts, sizes, strict=True):
        assert abs(got - n * size / grid.lot_size) < 1
    assert_valid_sample(units, area, 1.0, n)


def test_stratified_units_without_strata_cover_every_block_of_the_ground():
    area = box(0, 0, 40, 40)
    units = stratified_sample_units(area, 16, seed=5)
    # 1600 units / 16 = 100 per block: one unit in each 10 m x 10 m block.
    blocks = sorted((u.row // 10, u.col // 10) for u in units)
    assert blocks == sorted(itertools.product(range(4), range(4)))
    again = stratified_sample_units(area, 16, seed=5)
    assert [u.id for u in again] == [u.id for u in units]


def test_stratified_spread_beats_chance():
    """How many units fall west of the centroid varies far less than for a random draw."""
    area = released()
    cx = area.centroid.x

    def west_counts(draw) -> np.ndarray:
        return np.array([
            sum(u.geometry.centroid.x < cx for u in draw(area, 40, seed=seed))
            for seed in range(30)
        ])

    stratified = west_counts(stratified_sample_units)
    simple = west_counts(random_sample_units)
    assert stratified.std() < 0.6 * simple.std()
    assert stratified.min() >= 14 and stratified.max() <= 26


@pytest.mark.parametrize("kwargs, field", [
    ({"unit_size": 0}, "unit_size"),
    ({"unit_size": -1.0}, "unit_size"),
    ({"unit_size": 100.0}, "unit_size"),  # larger than the polygon
    ({"sample_size": 0}, "sample_size"),
    ({"sample_size": 10_000}, "sample_size"),  # more than the lot
])
def test_bad_sampling_requests_name_the_field(kwargs, field):
    args = {"sample_size": 5, "unit_size": 1.0} | kwargs
    for draw in (random_sample_units, stratified_sample_units):
        with pytest.raises(ValidationError) as err:
            draw(box(0, 0, 50, 40), args["sample_size"], seed=1, unit_size=args["unit_size"],
                 record="QC-12")
        assert (err.value.record, err.value.field) == ("QC-12", field)


def test_bad_polygons_are_refused():
    for area in (Polygon(), Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])):
        with pytest.raises(ValidationError) as err:
            lot_size(area, 1.0)
        assert err.value.field == "area"
