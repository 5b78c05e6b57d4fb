"""`demine export`: every format reads back to the same records, and the GeoPackage is valid.

Most tests run on the synthetic demo district (every layer has rows); one runs on the
small metric world on both backends (SQLite and PostGIS) so the layer queries are
checked against both.
"""

from __future__ import annotations

import math
import numbers
import sqlite3
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, box
from typer.testing import CliRunner

from demine.domain.errors import ValidationError
from demine.io.export import FORMATS, export_project, read_shp_fields, shp_field
from demine.io.layers import LAYERS, read_layers
from demine.io.qgis_styles import STYLES
from demine.scenario.district import load_demo
from demine.store import Repository

COORD_TOL = 1e-7  # degrees, about 1 cm
SINGLE = {"gpkg": "project.gpkg", "xlsx": "project.xlsx"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    repo = Repository.open(f"sqlite:///{path}")
    load_demo(repo)
    yield repo
    repo.close()


@pytest.fixture(scope="module")
def expected(demo: Repository) -> dict[str, pd.DataFrame]:
    return read_layers(demo)


def _export(repo: Repository, tmp: Path, fmt: str, **kw: Any):
    return export_project(repo, tmp / SINGLE.get(fmt, fmt), fmt, **kw)


def _read_back(out: Path, fmt: str, layer: str) -> pd.DataFrame | None:
    """One exported layer read back with pyogrio, with demine's field names."""
    if fmt in SINGLE:
        return pyogrio.read_dataframe(out, layer=layer)
    suffix = {"shp": ".shp", "geojson": ".geojson", "kml": ".kml", "csv": ".csv"}[fmt]
    path = out / f"{layer}{suffix}"
    if fmt == "shp" and not LAYERS[layer].spatial:
        path = out / f"{layer}.dbf"
    if not path.exists():
        return None
    # GDAL's GeoJSON reader turns ISO date text into dates unless told otherwise.
    options = {"DATE_AS_STRING": "YES"} if fmt == "geojson" else {}
    frame = pyogrio.read_dataframe(path, **options)
    if fmt == "shp":
        frame = frame.rename(columns=read_shp_fields(out / "fields.csv")[layer])
    if fmt == "kml" and "name" in LAYERS_WITH_NAME.get(layer, ()):
        frame = frame.rename(columns={"Name": "name"})
    return frame


LAYERS_WITH_NAME = {name: ("name",) for name in
                    ("hazard_areas", "remaining", "settlements", "settlement_footprints",
                     "roads")}


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _same(a: Any, b: Any, rel: float) -> bool:
    """Equal values; text formats lose the difference between empty and missing text."""
    if _missing(a) or a == "":
        return _missing(b) or b == ""
    if isinstance(a, bool | np.bool_):
        return not _missing(b) and bool(a) == bool(b)
    if isinstance(a, numbers.Number):
        return not _missing(b) and math.isclose(float(a), float(b), rel_tol=rel, abs_tol=0)
    return str(a) == str(b)


def _assert_same_layer(name: str, want: pd.DataFrame, got: pd.DataFrame, fmt: str) -> None:
    assert len(got) == len(want), f"{fmt}/{name}: {len(got)} rows, expected {len(want)}"
    # DBF and text formats keep 15 significant digits of a double: 1e-14 relative.
    rel = 0.0 if fmt in ("gpkg", "geojson") else 1e-14
    for column in want.columns:
        if column == "geometry":
            continue
        assert column in got.columns, f"{fmt}/{name}: column {column} missing: {list(got)}"
        for i, (a, b) in enumerate(zip(want[column], got[column], strict=True)):
            assert _same(a, b, rel), f"{fmt}/{name}[{i}].{column}: {a!r} != {b!r}"
    if LAYERS[name].spatial:
        if fmt in ("csv", "xlsx"):
            geoms = shapely.from_wkt(got["wkt"].to_numpy())
        else:
            geoms = got.geometry.to_numpy()
        for i, (a, b) in enumerate(zip(want.geometry, geoms, strict=True)):
            # Shapefile rings run clockwise, RFC 7946 counter-clockwise, and a layer may be
            # promoted to multi-part: same vertex count, and no vertex moved (Hausdorff).
            b = shapely.force_2d(b)
            assert shapely.get_num_coordinates(a) == shapely.get_num_coordinates(b), (
                f"{fmt}/{name}[{i}]: vertex count differs")
            assert shapely.hausdorff_distance(a, b) <= COORD_TOL, f"{fmt}/{name}[{i}]: moved"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_reads_back_the_same_records(demo, expected, tmp_path, fmt):
    summary = _export(demo, tmp_path, fmt)
    assert summary.features == sum(len(f) for f in expected.values()) > 300
    checked = 0
    for name, want in expected.items():
        got = _read_back(summary.out, fmt, name)
        if fmt == "kml" and not LAYERS[name].spatial:
            assert got is None
            assert next(x for x in summary.layers if x.name == name).skipped
            continue
        assert got is not None, f"{fmt}: layer {name} not written"
        if fmt in ("xlsx", "geojson") and not len(want):
            assert len(got) == 0  # no schema without features: no header row, no properties
            continue
        _assert_same_layer(name, want, got, fmt)
        if len(want):
            assert got["synthetic"].astype(bool).all(), f"{fmt}/{name}: synthetic lost"
            checked += 1
    assert checked >= 7


def test_kml_placemarks_say_synthetic(demo, tmp_path):
    out = _export(demo, tmp_path, "kml", layers=["hazard_areas"]).out
    text = (out / "hazard_areas.kml").read_text(encoding="utf-8")
    assert text.count("[SYNTHETIC]") == 78


def _validate(path: Path) -> list:
    # GDAL's own validator (package gdal-utils, installed by scripts/test with --no-deps:
    # its `gdal` dependency needs GDAL's headers, and validate_gpkg needs only sqlite3).
    # A missing validator fails the test: it is never skipped.
    from osgeo_utils.samples import validate_gpkg

    messages: list[str] = []
    errors = validate_gpkg.check(str(path), abort_at_first_error=False, extra_checks=True,
                                 warning_as_error=True, myprint=messages.append)
    return [*errors, *messages]


def test_geopackage_is_valid_and_complete(demo, expected, tmp_path):
    out = _export(demo, tmp_path, "gpkg").out
    assert _validate(out) == []
    with sqlite3.connect(out) as conn:
        contents = dict(conn.execute("SELECT table_name, data_type FROM gpkg_contents"))
        srs = {r[0] for r in conn.execute("SELECT srs_id FROM gpkg_geometry_columns")}
        rtrees = {r[0] for r in conn.execute(
            "SELECT table_name FROM gpkg_extensions WHERE extension_name='gpkg_rtree_index'")}
        # validate_gpkg parses geometry blobs only with GDAL's bindings: do it with shapely.
        for name in expected:
            if LAYERS[name].spatial:
                for (blob,) in conn.execute(f'SELECT geom FROM "{name}"'):
                    flags = blob[3]
                    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(flags >> 1) & 7]
                    assert shapely.from_wkb(bytes(blob[8 + envelope:])).is_valid
    conn.close()
    for name, layer in LAYERS.items():
        assert contents[name] == ("features" if layer.spatial else "attributes")
    assert contents["layer_styles"] == "attributes"
    assert srs == {4326}
    assert rtrees == {n for n, d in LAYERS.items() if d.spatial}


def test_layer_styles_give_land_release_symbology(demo, tmp_path):
    out = _export(demo, tmp_path, "gpkg").out
    with sqlite3.connect(out) as conn:
        rows = {r[0]: r[1:] for r in conn.execute(
            'SELECT f_table_name, "useAsDefault", "styleQML", "styleSLD", f_geometry_column '
            "FROM layer_styles")}
        columns = [r[1] for r in conn.execute("PRAGMA table_info(layer_styles)")]
    conn.close()
    assert columns == ["id", "f_table_catalog", "f_table_schema", "f_table_name",
                       "f_geometry_column", "styleName", "styleQML", "styleSLD",
                       "useAsDefault", "description", "owner", "ui", "update_time"]
    assert set(rows) == set(STYLES)
    colours = {}
    for layer in ("hazard_areas", "settlements"):
        default, qml, sld, geom_column = rows[layer]
        assert default == 1 and geom_column == "geom"
        root = ET.fromstring(qml.split("\n", 1)[1])
        renderer = root.find("renderer-v2")
        assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "status"
        cats = {c.get("value"): c.get("symbol") for c in renderer.iter("category")}
        symbols = {s.get("name"): s for s in renderer.find("symbols")}
        colours[layer] = {
            value: symbols[sym].find(".//Option[@name='color']").get("value")
            for value, sym in cats.items()}
        ET.fromstring(sld.encode())
    assert colours["hazard_areas"] == {"open": "227,26,28,255", "worked_on": "255,127,0,255",
                                       "released": "51,160,44,255"}
    assert colours["settlements"] == {"closed": "227,26,28,255", "open": "51,160,44,255"}


@pytest.mark.parametrize("fmt", ["gpkg", "csv"])
def test_victims_personal_data_only_when_asked(demo, tmp_path, fmt):
    plain = _read_back(_export(demo, tmp_path / "a", fmt).out, fmt, "victims")
    accidents = _read_back(_export(demo, tmp_path / "b", fmt).out, fmt, "accidents")
    assert len(plain) == 2
    assert not {"sex", "age", "activity_at_time"} & set(plain.columns)
    assert "narrative" not in accidents.columns
    assert {"accident_code", "outcome", "role", "synthetic"} <= set(plain.columns)
    full = _read_back(_export(demo, tmp_path / "c", fmt, include_sensitive=True).out, fmt,
                      "victims")
    assert {"sex", "age", "activity_at_time"} <= set(full.columns)
    assert full["sex"].notna().all()


def test_layers_option_and_bad_input(demo, tmp_path):
    summary = export_project(demo, tmp_path / "two.gpkg", "gpkg",
                             layers=["settlements", "hazard_areas"])
    assert [x.name for x in summary.layers] == ["hazard_areas", "settlements"]
    assert set(pyogrio.list_layers(summary.out)[:, 0]) == {
        "hazard_areas", "settlements", "layer_styles"}
    with pytest.raises(ValidationError, match=r"unknown format 'dxf'.*gpkg, shp, geojson"):
        export_project(demo, tmp_path / "x", "dxf")
    with pytest.raises(ValidationError, match=r"unknown layer\(s\) 'mines'.*hazard_areas"):
        export_project(demo, tmp_path / "x.gpkg", "gpkg", layers=["hazard_areas", "mines"])
    with pytest.raises(ValidationError, match=r"must end in \.gpkg"):
        export_project(demo, tmp_path / "x.zip", "gpkg")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValidationError, match="is a file"):
        export_project(demo, tmp_path / "file.txt", "csv")
    assert not (tmp_path / "x.gpkg").exists()


def test_shapefile_names_fit_dbf_and_are_unique_per_layer(expected):
    for name, frame in expected.items():
        short = [shp_field(c) for c in frame.columns if c != "geometry"]
        assert all(len(c) <= 10 for c in short), name
        assert len(set(short)) == len(short), name


def test_small_world_round_trip_on_both_backends(world, tmp_path):
    world.settlement("STL-1", Point(0, -300), population=420,
                     footprint=box(-50, -350, 50, -250))
    world.file(date(2026, 3, 1), [world.hazard_entry("HA-1", box(0, 0, 100, 60))])
    world.file(date(2026, 3, 5), [world.activity_entry(
        "ACT-1", "HA-1", [("cleared", box(0, 0, 40, 60))], type="clearance")])
    expected = read_layers(world.repo)
    assert len(expected["outcome_polygons"]) == 1
    summary = export_project(world.repo, tmp_path / "w.gpkg", "gpkg")
    assert _validate(summary.out) == []
    for name, want in expected.items():
        _assert_same_layer(name, want, pyogrio.read_dataframe(summary.out, layer=name), "gpkg")
    hazard = pyogrio.read_dataframe(summary.out, layer="hazard_areas").iloc[0]
    assert hazard["status"] == "worked_on" and hazard["synthetic"]


def test_cli_export_prints_summary_and_refuses_bad_format(demo, tmp_path):
    from demine.cli import app

    db = demo.url
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(tmp_path / "out.gpkg"), "--format", "gpkg",
                                 "--layers", "hazard_areas,victims", "--db", db])
    assert result.exit_code == 0, result.output
    assert "hazard_areas" in result.output and "78" in result.output
    assert "sensitive" in result.output
    assert (tmp_path / "out.gpkg").exists()
    bad = runner.invoke(app, ["export", str(tmp_path / "o"), "--format", "dwg", "--db", db])
    assert bad.exit_code == 1
    assert "unknown format 'dwg'" in bad.output and "xlsx" in bad.output
