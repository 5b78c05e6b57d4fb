"""Machine coverage paths: every square metre worked, no hole crossed, turns drivable."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from shapely.affinity import rotate
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from demine.domain.errors import ValidationError
from demine.fieldops.coverage import Machine, plan_coverage

FLAIL = Machine(2.5, overlap_m=0.1, speed_m_s=0.4, name="MV-4")
WHEELED = Machine(2.5, overlap_m=0.1, min_turn_radius_m=3.0, speed_m_s=0.5, name="wheeled")


def min_width(poly: Polygon) -> float:
    """Narrowest width of a convex polygon: across one of its edges (rotating calipers)."""
    xy = shapely.get_coordinates(poly.convex_hull.exterior)
    best = math.inf
    for a, b in itertools.pairwise(xy):
        d = b - a
        n = np.array([-d[1], d[0]]) / np.hypot(*d)
        best = min(best, float(np.max(np.abs((xy - a) @ n))))
    return best


def fewest_strips(width: float, m: Machine) -> int:
    """ceil(width / effective width), made exact for overlapping strips flush at both ends."""
    if width <= m.working_width_m:
        return 1
    return math.ceil((width - m.overlap) / m.spacing - 1e-9)


def noway_of(area, obstacles=()) -> Polygon:
    holes = [Polygon(r) for p in getattr(area, "geoms", [area]) for r in p.interiors]
    return shapely.union_all(holes + list(obstacles))


def assert_route_avoids(plan, noway) -> None:
    if noway.is_empty:
        return
    inside = noway.buffer(-1e-3)
    assert plan.route.intersection(inside).length <= 1e-6
    for leg in plan.legs:
        assert leg.geometry.intersection(inside).length <= 1e-6, leg.kind


def assert_continuous(plan) -> None:
    for a, b in zip(plan.legs[:-1], plan.legs[1:], strict=True):
        end, start = a.geometry.coords[-1], b.geometry.coords[0]
        assert math.dist(end, start) <= 1e-6, (a.kind, b.kind)
    assert plan.route.length == pytest.approx(plan.path_length_m, rel=1e-9)


def circumradii(line: LineString) -> np.ndarray:
    xy = np.asarray(line.coords)
    a, b, c = xy[:-2], xy[1:-1], xy[2:]
    ab, bc, ca = (np.hypot(*(b - a).T), np.hypot(*(c - b).T), np.hypot(*(a - c).T))
    cross = np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cross > 1e-12, ab * bc * ca / (2 * cross), np.inf)


# --- swath count, direction, accounting on simple shapes --------------------------------

@pytest.mark.parametrize(("w", "h", "angle"), [
    (200.0, 100.0, 0.0), (100.0, 300.0, 0.0), (250.0, 120.0, 23.0), (60.0, 37.3, 71.0),
    (316.0, 316.0, 0.0),
])
def test_rectangle_swath_count_is_the_minimum(w, h, angle):
    area = rotate(box(0, 0, w, h), angle, origin=(0, 0))
    plan = plan_coverage(area, FLAIL)
    assert plan.swath_count == fewest_strips(min(w, h), FLAIL)
    # swaths run along the long side
    long_dir = angle if w >= h else angle + 90.0
    diff = abs((plan.angle_deg - long_dir + 90.0) % 180.0 - 90.0)
    assert diff < 1e-6
    assert plan.uncovered_m2 == 0.0
    assert plan.coverage_fraction == 1.0


def test_double_covered_is_the_overlap_of_evenly_spread_strips():
    m = Machine(2.0, overlap_m=0.2)
    plan = plan_coverage(box(0, 0, 50, 31), m)
    n = fewest_strips(31, m)
    assert plan.swath_count == n
    assert plan.double_covered_m2 == pytest.approx((n * 2.0 - 31) * 50, rel=1e-6)
    # the overlap between each pair of neighbours is at least the required one
    assert (n * 2.0 - 31) / (n - 1) >= m.overlap - 1e-9


def test_time_estimate_adds_working_turning_and_fixed_turn_time():
    m = Machine(2.5, min_turn_radius_m=2.0, speed_m_s=0.5, turn_speed_m_s=1.5, turn_time_s=7.0)
    plan = plan_coverage(box(0, 0, 80, 40), m)
    expected = (plan.working_length_m / 0.5
                + (plan.turn_length_m + plan.transit_length_m) / 1.5
                + 7.0 * (plan.turn_count + plan.manoeuvre_count))
    assert plan.time_s == pytest.approx(expected)
    assert plan.turn_count == plan.swath_count - 1
    assert plan.path_length_m == pytest.approx(
        plan.working_length_m + plan.turn_length_m + plan.transit_length_m)



def test_convex_field_direction_is_refined_between_hull_edges():
    """An ellipse has no edge to align with: a slight turn keeps the swath count and
    shortens the slanted ends, so the chosen direction beats every coarse one."""
    from demine.fieldops.swaths import candidate_angles, layout
    ellipse = rotate(shapely.affinity.scale(Point(0, 0).buffer(115, quad_segs=16), 2.4, 1),
                     37.3)
    m = Machine(2.5, overlap_m=0.1, min_turn_radius_m=3.0)
    plan = plan_coverage(ellipse, m)
    chosen = layout(ellipse, math.radians(plan.angle_deg), 2.5, 0.1)
    coarse = [layout(ellipse, a, 2.5, 0.1) for a in candidate_angles(ellipse)]
    fewest = min(lay.count for lay in coarse)
    assert plan.swath_count == chosen.count == fewest
    best_coarse = min(lay.length for lay in coarse if lay.count == fewest)
    assert chosen.length < best_coarse - 1.0
    assert not any(math.isclose(plan.angle_deg % 180, math.degrees(a), abs_tol=1e-6)
                   for a in candidate_angles(ellipse))

def test_band_shared_by_neighbours_is_run_by_one_of_them_at_a_slanted_end():
    """At 45° ends a swath that leaves the band it shares with its neighbour to that
    neighbour stops (width - spacing) earlier at each end; the ground is still all worked."""
    from demine.fieldops.swaths import layout
    trapezoid = Polygon([(0, 0), (200, 0), (230, 30), (-30, 30)])
    lay = layout(trapezoid, 0.0, 2.5, 0.1)
    spacing = float(lay.y[1] - lay.y[0])
    bounds = shapely.bounds(lay.pieces)
    full = float(np.sum(bounds[:, 2] - bounds[:, 0]))     # each swath over its whole strip
    assert lay.length == pytest.approx(full - 2 * (lay.count - 1) * (2.5 - spacing))
    assert lay.length < full - 4.0
    for m in (Machine(2.5, overlap_m=0.1), Machine(2.5, overlap_m=0.1, min_turn_radius_m=3.0)):
        plan = plan_coverage(trapezoid, m, angle_deg=0.0)
        assert plan.uncovered_m2 == 0.0
        assert plan.swath_count == lay.count


convex_points = st.lists(st.tuples(st.floats(0, 300), st.floats(0, 200)), min_size=3,
                         max_size=12)


@settings(max_examples=40, deadline=None)
@given(convex_points, st.floats(1.5, 3.5), st.floats(0.0, 0.4))
def test_convex_polygon_swath_count_is_the_minimum(points, width, overlap):
    hull = shapely.MultiPoint(points).convex_hull
    assume(isinstance(hull, Polygon) and min_width(hull) > 2 * width)
    m = Machine(width, overlap_m=overlap)
    plan = plan_coverage(hull, m)
    assert plan.swath_count == fewest_strips(min_width(hull), m)
    assert plan.uncovered_m2 <= 1e-9 * hull.area
    assert_continuous(plan)


# --- random polygons with holes: 100 % coverage, holes never crossed --------------------

@st.composite
def areas_with_holes(draw):
    k = draw(st.integers(5, 12))
    base = draw(st.floats(50, 120))
    radii = [base * draw(st.floats(0.6, 1.3)) for _ in range(k)]
    jitter = [draw(st.floats(-0.25, 0.25)) for _ in range(k)]
    ang = [(i + jitter[i]) * 2 * math.pi / k for i in range(k)]
    outer = Polygon([(r * math.cos(a), r * math.sin(a)) for r, a in zip(radii, ang,
                                                                      strict=True)])
    holes: list[Polygon] = []
    for _ in range(draw(st.integers(0, 3))):
        cx, cy = draw(st.floats(-60, 60)), draw(st.floats(-60, 60))
        n = draw(st.integers(3, 8))
        rad = draw(st.floats(4, 15))
        rot = draw(st.floats(0, 2 * math.pi))
        hole = Polygon([(cx + rad * math.cos(rot + 2 * math.pi * i / n),
                         cy + rad * math.sin(rot + 2 * math.pi * i / n)) for i in range(n)])
        if outer.buffer(-8).contains(hole) and all(hole.distance(h) > 8 for h in holes):
            holes.append(hole)
    return Polygon(outer.exterior, [h.exterior for h in holes])


# two close triangular holes (~8.8 m apart): their merged rings meet at corners
# between vertex arcs, leaving a lens on the bisector unless a spur runs down it
TWO_CLOSE_TRIANGLES = shapely.from_wkt(
    "POLYGON ((50 0, 35.35533905932738 35.35533905932737, 3.061616997868383e-15 50, "
    "-35.35533905932737 35.35533905932738, -50 6.123233995736766e-15, "
    "-35.355339059327385 -35.35533905932737, -9.184850993605149e-15 -50, "
    "35.35533905932737 -35.355339059327385, 50 0), "
    "(17 0, 11 3.464101615137755, 10.999999999999998 -3.4641016151377535, 17 0), "
    "(2.161209223472559 3.365883939231586, -3.9955456093008705 0.1887201208046838, "
    "1.8343363858283102 -3.5546040600362696, 2.161209223472559 3.365883939231586))")


# a stress run's worst case: two close holes (5.8 m apart) whose 4-pass rings and the
# swath ends left a 7 m x 1 m lens (6.3 m2) unworked before touch-up passes existed
CLOSE_HEPTAGON_AND_TRIANGLE = shapely.from_wkt(
    "POLYGON ((102.94 -75.82, 15.04 -83.31, -39.66 -71.87, -122.89 -22.12, -77.88 31.06, "
    "-49.72 73.95, 22.17 93.9, 106.35 70.71, 64.69 -2.59, 102.94 -75.82), "
    "(-11.41 -25.19, -9.3 -33.41, -1.55 -36.89, 6 -33, 7.67 -24.68, 2.2 -18.18, "
    "-6.29 -18.41, -11.41 -25.19), (11.62 -34.27, 21.16 -31.48, 13.98 -24.61, "
    "11.62 -34.27))")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(areas_with_holes(), st.sampled_from([FLAIL, WHEELED, Machine(1.7, overlap_m=0.0),
                                            Machine(3.0, overlap_fraction=0.1,
                                                    headland_width_m=4.0)]))
@example(TWO_CLOSE_TRIANGLES, WHEELED)
@example(CLOSE_HEPTAGON_AND_TRIANGLE, WHEELED)
def test_random_polygons_with_holes_are_covered_completely(area, machine):
    assume(area.is_valid)
    plan = plan_coverage(area, machine)
    assert plan.uncovered_m2 <= 1e-6 * area.area
    assert plan.coverage_fraction >= 1 - 1e-6
    # the footprint really contains the area (independently of the sliver clean-up)
    assert area.difference(plan.footprint).area <= 1e-6 * area.area
    assert_route_avoids(plan, noway_of(area))
    assert_continuous(plan)
    for leg in plan.legs:
        if leg.kind == "turn" and machine.min_turn_radius_m > 0:
            assert circumradii(leg.geometry).min() >= machine.min_turn_radius_m * (1 - 1e-6)


def test_ground_between_the_merged_rings_of_two_close_holes_is_covered():
    plan = plan_coverage(TWO_CLOSE_TRIANGLES, WHEELED)
    assert plan.uncovered_m2 <= 1e-6 * TWO_CLOSE_TRIANGLES.area
    assert TWO_CLOSE_TRIANGLES.difference(plan.footprint).area <= 1e-6 * plan.area_m2
    # where the rings merge, on the bisector between the holes' facing vertices
    for y in (5.8, -5.5):
        assert plan.footprint.buffer(1e-9).covers(Point(6.46, y))
    assert_route_avoids(plan, noway_of(TWO_CLOSE_TRIANGLES))
    assert_continuous(plan)


def test_ground_the_swaths_and_rings_leave_gets_touch_up_passes_driven_last():
    plan = plan_coverage(CLOSE_HEPTAGON_AND_TRIANGLE, WHEELED)
    area = CLOSE_HEPTAGON_AND_TRIANGLE
    assert area.difference(plan.footprint).area <= 1e-6 * area.area
    assert plan.touch_ups, "the lens between the holes needs a pass of its own"
    kinds = [leg.kind for leg in plan.legs if leg.kind not in ("turn", "transit")]
    assert set(kinds[-len(plan.touch_ups):]) == {"touch-up"}
    holes = noway_of(area)
    for leg in plan.touch_ups:
        # the machine body (as wide as its flail) never overhangs a hole
        assert leg.geometry.distance(holes) >= WHEELED.working_width_m / 2 - 1e-6
    # touch-ups are working length, and counted in the route and its time
    assert plan.working_length_m == pytest.approx(
        sum(leg.length for leg in plan.legs if leg.kind in ("swath", "headland", "touch-up")))
    assert_route_avoids(plan, holes)
    assert_continuous(plan)


def test_obstacles_are_worked_around_and_never_crossed():
    area = Polygon([(0, 0), (200, 0), (200, 150), (0, 150)],
                   [[(30, 30), (60, 30), (60, 60), (30, 60)]])
    obstacles = [Point(140, 90).buffer(15), box(90, -10, 100, 40)]
    plan = plan_coverage(area, WHEELED, obstacles)
    noway = noway_of(area, obstacles)
    assert_route_avoids(plan, noway)
    assert_continuous(plan)
    assert plan.uncovered_m2 <= 1e-6 * plan.area_m2
    assert plan.area_m2 == pytest.approx(area.difference(noway).area)
    assert len(plan.cells) > 1  # the obstacles split the swaths into cells
    assert {leg.kind for leg in plan.legs} >= {"swath", "headland", "turn", "transit"}


def test_turn_arcs_honour_the_turning_radius():
    plan = plan_coverage(rotate(box(0, 0, 120, 60), 10), WHEELED)
    turns = [leg for leg in plan.legs if leg.kind == "turn"]
    assert len(turns) == plan.swath_count - 1
    for leg in turns:
        radii = circumradii(leg.geometry)
        assert np.isfinite(radii).any()  # the turn does curve
        assert radii.min() >= WHEELED.min_turn_radius_m * (1 - 1e-6)
        assert leg.radius_m == WHEELED.min_turn_radius_m


def test_headland_is_worked_and_turns_stay_inside_it():
    area = Polygon([(0, 0), (150, 0), (170, 80), (60, 120), (0, 90)])
    m = Machine(2.5, overlap_m=0.1, min_turn_radius_m=2.0, headland_width_m=8.0)
    plan = plan_coverage(area, m, outside_lane_m=0.0)
    assert plan.outer_passes == math.ceil(8.0 / m.spacing)
    assert len(plan.headland) >= plan.outer_passes
    assert plan.uncovered_m2 <= 1e-6 * area.area
    for leg in plan.legs:
        assert area.buffer(1e-6).covers(leg.geometry), leg.kind


def test_a_notch_in_an_obstacle_is_reported_not_hidden():
    # a concave corner of an obstacle cannot be reached by a flat flail from outside
    notch = Polygon([(80, 40), (120, 40), (120, 80), (100, 60), (80, 80)])
    plan = plan_coverage(box(0, 0, 200, 150), FLAIL, [notch])
    assert 0 < plan.uncovered_m2 < 2 * FLAIL.working_width_m ** 2
    assert plan.uncovered.distance(Point(100, 60)) < FLAIL.working_width_m
    assert plan.coverage_fraction < 1.0


def test_features_carry_kind_cell_and_number():
    plan = plan_coverage(box(0, 0, 60, 30), FLAIL, [Point(30, 15).buffer(5)])
    feats = plan.features()
    assert len(feats) == len(plan.legs)
    numbers = [p["number"] for _, p in feats if p["kind"] == "swath"]
    assert numbers == list(range(1, plan.swath_count + 1))
    assert all(p["cell"] is not None for _, p in feats if p["kind"] == "swath")


def test_multipolygon_parts_are_all_worked():
    area = MultiPolygon([box(0, 0, 40, 30), box(100, 0, 130, 50)])
    plan = plan_coverage(area, FLAIL)
    assert plan.uncovered_m2 == 0.0
    assert len(plan.cells) == 2
    assert_continuous(plan)


# --- bad input: clear errors -------------------------------------------------------------

def refused(fn, *args, **kw) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(*args, **kw)
    return info.value


def nan_polygon() -> Polygon:
    with np.errstate(invalid="ignore"):
        return shapely.polygons([(0, 0), (math.nan, 0), (10, 10), (0, 0)])


@pytest.mark.parametrize(("geom", "words"), [
    (lambda: Polygon([(0, 0), (10, 10), (20, 20)]), "degenerate"),
    (lambda: Polygon([(0, 0), (10, 0), (10, 0), (0, 0)]), "degenerate"),
    (lambda: Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]), "not a valid polygon"),
    (lambda: Polygon(), "empty"),
    (lambda: LineString([(0, 0), (10, 0)]), "Polygon"),
    (lambda: nan_polygon(), "non-finite"),
])
def test_degenerate_areas_are_refused(geom, words):
    err = refused(plan_coverage, geom(), FLAIL, record="hazard HA-1")
    assert err.record == "hazard HA-1"
    assert words in err.problem


@pytest.mark.parametrize(("kw", "field"), [
    ({"working_width_m": 0.0}, "working_width_m"),
    ({"working_width_m": -2.0}, "working_width_m"),
    ({"working_width_m": math.inf}, "working_width_m"),
    ({"working_width_m": 2.0, "overlap_m": 1.0}, "overlap_m"),
    ({"working_width_m": 2.0, "overlap_fraction": 0.6}, "overlap_fraction"),
    ({"working_width_m": 2.0, "overlap_m": 0.1, "overlap_fraction": 0.1}, "overlap_m"),
    ({"working_width_m": 2.0, "speed_m_s": 0.0}, "speed_m_s"),
    ({"working_width_m": 2.0, "min_turn_radius_m": -1.0}, "min_turn_radius_m"),
])
def test_bad_machines_are_refused(kw, field):
    err = refused(Machine, **kw)
    assert err.field == field


def test_machine_wider_than_the_area_is_refused():
    err = refused(plan_coverage, rotate(box(0, 0, 100, 2.0), 30), FLAIL)
    assert err.field == "working_width_m"
    assert "wider than" in err.problem and "2.00 m" in err.problem


def test_obstacles_covering_everything_are_refused():
    err = refused(plan_coverage, box(0, 0, 10, 10), FLAIL, [box(-1, -1, 11, 11)])
    assert err.field == "obstacles"


def test_turning_radius_that_cannot_turn_in_the_headland_names_the_cell():
    m = Machine(2.5, min_turn_radius_m=10.0, headland_width_m=2.5)
    err = refused(plan_coverage, box(0, 0, 100, 60), m, outside_lane_m=0.0)
    assert err.field == "min_turn_radius_m"
    assert "cell 1" in err.problem and "10 m turning radius" in err.problem
    # the same machine with room to turn plans fine
    assert plan_coverage(box(0, 0, 100, 60), m).uncovered_m2 == 0.0


def test_part_enclosed_by_obstacles_is_unreachable():
    area = MultiPolygon([box(0, 0, 40, 30), box(100, 0, 130, 50)])
    wall = box(90, -10, 140, 60).difference(box(95, -5, 135, 55))
    err = refused(plan_coverage, area, FLAIL, [wall], outside_lane_m=3.0)
    assert "cannot be reached" in err.problem
