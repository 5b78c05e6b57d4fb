"""The geocheck rules on their own: polygons, points and codes refused at the door."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping

from demine.domain.errors import ValidationError
from demine.geo.checks import (
    MAX_VERTEX_SPACING_M,
    check_code,
    check_point,
    check_polygon,
    parse_geometry,
)

GEOD = Geod(ellps="WGS84")
SQUARE = box(30.50, 50.40, 30.51, 50.41)


def refused(fn, value, **kw) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(value, record="hazard HA-7", field="geometry", **kw)
    assert info.value.record == "hazard HA-7"
    assert info.value.field == "geometry"
    return info.value


@pytest.mark.parametrize("value", [
    SQUARE, mapping(SQUARE), json.dumps(mapping(SQUARE)), SQUARE.wkt, f"  {SQUARE.wkt}\n",
])
def test_polygon_in_any_accepted_form(value):
    assert check_polygon(value, record="r").equals(SQUARE)


def test_holes_multiparts_and_z_are_fine():
    holed = SQUARE.difference(box(30.503, 50.403, 30.506, 50.406))
    assert check_polygon(holed, record="r").equals(holed)
    multi = MultiPolygon([SQUARE, box(30.52, 50.40, 30.53, 50.41)])
    assert check_polygon(mapping(multi), record="r").equals(multi)
    z = Polygon([(30.5, 50.4, 1.0), (30.51, 50.4, 2.0), (30.51, 50.41, 3.0)])
    out = check_polygon(z, record="r")
    assert not out.has_z


def test_bow_tie():
    err = refused(check_polygon, "POLYGON ((30.5 50.4, 30.51 50.41, 30.51 50.4, 30.5 50.41, "
                                 "30.5 50.4))")
    assert "invalid polygon" in err.problem


def test_ring_with_two_distinct_vertices():
    err = refused(check_polygon, {"type": "Polygon", "coordinates": [
        [[30.5, 50.4], [30.51, 50.41], [30.51, 50.41], [30.5, 50.4]]]})
    assert "2 distinct vertices" in err.problem


def test_hole_with_two_distinct_vertices():
    ring = [list(c) for c in SQUARE.exterior.coords]
    hole = [[30.503, 50.403], [30.504, 50.404], [30.504, 50.404], [30.503, 50.403]]
    refused(check_polygon, {"type": "Polygon", "coordinates": [ring, hole]})


@pytest.mark.parametrize("value, words", [
    ("POINT (30.5 50.4)", "expected a polygon"),
    ("LINESTRING (30.5 50.4, 30.6 50.5)", "expected a polygon"),
    ("POLYGON EMPTY", "empty"),
    ("POLYGON ((30.5 50.4, 30.6", "not a readable geometry"),
    ('{"type": "Polygon", "coordinates": "x"}', "not a readable geometry"),
    (12345, "not a geometry"),
    ("POLYGON ((200 50, 200.01 50, 200.01 50.01, 200 50))", "outside WGS84"),
    ("POLYGON ((30 95, 30.01 95, 30.01 95.01, 30 95))", "outside WGS84"),
])
def test_other_bad_polygons(value, words):
    assert words in refused(check_polygon, value).problem


@settings(max_examples=60, deadline=None)
@given(lon=st.floats(-170.0, 170.0), lat=st.floats(-75.0, 75.0),
       edge=st.floats(100.0, 20_000.0), az=st.floats(0.0, 360.0))
def test_vertex_spacing_against_geodesic_distance(lon, lat, edge, az):
    # a thin triangle whose longest edge is `edge` metres on the ellipsoid
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, edge)
    lon3, lat3, _ = GEOD.fwd(lon, lat, az + 90.0, 50.0)
    tri = Polygon([(lon, lat), (lon2, lat2), (lon3, lat3)])
    longest = max(GEOD.line_lengths([p[0] for p in tri.exterior.coords],
                                    [p[1] for p in tri.exterior.coords]))
    if abs(longest - MAX_VERTEX_SPACING_M) < 1.0:
        return
    if longest > MAX_VERTEX_SPACING_M:
        assert "km apart" in refused(check_polygon, tri).problem
    else:
        assert check_polygon(tri, record="r").equals(tri)


def test_vertex_spacing_is_a_parameter():
    lon2, lat2, _ = GEOD.fwd(30.5, 50.4, 90.0, 3_000.0)
    tri = Polygon([(30.5, 50.4), (lon2, lat2), (30.5, 50.401)])
    assert check_polygon(tri, record="r")
    refused(check_polygon, tri, max_spacing_m=2_000.0)


def test_points():
    assert check_point({"type": "Point", "coordinates": [30.5, 50.4]}, record="r") == \
        Point(30.5, 50.4)
    assert not check_point("POINT Z (30.5 50.4 7)", record="r").has_z
    refused(check_point, "POINT (181 0)")
    refused(check_point, "POINT EMPTY")
    refused(check_point, SQUARE)
    refused(check_point, {"type": "Point", "coordinates": [float("nan"), 1.0]})


@pytest.mark.parametrize("code", ["HA-000001", "S.12", "UA/KY/0001", "a_b", "7"])
def test_good_codes(code):
    assert check_code(code, record="r") == code


@pytest.mark.parametrize("code", ["", " HA-1", "HA-1 ", "HA  1", "HA 1", "HA-1\n", "-HA",
                                  "HA#1", None, 7])
def test_bad_codes_name_record_and_field(code):
    with pytest.raises(ValidationError) as info:
        check_code(code, record="settlement x", field="code")
    assert (info.value.record, info.value.field) == ("settlement x", "code")


def test_parse_geometry_passes_shapely_through():
    assert parse_geometry(SQUARE, record="r", field="f") is SQUARE
