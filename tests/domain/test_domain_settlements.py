"""Settlement closure against a brute-force distance check on random data."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from demine.domain.settlements import DEFAULT_CLOSURE_DISTANCE_M, closures

coord = st.floats(0.0, 5_000.0, allow_nan=False)


@st.composite
def settlement_geoms(draw):
    x, y = draw(coord), draw(coord)
    if draw(st.booleans()):
        return Point(x, y)
    w, h = draw(st.floats(20.0, 800.0)), draw(st.floats(20.0, 800.0))
    return box(x, y, x + w, y + h)


@st.composite
def hazard_geoms(draw):
    x, y = draw(coord), draw(coord)
    w, h = draw(st.floats(5.0, 1_500.0)), draw(st.floats(5.0, 1_500.0))
    shape = box(x, y, x + w, y + h)
    if draw(st.booleans()):  # an L-shape, so the bbox is not the geometry
        shape = shape.difference(box(x + w / 2, y + h / 2, x + w + 1, y + h + 1))
    return shape


def brute_force(settlements, hazards, d):
    return {(i, j) for i, s in enumerate(settlements) for j, h in enumerate(hazards)
            if shapely.distance(s, h) <= d}


@settings(max_examples=80, deadline=None)
@given(settlements=st.lists(settlement_geoms(), max_size=25),
       hazards=st.lists(hazard_geoms(), max_size=25),
       distance=st.sampled_from([DEFAULT_CLOSURE_DISTANCE_M, 0.0, 100.0, 1_234.5]))
def test_closures_match_brute_force(settlements, hazards, distance):
    expected = brute_force(settlements, hazards, distance)
    result = closures(settlements, hazards, distance)
    got = set(zip(result.settlement_index.tolist(), result.hazard_index.tolist(), strict=True))
    assert got == expected
    assert result.n_settlements == len(settlements)
    mask = result.closed_mask()
    assert mask.shape == (len(settlements),)
    assert set(np.flatnonzero(mask).tolist()) == {i for i, _ in expected}
    blockers = result.blockers()
    assert set(blockers) == {i for i, _ in expected}
    for i, hs in blockers.items():
        assert hs == sorted(j for s, j in expected if s == i)


def test_default_distance_is_500_m():
    assert DEFAULT_CLOSURE_DISTANCE_M == 500.0
    hazard = box(0.0, 0.0, 100.0, 100.0)
    near, far = Point(100.0 + 499.0, 50.0), Point(100.0 + 501.0, 50.0)
    result = closures([near, far], [hazard])
    assert result.closed_mask().tolist() == [True, False]


def test_footprint_counts_not_just_the_point():
    hazard = box(0.0, 0.0, 100.0, 100.0)
    footprint = box(550.0, 0.0, 1_500.0, 100.0)  # 450 m away; its centre ~925 m away
    assert closures([footprint], [hazard]).closed_mask().tolist() == [True]
    assert closures([footprint.centroid], [hazard]).closed_mask().tolist() == [False]


def test_empty_inputs():
    assert closures([], [box(0, 0, 1, 1)]).closed_mask().tolist() == []
    result = closures([Point(0, 0), Point(5, 5)], [])
    assert result.closed_mask().tolist() == [False, False]
    assert result.blockers() == {}
