"""Swath order of a machine with a turning radius: skip where ends line up, not where slanted."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.affinity import rotate
from shapely.geometry import box

from demine.fieldops.coverage import Machine, plan_coverage
from demine.fieldops.swath_order import (
    TurnLengths,
    grid,
    interleave,
    pairs,
    piecewise_order,
    ranked_orders,
    sequence_cost,
)
from demine.fieldops.turns import dubins_candidates

WHEELED = Machine(2.5, overlap_m=0.1, min_turn_radius_m=3.0, name="wheeled")


def swath_ends(n: int, spacing: float, right: np.ndarray, left: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Swaths along x, ``spacing`` apart, starting at x = ``left`` and ending at ``right``."""
    y = np.arange(n) * spacing
    return np.c_[left, y], np.c_[right, y]


def total(order, cost) -> float:
    return sum(cost(int(a), int(b), t) for t, (a, b) in enumerate(itertools.pairwise(order)))


@pytest.mark.parametrize("n", [6, 9, 13, 20])
@pytest.mark.parametrize("k", [2, 3, 4])
def test_block_patterns_start_first_end_last_and_visit_every_swath(n, k):
    for pat in (grid(k * 3, k), pairs(k)):
        assert sorted(pat) == list(range(len(pat)))
        assert pat[0] == 0 and pat[-1] == len(pat) - 1
    assert sorted(interleave(n, k)) == list(range(n))


def test_turn_lengths_are_the_shortest_dubins_paths_at_the_right_end():
    starts, ends = swath_ends(4, 2.4, np.full(4, 100.0), np.zeros(4))
    turns = TurnLengths(starts, ends, 0.0, 3.0)
    # leaving swath 0 at its end (x = 100, heading east) onto swath 3, heading west
    direct = dubins_candidates((100.0, 0.0, 0.0), (100.0, 7.2, math.pi), 3.0)[0].length
    assert turns(0, 3, True) == pytest.approx(direct)
    assert turns(0, 3, True) == pytest.approx(math.pi * 3.0 + 7.2 - 6.0)  # a plain loop
    assert turns(0, 1, True) > 18.0  # the bulb turn onto the neighbour


@settings(max_examples=40, deadline=None)
@given(st.integers(6, 40), st.floats(-3.0, 3.0), st.floats(0.0, 2.0), st.integers(0, 2**31))
def test_piecewise_order_is_a_permutation_no_longer_than_plain_or_interleaved(
        n, slope, wobble, seed):
    rng = np.random.default_rng(seed)
    right = 200.0 + slope * np.arange(n) + rng.uniform(-wobble, wobble, n)
    starts, ends = swath_ends(n, 2.4, right, np.zeros(n))
    turns = TurnLengths(starts, ends, 0.0, 3.0)
    for forward in (True, False):
        cost = sequence_cost(np.arange(n), forward, turns)
        order = piecewise_order(n, cost, 3)
        assert sorted(order) == list(range(n))
        assert total(order, cost) <= total(range(n), cost) + 1e-6
        ranked = ranked_orders(np.arange(n), forward, turns, 2.4)
        assert [e for e, _ in ranked] == sorted(e for e, _ in ranked)
        assert ranked[0][0] <= min(total(interleave(n, k), cost) for k in (2, 3, 4)) + 1e-6
        for estimate, o in ranked:
            assert estimate == pytest.approx(total(o, cost))


def test_flat_ends_are_worked_with_plain_loops_not_bulb_turns():
    plan = plan_coverage(rotate(box(0, 0, 300, 120), 17), WHEELED)
    turns = [leg.length for leg in plan.legs if leg.kind == "turn"]
    bulb = dubins_candidates((0, 0, 0), (0, WHEELED.spacing, math.pi), 3.0)[0].length
    loop = math.pi * 3.0 + 3 * WHEELED.spacing - 6.0
    # most turns skip to a swath a loop reaches; the back-and-forth order would be all bulbs
    assert np.median(turns) < loop + 1.0
    assert np.mean(turns) < 0.75 * bulb
    assert plan.uncovered_m2 == 0.0


def test_a_pivoting_machine_keeps_the_plain_order():
    starts, ends = swath_ends(10, 2.4, np.full(10, 50.0), np.zeros(10))
    ranked = ranked_orders(np.arange(10), True, TurnLengths(starts, ends, 0.0, 0.0), 2.4)
    assert len(ranked) == 1 and list(ranked[0][1]) == list(range(10))


@settings(max_examples=30, deadline=None)
@given(st.integers(6, 30), st.floats(-3.0, 3.0), st.integers(0, 2**31))
def test_every_candidate_order_starts_at_the_entry_swath(n, slope, seed):
    rng = np.random.default_rng(seed)
    right = 150.0 + slope * np.arange(n) + rng.uniform(-1, 1, n)
    starts, ends = swath_ends(n, 2.4, right, rng.uniform(-1, 1, n))
    for forward in (True, False):
        for _, order in ranked_orders(np.arange(n), forward, TurnLengths(starts, ends, 0.0, 3.0),
                                      2.4):
            assert order[0] == 0
