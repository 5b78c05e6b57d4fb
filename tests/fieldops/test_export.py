"""Exports for GIS and GPS: every file is read back with pyogrio (GDAL) and checked."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, Point, Polygon

from demine.domain.errors import ValidationError
from demine.fieldops.export import ExportFeature, export_features, export_format
from demine.geo.crs import MetricFrame

FRAME = MetricFrame.for_centroid(30.52, 50.45)
X0, Y0 = shapely.get_coordinates(FRAME.to_metric(Point(30.52, 50.45)))[0]


def hazard() -> Polygon:
    return Polygon(
        [(X0, Y0), (X0 + 120, Y0), (X0 + 120, Y0 + 80), (X0, Y0 + 80)],
        [[(X0 + 20, Y0 + 20), (X0 + 40, Y0 + 20), (X0 + 40, Y0 + 35), (X0 + 20, Y0 + 35)]],
    )


def features() -> list[ExportFeature]:
    return [
        ExportFeature(hazard(), {"name": "CHA-0001", "area_m2": 9300.0, "lanes": 120,
                                 "status": "worked on"}),
        ExportFeature(Point(X0 + 5, Y0 + 5), {"name": "find-17", "type": "ap_mine"}),
        ExportFeature(LineString([(X0, Y0 - 2), (X0 + 120, Y0 - 2)]), {"name": "base line"}),
    ]


def wgs84_rings(polygon: Polygon) -> list[np.ndarray]:
    projected = FRAME.to_wgs84(polygon)
    return [np.asarray(r.coords) for r in (projected.exterior, *projected.interiors)]


def same_ring(got: np.ndarray, want: np.ndarray, tol: float) -> bool:
    """Equal closed rings regardless of start vertex and direction (RFC 7946 rewinds)."""
    got, want = got[:-1], want[:-1]
    if len(got) != len(want):
        return False
    for candidate in (got, got[::-1]):
        for shift in range(len(candidate)):
            if np.allclose(np.roll(candidate, shift, axis=0), want, atol=tol, rtol=0):
                return True
    return False


def test_geojson_round_trip(tmp_path):
    path = export_features(features(), tmp_path / "hazards.geojson", FRAME)
    df = pyogrio.read_dataframe(path)
    assert len(df) == 3
    assert list(df.geometry.geom_type) == ["Polygon", "Point", "LineString"]
    assert df.crs.to_epsg() == 4326
    got = df.geometry[0]
    want = wgs84_rings(hazard())
    assert len(got.interiors) == 1
    assert same_ring(np.asarray(got.exterior.coords), want[0], 1e-6)
    assert same_ring(np.asarray(got.interiors[0].coords), want[1], 1e-6)
    point = shapely.get_coordinates(FRAME.to_wgs84(Point(X0 + 5, Y0 + 5)))[0]
    assert np.allclose(shapely.get_coordinates(df.geometry[1])[0], point, atol=1e-6)
    assert df["name"].tolist() == ["CHA-0001", "find-17", "base line"]
    assert df["lanes"][0] == 120
    assert "synthetic" not in df.columns


def test_synthetic_flag_is_on_every_feature_in_every_format(tmp_path):
    for suffix in ("geojson", "kml"):
        path = export_features(features(), tmp_path / f"x.{suffix}", FRAME, synthetic=True)
        df = pyogrio.read_dataframe(path)
        assert len(df) == 3
        assert df["synthetic"].astype(bool).all()
    kml = pyogrio.read_dataframe(tmp_path / "x.kml")
    assert kml["description"].str.startswith("[SYNTHETIC]").all()
    gpx = tmp_path / "x.gpx"
    export_features(features(), gpx, FRAME, synthetic=True)
    for layer in ("waypoints", "tracks"):
        df = pyogrio.read_dataframe(gpx, layer=layer)
        assert (df["ogr_synthetic"] == 1).all()
        assert df["desc"].str.startswith("[SYNTHETIC]").all()


def test_kml_round_trip(tmp_path):
    path = export_features(features(), tmp_path / "site.kml", FRAME)
    df = pyogrio.read_dataframe(path)
    assert len(df) == 3
    assert list(df.geometry.geom_type) == ["Polygon", "Point", "LineString"]
    rings = wgs84_rings(hazard())
    polygon = df.geometry[0]
    assert np.allclose(np.asarray(polygon.exterior.coords)[:, :2], rings[0], atol=1e-9)
    assert np.allclose(np.asarray(polygon.interiors[0].coords)[:, :2], rings[1], atol=1e-9)
    line = np.asarray(df.geometry[2].coords)[:, :2]
    want = np.asarray(FRAME.to_wgs84(features()[2].geometry).coords)
    assert np.allclose(line, want, atol=1e-9)
    assert df["Name"].tolist() == ["CHA-0001", "find-17", "base line"]
    assert df["status"][0] == "worked on"


def test_gpx_puts_points_in_waypoints_and_polygon_rings_in_closed_tracks(tmp_path):
    path = export_features(features(), tmp_path / "gps.gpx", FRAME)
    layers = {name: kind for name, kind in pyogrio.list_layers(path)}
    assert layers["waypoints"] == "Point" and layers["tracks"] == "MultiLineString"
    waypoints = pyogrio.read_dataframe(path, layer="waypoints")
    assert len(waypoints) == 1
    assert waypoints["name"][0] == "find-17"
    assert waypoints["ogr_prop_type"][0] == "ap_mine"  # 'type' is a GPX element
    point = shapely.get_coordinates(FRAME.to_wgs84(Point(X0 + 5, Y0 + 5)))[0]
    assert np.allclose(shapely.get_coordinates(waypoints.geometry[0])[0], point, atol=1e-9)

    tracks = pyogrio.read_dataframe(path, layer="tracks")
    assert len(tracks) == 2
    assert set(tracks.geometry.geom_type) == {"MultiLineString"}
    boundary = tracks.geometry[0]
    rings = wgs84_rings(hazard())
    assert len(boundary.geoms) == len(rings)  # exterior and the hole, one segment each
    for segment, ring in zip(boundary.geoms, rings, strict=True):
        xy = np.asarray(segment.coords)[:, :2]
        assert np.allclose(xy[0], xy[-1])  # closed: a GPS draws the whole boundary
        assert np.allclose(xy, ring, atol=1e-9)
    assert tracks["name"].tolist() == ["CHA-0001", "base line"]
    assert tracks["ogr_lanes"][0] == 120
    assert "area_m2=9300.0" in tracks["desc"][0]


def test_gpx_with_only_tracks_or_only_waypoints(tmp_path):
    only_tracks = export_features(features()[:1], tmp_path / "t.gpx", FRAME)
    assert len(pyogrio.read_dataframe(only_tracks, layer="tracks")) == 1
    assert len(pyogrio.read_dataframe(only_tracks, layer="waypoints")) == 0
    only_points = export_features(features()[1:2], tmp_path / "w.gpx", FRAME)
    assert len(pyogrio.read_dataframe(only_points, layer="waypoints")) == 1
    assert len(pyogrio.read_dataframe(only_points, layer="tracks")) == 0


def test_existing_file_is_replaced(tmp_path):
    for suffix in ("geojson", "kml", "gpx"):
        path = tmp_path / f"again.{suffix}"
        export_features(features(), path, FRAME)
        export_features(features()[:1], path, FRAME)
        layer = "tracks" if suffix == "gpx" else None
        assert len(pyogrio.read_dataframe(path, layer=layer)) == 1


def test_format_from_suffix_or_argument(tmp_path):
    assert export_format("a.GeoJSON") == "geojson"
    assert export_format("a.json") == "geojson"
    assert export_format("A.GPX") == "gpx"
    assert export_format("a.kml") == "kml"
    assert export_format("a.txt", "KML") == "kml"
    path = export_features(features(), tmp_path / "no_suffix", FRAME, fmt="geojson")
    assert len(pyogrio.read_dataframe(path)) == 3


@pytest.mark.parametrize("path, fmt", [("a.shp", None), ("a", None), ("a.kml", "kmz")])
def test_unknown_formats_are_refused(path, fmt, tmp_path):
    with pytest.raises(ValidationError) as err:
        export_features(features(), tmp_path / path, FRAME, fmt=fmt)
    assert err.value.field == "format"
    assert "geojson" in err.value.problem.lower()


@pytest.mark.parametrize("items, record, field", [
    ([], "export", "features"),
    ([ExportFeature(Polygon(), {})], "feature 0", "geometry"),
    ([ExportFeature(Point(X0, Y0)), ExportFeature(GeometryCollection([Point(X0, Y0)]))],
     "feature 1", "geometry"),
    ([ExportFeature(Point(X0, Y0), {"geometry": "x"})], "feature 0", "properties"),
    ([ExportFeature(Point(1e12, 1e12))], "feature 0", "geometry"),
])
def test_bad_features_are_refused_by_name(items, record, field, tmp_path):
    with pytest.raises(ValidationError) as err:
        export_features(items, tmp_path / "x.geojson", FRAME)
    assert (err.value.record, err.value.field) == (record, field)
