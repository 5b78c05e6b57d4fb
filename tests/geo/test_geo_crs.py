"""The metric plane: UTM zone choice and areas in metres checked against the ellipsoid."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from shapely.geometry import LineString, Point, box

from demine.geo.crs import MetricFrame, utm_crs_for

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize("lon, lat, expected", [
    (30.52, 50.45, "EPSG:32636"),    # Kyiv: zone 36N
    (69.17, 34.53, "EPSG:32642"),    # Kabul: zone 42N
    (13.23, -8.84, "EPSG:32733"),    # Luanda: zone 33S
    (-74.08, 4.61, "EPSG:32618"),    # Bogotá: zone 18N
    (104.92, 11.56, "EPSG:32648"),   # Phnom Penh: zone 48N
    (-0.13, 51.51, "EPSG:32630"),    # London, just west of Greenwich: zone 30N
    (0.13, 51.51, "EPSG:32631"),     # just east of Greenwich: zone 31N
])
def test_known_places(lon, lat, expected):
    assert utm_crs_for(lon, lat) == expected


@pytest.mark.parametrize("lon, lat, expected", [
    (-180.0, 10.0, "EPSG:32601"),
    (-179.999, -10.0, "EPSG:32701"),
    (179.999, 10.0, "EPSG:32660"),
    (180.0, 10.0, "EPSG:32660"),      # the antimeridian belongs to zone 60, not "61"
    (6.0, 1.0, "EPSG:32632"),         # a zone's western edge belongs to it
    (5.999999, 1.0, "EPSG:32631"),
    (0.0, 0.0, "EPSG:32631"),         # equator counts as north
    (0.0, -1e-9, "EPSG:32731"),
    (33.0, 90.0, "EPSG:32636"),
    (33.0, -90.0, "EPSG:32736"),
])
def test_zone_and_hemisphere_edges(lon, lat, expected):
    assert utm_crs_for(lon, lat) == expected


@pytest.mark.parametrize("lon, lat", [(180.1, 0.0), (-180.1, 0.0), (0.0, 90.5), (0.0, -91.0),
                                      (math.nan, 0.0)])
def test_out_of_range_is_refused(lon, lat):
    with pytest.raises(ValueError):
        utm_crs_for(lon, lat)


@settings(max_examples=25, deadline=None)
@given(lon=st.floats(-179.9, 179.9), lat=st.floats(-79.9, 83.9))
def test_zone_agrees_with_the_epsg_database(lon, lat):
    # stay away from the 6° zone edges, where both neighbours' areas of use hold the point
    offset = (lon + 180.0) % 6.0
    if offset < 1e-6 or offset > 6.0 - 1e-6 or abs(lat) < 1e-6:
        return
    infos = query_utm_crs_info(datum_name="WGS 84",
                               area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    codes = {f"{i.auth_name}:{i.code}" for i in infos
             if i.code.startswith(("326", "327")) and len(i.code) == 5}
    assert utm_crs_for(lon, lat) in codes


def test_frame_refuses_non_metric_crs():
    with pytest.raises(ValueError):
        MetricFrame("EPSG:4326")
    with pytest.raises(ValueError):
        MetricFrame("EPSG:2263")  # NY state plane, US survey feet
    assert MetricFrame("EPSG:32636").epsg == 32636
    assert MetricFrame.for_centroid(30.5, 50.4).crs == "EPSG:32636"


@settings(max_examples=50, deadline=None)
@given(lon=st.floats(-170.0, 170.0), lat=st.floats(-75.0, 75.0),
       w=st.floats(10.0, 3_000.0), h=st.floats(10.0, 3_000.0))
def test_area_in_metres_matches_the_ellipsoid(lon, lat, w, h):
    dlon = w / (111_320.0 * math.cos(math.radians(lat)))
    dlat = h / 111_320.0
    poly = box(lon, lat, lon + dlon, lat + dlat)
    frame = MetricFrame.for_centroid(*poly.centroid.coords[0])
    expected = abs(GEOD.geometry_area_perimeter(poly)[0])
    assert frame.area_m2(poly) == pytest.approx(expected, rel=0.005)


@settings(max_examples=50, deadline=None)
@given(lon=st.floats(-170.0, 170.0), lat=st.floats(-75.0, 75.0),
       az=st.floats(0.0, 360.0), dist=st.floats(1.0, 5_000.0))
def test_lengths_in_metres_match_the_ellipsoid(lon, lat, az, dist):
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, dist)
    frame = MetricFrame.for_centroid(lon, lat)
    line = frame.to_metric(LineString([(lon, lat), (lon2, lat2)]))
    assert line.length == pytest.approx(dist, rel=0.005)


def test_round_trip_is_exact_to_the_millimetre():
    frame = MetricFrame("EPSG:32636")
    pts = [Point(30.5 + i * 0.01, 50.4 + i * 0.01) for i in range(5)]
    for p in pts:
        back = frame.to_wgs84(frame.to_metric(p))
        assert GEOD.inv(p.x, p.y, back.x, back.y)[2] < 1e-3
    arr = frame.to_metric(np.array(pts, dtype=object))
    assert len(arr) == len(pts)


def test_area_of_nothing_is_zero():
    frame = MetricFrame("EPSG:32636")
    assert frame.area_m2(None) == 0.0
    assert frame.area_m2(box(0, 0, 0, 0).buffer(0)) == 0.0


def test_utm_codes_are_real_projected_crs():
    for lon in range(-177, 180, 6):
        for lat in (-45.0, 45.0):
            crs = CRS.from_user_input(utm_crs_for(lon, lat))
            assert crs.is_projected
            assert crs.utm_zone is not None
            zone = int(crs.utm_zone[:-1])
            assert zone == (lon + 180) // 6 + 1
            assert crs.utm_zone[-1] == ("N" if lat > 0 else "S")
