"""Manual lanes and boxes: they tile the hazard exactly and progress turns into polygons."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from demine.domain.errors import ValidationError
from demine.fieldops.lanes import default_base_line, layout_lanes, progress_polygon

ID = re.compile(r"^L\d{3,}-B\d{3,}$")


def assert_tiles(layout, area: Polygon) -> None:
    boxes = [b.geometry for b in layout.boxes.values()]
    total = sum(b.area_m2 for b in layout.boxes.values())
    union = shapely.union_all(boxes)
    assert math.isclose(total, area.area, rel_tol=1e-6)
    # No overlaps: overlapping boxes would make the sum exceed the union.
    assert total - union.area <= 1e-6 * area.area
    # No gaps and nothing outside.
    assert union.symmetric_difference(area).area <= 1e-6 * area.area
    for b in layout.boxes.values():
        assert b.geometry.difference(area).area <= 1e-9 * area.area
    assert math.isclose(sum(lane.area_m2 for lane in layout.lanes), area.area, rel_tol=1e-6)
    assert all(ID.match(i) for i in layout.boxes)
    assert len(layout.boxes) == sum(len(lane.boxes) for lane in layout.lanes)


@st.composite
def hazard_polygons(draw):
    """Star-shaped polygons with a hole, rotated and placed at UTM-sized coordinates."""
    n = draw(st.integers(min_value=5, max_value=14))
    gaps = draw(st.lists(st.floats(0.5, 1.5), min_size=n, max_size=n))
    angles = np.cumsum(gaps) / sum(gaps) * 2 * math.pi
    radii = draw(st.lists(st.floats(20.0, 60.0), min_size=n, max_size=n))
    shell = [(r * math.cos(a), r * math.sin(a)) for r, a in zip(radii, angles, strict=True)]
    hole_r = draw(st.floats(2.0, 9.0))
    hole_dx = draw(st.floats(-3.0, 3.0))
    hole = [(hole_dx + hole_r * math.cos(a), hole_r * math.sin(a))
            for a in np.linspace(0, 2 * math.pi, 7)[:-1]]
    polygon = Polygon(shell, [hole])
    polygon = affinity.rotate(polygon, draw(st.floats(0, 360)), origin=(0, 0))
    x0 = draw(st.floats(300_000, 700_000))
    y0 = draw(st.floats(5_000_000, 6_000_000))
    return affinity.translate(polygon, x0, y0)


@settings(max_examples=40, deadline=None)
@given(
    area=hazard_polygons(),
    lane_width=st.sampled_from([1.0, 1.2, 2.5]),
    box_length=st.sampled_from([5.0, 10.0, 7.3]),
)
def test_default_layout_tiles_random_polygons_with_holes(area, lane_width, box_length):
    assume_valid(area)
    layout = layout_lanes(area, lane_width=lane_width, box_length=box_length)
    assert_tiles(layout, area)


@settings(max_examples=25, deadline=None)
@given(area=hazard_polygons(), side=st.integers(0, 100))
def test_layout_from_a_convex_hull_side_tiles(area, side):
    assume_valid(area)
    hull = list(area.convex_hull.exterior.coords)
    i = side % (len(hull) - 1)
    line = LineString([hull[i], hull[i + 1]])
    layout = layout_lanes(area, base_line=line)
    assert_tiles(layout, area)


def assume_valid(area: Polygon) -> None:
    from hypothesis import assume

    assume(area.is_valid)


def test_rectangle_gives_full_lanes_and_boxes_numbered_from_the_base_line():
    area = box(0, 0, 20, 35)
    layout = layout_lanes(area, base_line=LineString([(0, 0), (20, 0)]))
    assert len(layout.lanes) == 20
    for lane in layout.lanes:
        # 35 m deep: three full 10 m boxes and a 5 m one.
        assert [round(b.area_m2, 9) for b in lane.boxes] == [10.0, 10.0, 10.0, 5.0]
        assert math.isclose(lane.area_m2, 35.0)
    first = layout.boxes["L001-B001"].geometry
    assert first.equals(box(0, 0, 1, 10))
    assert layout.boxes["L020-B004"].geometry.equals(box(19, 30, 20, 35))


def test_box_numbers_grow_with_distance_from_the_base_line():
    area = affinity.rotate(box(0, 0, 30, 45), 27, origin=(0, 0))
    coords = list(area.exterior.coords)
    line = LineString([coords[0], coords[1]])
    layout = layout_lanes(area, base_line=line, box_length=5.0)
    for lane in layout.lanes:
        distances = [line.distance(b.geometry.centroid) for b in lane.boxes]
        assert distances == sorted(distances)
        assert lane.boxes[0].geometry.distance(line) < 1e-6
        # Lanes are perpendicular to the base line: each is 1 m wide and as deep as the
        # rectangle measured across the base line.
        assert math.isclose(lane.area_m2, area.area / line.length, rel_tol=1e-9)


def test_lanes_advance_into_the_area_whichever_way_the_base_line_runs():
    area = box(0, 0, 12, 30)
    forward = layout_lanes(area, base_line=LineString([(0, 0), (12, 0)]))
    backward = layout_lanes(area, base_line=LineString([(12, 0), (0, 0)]))
    for layout in (forward, backward):
        assert_tiles(layout, area)
        assert all(b.geometry.bounds[1] == 0 for lane in layout.lanes for b in lane.boxes[:1])
    # Lane 1 starts at the base line's first vertex.
    assert forward.boxes["L001-B001"].geometry.bounds[0] == 0
    assert backward.boxes["L001-B001"].geometry.bounds[2] == 12


def test_default_base_line_leaves_the_whole_area_on_one_side():
    # A "C" whose longest side is the inner edge of the bay: unusable as a start line.
    area = Polygon([(0, 0), (30, 0), (30, 10), (5, 10), (5, 50), (30, 50), (30, 60), (0, 60)])
    line = default_base_line(area)
    (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
    normal = np.array([-(y1 - y0), x1 - x0]) / math.hypot(x1 - x0, y1 - y0)
    side = (np.asarray(area.exterior.coords) - (x0, y0)) @ normal
    assert side.min() >= -1e-9 or side.max() <= 1e-9
    assert line.length == 60  # the outer spine, the longest qualifying side
    assert_tiles(layout_lanes(area), area)


def test_star_shaped_area_falls_back_to_a_convex_hull_edge():
    star = Polygon([
        (math.cos(a) * (30 if k % 2 == 0 else 10), math.sin(a) * (30 if k % 2 == 0 else 10))
        for k, a in enumerate(np.linspace(0, 2 * math.pi, 11)[:-1])
    ])
    line = default_base_line(star)
    hull_edges = list(zip(star.convex_hull.exterior.coords[:-1],
                          star.convex_hull.exterior.coords[1:], strict=True))
    ends = (line.coords[0], line.coords[-1])
    assert any(np.allclose(ends, edge) for edge in hull_edges)
    assert_tiles(layout_lanes(star), star)


def test_progress_polygon_is_the_union_of_the_boxes_done():
    area = Polygon([(0, 0), (25, 0), (25, 18), (0, 18)], [[(4, 4), (9, 4), (9, 9), (4, 9)]])
    layout = layout_lanes(area, base_line=LineString([(0, 0), (25, 0)]), box_length=5.0)
    done = [b.id for lane in layout.lanes[3:9] for b in lane.boxes[:2]]
    cleared = progress_polygon(layout, done)
    assert math.isclose(cleared.area, sum(layout.boxes[i].area_m2 for i in done), rel_tol=1e-9)
    # Boxes 4-9 over the first 10 m, minus the part of the hole they cover.
    expected = box(3, 0, 9, 10).difference(box(4, 4, 9, 9))
    assert cleared.symmetric_difference(expected).area < 1e-9
    # Reporting a box twice does not count it twice.
    assert math.isclose(progress_polygon(layout, done + done[:3]).area, cleared.area)
    assert progress_polygon(layout, []).is_empty


def test_progress_refuses_unknown_box_ids_by_name():
    layout = layout_lanes(box(0, 0, 10, 10))
    with pytest.raises(ValidationError) as err:
        progress_polygon(layout, ["L001-B001", "L099-B001", " L001-B002"])
    assert err.value.field == "box_ids"
    assert "L099-B001" in err.value.problem
    assert "' L001-B002'" in err.value.problem


@pytest.mark.parametrize("kwargs, field", [
    ({"lane_width": 0}, "lane_width"),
    ({"lane_width": -1.0}, "lane_width"),
    ({"lane_width": math.nan}, "lane_width"),
    ({"lane_width": 50.0}, "lane_width"),
    ({"box_length": 0}, "box_length"),
    ({"base_line": LineString([(100, 100), (120, 100)])}, "base_line"),
    ({"base_line": LineString([(0, 5), (0, 5)])}, "base_line"),
    # A base line across the middle: half the area is behind the deminers.
    ({"base_line": LineString([(0, 20), (30, 20)])}, "base_line"),
])
def test_bad_layout_parameters_name_the_field(kwargs, field):
    area = box(0, 0, 30, 40)
    with pytest.raises(ValidationError) as err:
        layout_lanes(area, record="CHA-7", **kwargs)
    assert err.value.field == field
    assert err.value.record == "CHA-7"


@pytest.mark.parametrize("area", [
    Polygon(),
    Polygon([(0, 0), (10, 0), (20, 0), (0, 0)]),
    Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]),  # bow tie
    MultiPolygon([box(0, 0, 5, 5), box(10, 10, 15, 15)]),
    LineString([(0, 0), (5, 5)]),
])
def test_degenerate_areas_are_refused(area):
    with pytest.raises(ValidationError) as err:
        layout_lanes(area)
    assert err.value.field == "area"


def test_degree_coordinates_are_caught_as_too_narrow():
    area = box(30.50, 50.40, 30.51, 50.41)  # WGS84 by mistake: 0.01 "m" wide
    with pytest.raises(ValidationError) as err:
        layout_lanes(area)
    assert err.value.field == "lane_width"
    assert "metres" in err.value.problem


def test_curved_road_edge_gives_straight_lanes_across_its_chord():
    area = Polygon([(0, 0), (40, 0), (40, 25), (0, 25)])
    road = LineString([(-2, -0.5), (20, -1.5), (42, -0.5)])  # a bent edge just outside
    layout = layout_lanes(area, base_line=road, box_length=5.0)
    assert_tiles(layout, area)
    # The chord is horizontal, so every lane is a vertical 1 m strip: 25 m² when whole.
    whole = [lane for lane in layout.lanes if math.isclose(lane.area_m2, 25.0)]
    assert len(whole) >= 38
    for lane in whole:
        minx, _, maxx, _ = lane.geometry.bounds
        assert math.isclose(maxx - minx, 1.0)


def test_layout_id_names_the_grid_and_changes_with_any_of_its_inputs():
    area = Polygon([(0, 0), (40, 0), (40, 25), (0, 25)])
    line = LineString([(0, 0), (40, 0)])
    same = layout_lanes(area, base_line=line).id
    assert same == layout_lanes(Polygon(area.exterior.coords), base_line=line).id
    assert same.startswith("LY-") and len(same) == 11
    others = {
        layout_lanes(area, base_line=LineString([(0, 0.5), (40, 0.5)])).id,
        layout_lanes(area, base_line=line, lane_width=1.5).id,
        layout_lanes(area, base_line=line, box_length=5.0).id,
        layout_lanes(Polygon([(0, 0), (40, 0), (40, 26), (0, 25)]), base_line=line).id,
    }
    assert same not in others and len(others) == 4
