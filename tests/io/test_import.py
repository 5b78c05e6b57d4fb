"""Import of files (issue 3): every format, checks, idempotence, refusal, the CLI.

Files are written with the same GDAL (pyogrio) a user's QGIS would use, in tmp_path;
each test runs on SQLite and on PostGIS (``repo`` comes from ``db_url``).
"""

from __future__ import annotations

import csv
import json
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, Polygon, box
from sqlalchemy import func, select
from store_rows import audit_of, reverse_report
from store_rows import snapshot as rows_of

from demine.domain.changes import parse_change
from demine.domain.entities import Organisation
from demine.domain.errors import RuleViolation, ValidationError
from demine.domain.vocab import OrganisationKind
from demine.io.imports import Update, import_file
from demine.service import reference
from demine.store import Repository
from demine.store import schema as s
from demine_cli import run as run_cli

X0, Y0 = 171.6, -43.6  # the synthetic test area (no real contamination there)
TABLES = (s.settlements, s.teams, s.hazard_areas, s.reports, s.report_entries, s.audit_log)


def snapshot(repo: Repository) -> dict[str, list]:
    """Every row of the tables an import may touch, for equality."""
    return rows_of(repo, TABLES)


def audit_count(repo: Repository) -> int:
    with repo.reader() as uow:
        return uow.conn.execute(select(func.count()).select_from(s.audit_log)).scalar_one()


def settlements_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"Code": ["STL-1", "STL-2", "STL-3"], "Name_EN": ["Alpha", "Beta", "Gamma"],
         "district": ["D1", "D1", "D2"], "pop": [800, 120, 45]},
        geometry=[Point(X0, Y0), Point(X0 + 0.01, Y0), Point(X0 + 0.02, Y0 + 0.01)],
        crs="EPSG:4326")


def write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """Write ``frame`` in the format ``path``'s extension names (as a user's GIS would)."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        folder = path.parent / f"{path.stem}_shp"
        folder.mkdir()
        frame.to_file(folder / "layer.shp")
        with zipfile.ZipFile(path, "w") as archive:
            for member in folder.iterdir():
                archive.write(member, member.name)
    elif suffix == ".kmz":
        kml = path.with_suffix(".kml")
        frame.to_crs(4326).to_file(kml, driver="KML")
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(kml, "doc.kml")
    elif suffix == ".csv" and path.stem.endswith("lonlat"):
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["longitude"], table["latitude"] = frame.geometry.x, frame.geometry.y
        table.to_csv(path, index=False)
    elif suffix in (".csv", ".xlsx"):
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["WKT"] = frame.geometry.to_wkt()
        if suffix == ".csv":
            table.to_csv(path, index=False)
        else:
            pyogrio.write_dataframe(table, path, driver="XLSX")
    else:
        driver = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON",
                  ".kml": "KML"}[suffix]
        frame.to_file(path, driver=driver)
    return path


def _setup_orgs(repo: Repository) -> None:
    with repo.unit("im.test", "setup") as uow:
        reference.add_organisation(uow, Organisation("MAC", "Centre", OrganisationKind.NMAA))
        reference.add_organisation(uow, Organisation("OP1", "Operator",
                                                     OrganisationKind.OPERATOR))


# --- formats, idempotence, versions ---------------------------------------------------

FORMATS = ["s.gpkg", "s.shp", "s.zip", "s.geojson", "s.kml", "s.kmz", "s.csv", "s_lonlat.csv",
           "s.xlsx"]


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_creates_then_changes_nothing(repo: Repository, tmp_path: Path,
                                                   name: str) -> None:
    path = write(settlements_frame(), tmp_path / name)
    crs = "EPSG:4326" if name in ("s.csv", "s.xlsx") else None  # WKT tables declare no CRS
    first = import_file(repo, path, "settlements", author="im.test", crs=crs)
    assert (first.created, first.updated, first.unchanged, first.rejected) == (3, 0, 0, [])
    assert first.mapping["code"] == "Code" and first.mapping["population"] == "pop"
    with repo.reader() as uow:
        stl = uow.require(s.settlements, "STL-3")
    assert (stl["name"], stl["admin_area"], stl["population"]) == ("Gamma", "D2", 45)
    assert abs(stl["geom"].x - (X0 + 0.02)) < 1e-9 and abs(stl["geom"].y - (Y0 + 0.01)) < 1e-9
    before = snapshot(repo)
    again = import_file(repo, path, "settlements", author="im.test", crs=crs)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert snapshot(repo) == before


def test_changed_settlement_gets_a_new_version_with_the_import_as_reason(
        repo: Repository, tmp_path: Path) -> None:
    frame = settlements_frame()
    import_file(repo, write(frame, tmp_path / "national.gpkg"), "settlements", author="im.a")
    frame.loc[1, "pop"] = 130
    frame.loc[2, "geometry"] = Point(X0 + 0.03, Y0 + 0.01)
    summary = import_file(repo, write(frame, tmp_path / "national_v2.gpkg"), "settlements",
                          author="im.b")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 2, 1)
    with repo.reader() as uow:
        beta = uow.require(s.settlements, "STL-2")
        gamma = uow.require(s.settlements, "STL-3")
        alpha = uow.require(s.settlements, "STL-1")
        audit = uow.conn.execute(select(s.audit_log).where(
            s.audit_log.c.entity_code == "STL-2", s.audit_log.c.action == "update")
            .order_by(s.audit_log.c.id)).mappings().all()
    assert (beta["version"], beta["population"]) == (2, 130)
    assert gamma["version"] == 2 and abs(gamma["geom"].x - (X0 + 0.03)) < 1e-9
    assert alpha["version"] == 1
    assert [(a["author"], a["reason"]) for a in audit] == [("im.b", "import national_v2.gpkg")]
    assert audit[0]["before"]["population"] == 120 and audit[0]["after"]["population"] == 130


def test_footprint_polygons_become_settlement_footprints(repo: Repository,
                                                         tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["V-1"], "population": [10]},
                             geometry=[box(X0, Y0, X0 + 0.01, Y0 + 0.01)], crs=4326)
    import_file(repo, write(frame, tmp_path / "v.geojson"), "settlements", author="im")
    with repo.reader() as uow:
        row = uow.require(s.settlements, "V-1")
    assert shapely.equals_exact(shapely.normalize(row["footprint"]),
                                shapely.normalize(box(X0, Y0, X0 + 0.01, Y0 + 0.01)), 1e-9)
    assert row["footprint"].contains(row["geom"])


def test_a_file_of_points_leaves_stored_footprints_alone(repo: Repository,
                                                         tmp_path: Path) -> None:
    """A point says nothing of a footprint: it moves the point, the footprint stays."""
    outline = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    frame = gpd.GeoDataFrame({"code": ["V-1"], "population": [10]}, geometry=[outline],
                             crs=4326)
    import_file(repo, write(frame, tmp_path / "v.geojson"), "settlements", author="im")
    moved = Point(X0 + 0.004, Y0 + 0.006)
    frame = gpd.GeoDataFrame({"code": ["V-1"], "population": [10]}, geometry=[moved],
                             crs=4326)
    summary = import_file(repo, write(frame, tmp_path / "points.geojson"), "settlements",
                          author="im")
    assert (summary.created, summary.updated) == (0, 1)
    with repo.reader() as uow:
        row = uow.require(s.settlements, "V-1")
    assert row["geom"].distance(moved) < 1e-9 and row["version"] == 2
    assert shapely.equals_exact(shapely.normalize(row["footprint"]),
                                shapely.normalize(outline), 1e-9)
    again = import_file(repo, tmp_path / "points.geojson", "settlements", author="im")
    assert (again.updated, again.unchanged) == (0, 1)


def test_footprints_beside_the_points_come_with_them(repo: Repository,
                                                    tmp_path: Path) -> None:
    """demine's export layout: settlements.geojson and settlement_footprints.geojson."""
    points = settlements_frame()
    write(points, tmp_path / "settlements.geojson")
    outlines = gpd.GeoDataFrame(
        {"code": ["STL-1", "STL-2"]},
        geometry=[box(X0 - 0.001, Y0 - 0.001, X0 + 0.001, Y0 + 0.001),
                  box(X0 + 0.5, Y0, X0 + 0.51, Y0 + 0.01)],  # not around STL-2's point
        crs=4326)
    write(outlines, tmp_path / "settlement_footprints.geojson")
    refused = import_file(repo, tmp_path / "settlements.geojson", "settlements", author="im")
    assert refused.refused and refused.companions == [
        "footprints from settlement_footprints.geojson"]
    assert [(r.file, r.row, r.field) for r in refused.rejected] == [
        ("settlement_footprints.geojson", 2, "geometry")]
    assert "does not hold its point" in refused.rejected[0].problem
    write(outlines.iloc[:1], tmp_path / "settlement_footprints.geojson")
    summary = import_file(repo, tmp_path / "settlements.geojson", "settlements", author="im")
    assert (summary.created, summary.rejected) == (3, [])
    with repo.reader() as uow:
        one, two = (uow.require(s.settlements, c) for c in ("STL-1", "STL-2"))
    assert one["footprint"] is not None and one["geom"].distance(Point(X0, Y0)) < 1e-9
    assert two["footprint"] is None


def test_a_crs_column_places_a_wkt_table(repo: Repository, tmp_path: Path) -> None:
    """demine's CSV/XLSX export names its CRS in a ``crs`` column; one CRS per file."""
    utm = settlements_frame().to_crs("EPSG:32759")
    table = pd.DataFrame(utm.drop(columns="geometry"))
    table["WKT"] = utm.geometry.to_wkt()
    table["crs"] = "EPSG:32759"
    table.to_csv(tmp_path / "utm.csv", index=False)
    summary = import_file(repo, tmp_path / "utm.csv", "settlements", author="im")
    assert summary.created == 3 and summary.source_crs == "EPSG:32759"
    with repo.reader() as uow:
        got = uow.require(s.settlements, "STL-1")["geom"]
    assert abs(got.x - X0) < 1e-7 and abs(got.y - Y0) < 1e-7
    table.loc[2, "crs"] = "EPSG:4326"
    table.to_csv(tmp_path / "mixed.csv", index=False)
    before = snapshot(repo)
    with pytest.raises(ValidationError) as refused:
        import_file(repo, tmp_path / "mixed.csv", "settlements", author="im")
    assert (refused.value.record, refused.value.field) == ("file mixed.csv", "crs")
    assert "rows name different CRSs: 'EPSG:32759' (row 2), 'EPSG:4326' (row 4)" in \
        refused.value.problem
    assert snapshot(repo) == before


def test_a_workbook_sheet_is_picked_by_layer_name(repo: Repository, tmp_path: Path) -> None:
    """Not the first sheet: the one named like the layer (as in a project GeoPackage)."""
    frame = settlements_frame()
    table = pd.DataFrame(frame.drop(columns="geometry"))
    table["WKT"] = frame.geometry.to_wkt()
    path = tmp_path / "book.xlsx"
    notes = pd.DataFrame({"note": ["read me first"], "WKT": ["POINT (0 0)"]})
    pyogrio.write_dataframe(notes, path, layer="readme", driver="XLSX")
    pyogrio.write_dataframe(table, path, layer="Settlements", driver="XLSX", append=True)
    summary = import_file(repo, path, "settlements", author="im", crs="EPSG:4326")
    assert (summary.created, summary.rejected) == (3, [])
    other = tmp_path / "other.xlsx"
    pyogrio.write_dataframe(notes, other, layer="readme", driver="XLSX")
    pyogrio.write_dataframe(table, other, layer="villages_2020", driver="XLSX", append=True)
    with pytest.raises(ValidationError) as refused:
        import_file(repo, other, "settlements", author="im", crs="EPSG:4326")
    assert (refused.value.record, refused.value.field) == ("file other.xlsx", "layer")
    assert "has 2 layers (readme, villages_2020)" in refused.value.problem


# --- refusal and --skip-invalid -----------------------------------------------------------

BOWTIE = Polygon([(X0, Y0), (X0 + 0.01, Y0 + 0.01), (X0 + 0.01, Y0), (X0, Y0 + 0.01)])


def _mixed_frame() -> gpd.GeoDataFrame:
    frame = settlements_frame()
    frame.loc[1, "pop"] = -5
    frame.loc[2, "Code"] = "STL-3 "
    return frame


def test_a_bad_row_refuses_the_whole_file_and_nothing_changes(repo: Repository,
                                                               tmp_path: Path) -> None:
    import_file(repo, write(settlements_frame(), tmp_path / "base.gpkg"), "settlements",
                author="im")
    frame = _mixed_frame()
    frame.loc[0, "pop"] = 999  # a good change that must not be applied either
    before = snapshot(repo)
    summary = import_file(repo, write(frame, tmp_path / "bad.gpkg"), "settlements", author="im")
    assert summary.refused and (summary.created, summary.updated) == (0, 0)
    assert {(r.file, r.row, r.field) for r in summary.rejected} == {
        ("bad.gpkg", 2, "population"), ("bad.gpkg", 3, "code")}
    assert "stray spaces" in next(r.problem for r in summary.rejected if r.field == "code")
    assert snapshot(repo) == before


def test_skip_invalid_imports_the_good_rows(repo: Repository, tmp_path: Path) -> None:
    summary = import_file(repo, write(_mixed_frame(), tmp_path / "mixed.csv"), "settlements",
                          author="im", crs="EPSG:4326", skip_invalid=True)
    assert not summary.refused and summary.created == 1
    # CSV rows are numbered as a spreadsheet shows them: the header is row 1.
    assert sorted((r.row, r.field) for r in summary.rejected) == [(3, "population"),
                                                                 (4, "code")]
    with repo.reader() as uow:
        codes = [c for (c,) in uow.conn.execute(select(s.settlements.c.code))]
    assert codes == ["STL-1"]


def test_dry_run_writes_nothing_and_counts(repo: Repository, tmp_path: Path) -> None:
    path = write(settlements_frame(), tmp_path / "s.gpkg")
    before = snapshot(repo)
    summary = import_file(repo, path, "settlements", author="im", dry_run=True)
    assert (summary.created, summary.dry_run, summary.written) == (3, True, False)
    assert summary.mapping == {"code": "Code", "name": "Name_EN", "admin_area": "district",
                               "population": "pop"}
    assert snapshot(repo) == before


# --- CRS ----------------------------------------------------------------------------------

def test_shapefile_without_prj_is_refused_unless_crs_given(repo: Repository,
                                                           tmp_path: Path) -> None:
    path = write(settlements_frame(), tmp_path / "noprj.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(ValidationError) as refused:
        import_file(repo, path, "settlements", author="im")
    assert refused.value.record == "file noprj.shp" and refused.value.field == "crs"
    assert ".prj" in refused.value.problem
    assert audit_count(repo) == 0
    summary = import_file(repo, path, "settlements", author="im", crs="EPSG:4326")
    assert summary.created == 3


def test_utm_file_is_reprojected_to_wgs84(repo: Repository, tmp_path: Path) -> None:
    frame = settlements_frame()
    utm = frame.to_crs("EPSG:32759")  # UTM 59S
    import_file(repo, write(utm, tmp_path / "utm.gpkg"), "settlements", author="im")
    with repo.reader() as uow:
        for code, expected in zip(frame["Code"], frame.geometry, strict=True):
            got = uow.require(s.settlements, code)["geom"]
            assert abs(got.x - expected.x) < 1e-7 and abs(got.y - expected.y) < 1e-7
    # a UTM CSV with x/y columns declares nothing: --crs is needed
    table = pd.DataFrame({"code": ["U-1"], "population": [1], "x": [utm.geometry.x[0] + 50],
                          "y": [utm.geometry.y[0]]})
    table.to_csv(tmp_path / "utm.csv", index=False)
    with pytest.raises(ValidationError, match="declares no CRS"):
        import_file(repo, tmp_path / "utm.csv", "settlements", author="im")
    assert import_file(repo, tmp_path / "utm.csv", "settlements", author="im",
                       crs="EPSG:32759").created == 1


# --- geocheck rules -------------------------------------------------------------------------

def _hazards(polygons: list, codes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"Hazard_ID": codes, "classif": ["SHA"] * len(codes)},
                            geometry=polygons, crs=4326)


def test_geocheck_rules_refuse_bad_polygons(repo: Repository, tmp_path: Path) -> None:
    _setup_orgs(repo)
    good = box(X0, Y0, X0 + 0.001, Y0 + 0.001)
    far_vertex = Polygon([(X0, Y0), (X0 + 0.1, Y0), (X0 + 0.1, Y0 + 0.001)])  # 8 km edge
    flat = Polygon([(X0, Y0), (X0 + 0.001, Y0), (X0, Y0), (X0 + 0.001, Y0)])  # 2 vertices
    holed = box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01).difference(
        box(X0 + 0.012, Y0 + 0.002, X0 + 0.014, Y0 + 0.004))
    two_parts = box(X0 + 0.03, Y0, X0 + 0.031, Y0 + 0.001).union(
        box(X0 + 0.035, Y0, X0 + 0.036, Y0 + 0.001))
    frame = _hazards([good, BOWTIE, far_vertex, flat, good, holed, two_parts],
                     ["HA-1", "HA-2", "HA-3", "HA-4", "HA-5", "HA-6", "HA-7"])
    summary = import_file(repo, write(frame, tmp_path / "h.gpkg"), "hazards", author="im",
                          organisation_code="OP1")
    problems = {r.row: r.problem for r in summary.rejected}
    assert summary.refused and {r.field for r in summary.rejected} == {"geometry"}
    assert "invalid polygon" in problems[2] and "Self-intersection" in problems[2]
    assert "km apart" in problems[3]
    assert "distinct vertices" in problems[4]
    assert "duplicate shape" in problems[1] and "duplicate shape" in problems[5]
    assert 6 not in problems and 7 not in problems  # holes and multi-part are fine
    assert snapshot(repo)["reports"] == []


def test_duplicate_points_and_codes_in_a_file_are_refused(repo: Repository,
                                                          tmp_path: Path) -> None:
    frame = settlements_frame()
    frame.loc[1, "geometry"] = Point(X0, Y0)  # same point as row 1
    frame.loc[2, "Code"] = "STL-1"  # same code as row 1
    summary = import_file(repo, write(frame, tmp_path / "d.geojson"), "settlements",
                          author="im")
    found = {(r.row, r.field): r.problem for r in summary.rejected}
    assert "duplicate point" in found[(2, "geometry")] and "duplicate point" in found[
        (1, "geometry")]
    assert "appears again" in found[(3, "code")] and "appears again" in found[(1, "code")]
    assert audit_count(repo) == 0


def test_swapped_lon_lat_is_refused(repo: Repository, tmp_path: Path) -> None:
    import_file(repo, write(settlements_frame(), tmp_path / "base.gpkg"), "settlements",
                author="im")
    table = pd.DataFrame({"code": ["S-9", "S-10", "S-11"], "population": [1, 1, 1],
                          "lon": [Y0, X0 + 0.05, 10.0], "lat": [X0, Y0, 10.0]})
    table.to_csv(tmp_path / "swapped.csv", index=False)
    summary = import_file(repo, tmp_path / "swapped.csv", "settlements", author="im",
                          skip_invalid=True)
    found = {r.row: r.problem for r in summary.rejected}
    assert "outside WGS84" in found[2]
    assert "outside the project's area" in found[4]
    assert summary.created == 1 and 3 not in found


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["fake.gpkg", "fake.xlsx", "fake.zip", "fake.geojson"])
def test_file_that_is_not_what_its_extension_says(repo: Repository, tmp_path: Path,
                                                  name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00\x01 this is not a spatial file \xff" * 10)
    with pytest.raises(ValidationError) as refused:
        import_file(repo, path, "settlements", author="im")
    assert refused.value.record == f"file {name}" and refused.value.field == "file"
    assert audit_count(repo) == 0


def test_missing_required_column_and_explicit_mapping(repo: Repository, tmp_path: Path) -> None:
    frame = settlements_frame().rename(columns={"pop": "habitants_2020"})
    path = write(frame, tmp_path / "m.gpkg")
    with pytest.raises(ValidationError) as refused:
        import_file(repo, path, "settlements", author="im")
    assert (refused.value.record, refused.value.field) == ("file m.gpkg", "population")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("population: habitants_2020\n")
    assert import_file(repo, path, "settlements", author="im", mapping=mapping).created == 3
    (tmp_path / "bad.json").write_text(json.dumps({"population": "nope"}))
    with pytest.raises(ValidationError, match="nope"):
        import_file(repo, path, "settlements", author="im", mapping=tmp_path / "bad.json")


# --- teams ------------------------------------------------------------------------------------

def test_teams_need_their_organisation_and_update_in_place(repo: Repository,
                                                           tmp_path: Path) -> None:
    _setup_orgs(repo)
    table = pd.DataFrame({"team_code": ["T-1", "T-2", "T-3"], "org": ["OP1", "OP1", "OPX"],
                          "asset_type": ["manual_team", "mdd_team", "manual_team"],
                          "headcount": [8, 2, 6], "productivity": [300, 1600, 250]})
    table.to_csv(tmp_path / "teams.csv", index=False)
    refused = import_file(repo, tmp_path / "teams.csv", "teams", author="im")
    assert refused.refused and [(r.row, r.field) for r in refused.rejected] == [
        (4, "organisation_code")]
    assert "'OPX' does not exist" in refused.rejected[0].problem
    table = table[table.org != "OPX"]
    pyogrio.write_dataframe(table, tmp_path / "teams.xlsx", driver="XLSX")
    assert import_file(repo, tmp_path / "teams.xlsx", "teams", author="im").created == 2
    table.loc[0, "headcount"] = 10
    pyogrio.write_dataframe(table, tmp_path / "teams2.xlsx", driver="XLSX")
    summary = import_file(repo, tmp_path / "teams2.xlsx", "teams", author="im")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    with repo.reader() as uow:
        t1 = uow.require(s.teams, "T-1")
    assert (t1["headcount"], t1["version"]) == (10, 2)


# --- hazards ----------------------------------------------------------------------------------

def _hazard_file(tmp_path: Path, name: str = "hazards.gpkg") -> Path:
    frame = gpd.GeoDataFrame(
        {"Hazard_ID": ["HA-1", "HA-2"], "Name": ["North field", "Well"],
         "classif": ["SHA", "CHA"], "eo": ["ap_mine; uxo", "at_mine"]},
        geometry=[box(X0, Y0, X0 + 0.002, Y0 + 0.002),
                  box(X0 + 0.01, Y0, X0 + 0.012, Y0 + 0.002)], crs=4326)
    return write(frame, tmp_path / name)


def test_hazards_land_in_a_submitted_report_and_reimport_changes_nothing(
        repo: Repository, tmp_path: Path) -> None:
    _setup_orgs(repo)
    path = _hazard_file(tmp_path)
    summary = import_file(repo, path, "hazards", author="op.one", organisation_code="OP1",
                          info_date=date(2026, 9, 1))
    assert summary.created == 2 and summary.report_code is not None
    with repo.reader() as uow:
        report = uow.require(s.reports, summary.report_code)
        n_hazards = uow.conn.execute(select(func.count()).select_from(s.hazard_areas)).scalar()
    assert (report["status"], report["author"], report["summary"]) == (
        "submitted", "op.one", "import hazards.gpkg")
    assert report["info_date"] == date(2026, 9, 1) and n_hazards == 0
    before = snapshot(repo)
    again = import_file(repo, path, "hazards", author="op.one", organisation_code="OP1")
    assert (again.created, again.unchanged, again.report_code) == (0, 2, None)
    assert snapshot(repo) == before


def test_hazards_approved_with_approve_and_boundaries_do_not_change_by_import(
        repo: Repository, tmp_path: Path) -> None:
    _setup_orgs(repo)
    summary = import_file(repo, _hazard_file(tmp_path), "hazards", author="im.national",
                          organisation_code="MAC", approve=True)
    with repo.reader() as uow:
        assert uow.require(s.reports, summary.report_code)["status"] == "approved"
        ha1 = uow.require(s.hazard_areas, "HA-1")
    assert ha1["name"] == "North field" and sorted(ha1["eo_suspected"]) == ["ap_mine", "uxo"]
    assert ha1["declared_classification"] == "SHA"
    before = snapshot(repo)
    assert import_file(repo, _hazard_file(tmp_path, "again.gpkg"), "hazards", author="im",
                       organisation_code="MAC", approve=True).unchanged == 2
    assert snapshot(repo) == before
    moved = gpd.GeoDataFrame({"Hazard_ID": ["HA-1"], "Name": ["North field"]},
                             geometry=[box(X0, Y0, X0 + 0.003, Y0 + 0.002)], crs=4326)
    refused = import_file(repo, write(moved, tmp_path / "moved.gpkg"), "hazards", author="im",
                          organisation_code="MAC")
    assert refused.refused and "not by import" in refused.rejected[0].problem
    assert snapshot(repo) == before


def _revised_file(tmp_path: Path, name: str, hazard_name: str = "South field",
                  eo: str = "at_mine") -> Path:
    """HA-1 and HA-2 with the same boundaries; HA-1 renamed, now CHA, other EO."""
    frame = gpd.GeoDataFrame(
        {"Hazard_ID": ["HA-1", "HA-2"], "Name": [hazard_name, "Well"],
         "classif": ["CHA", "CHA"], "eo": [eo, "at_mine"]},
        geometry=[box(X0, Y0, X0 + 0.002, Y0 + 0.002),
                  box(X0 + 0.01, Y0, X0 + 0.012, Y0 + 0.002)], crs=4326)
    return write(frame, tmp_path / name)


def test_changed_hazard_attributes_become_a_new_version_through_the_imports_report(
        repo: Repository, tmp_path: Path) -> None:
    _setup_orgs(repo)
    import_file(repo, _hazard_file(tmp_path), "hazards", author="im.national",
                organisation_code="MAC", approve=True)
    dry = import_file(repo, _revised_file(tmp_path, "revised.gpkg"), "hazards",
                      author="im.national", organisation_code="MAC", dry_run=True)
    assert dry.updates == [Update(1, "HA-1", ("classification", "eo_suspected", "name"))]
    summary = import_file(repo, _revised_file(tmp_path, "revised.gpkg"), "hazards",
                          author="im.national", organisation_code="MAC", approve=True)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    assert summary.updates == dry.updates
    with repo.reader() as uow:
        report = uow.require(s.reports, summary.report_code)
        ha1, ha2 = uow.require(s.hazard_areas, "HA-1"), uow.require(s.hazard_areas, "HA-2")
        kinds = uow.conn.execute(select(s.report_entries.c.kind, s.report_entries.c.payload)
                                 .where(s.report_entries.c.report_id == report["id"])).all()
    assert (report["status"], report["summary"]) == ("approved", "import revised.gpkg")
    assert [k for k, _ in kinds] == ["hazard_revision"]
    payload = kinds[0][1] if isinstance(kinds[0][1], dict) else json.loads(kinds[0][1])
    assert payload == {"hazard_code": "HA-1", "name": "South field", "classification": "CHA",
                       "eo_suspected": ["at_mine"]}  # only what changed
    assert (ha1["name"], ha1["declared_classification"], ha1["classification"],
            ha1["eo_suspected"], ha1["version"]) == ("South field", "CHA", "CHA",
                                                    ["at_mine"], 3)  # revised, refolded
    assert ha2["version"] == 1
    revision, refold = audit_of(repo, "hazard_area", "HA-1")[-2:]
    assert (refold["action"], refold["after"]["classification"]) == ("rebuild", "CHA")
    assert (revision["action"], revision["report_id"], revision["author"]) == (
        "revise", report["id"], "im.national")
    assert (revision["before"]["name"], revision["after"]["name"]) == (
        "North field", "South field")
    before = snapshot(repo)
    again = import_file(repo, _revised_file(tmp_path, "revised-again.gpkg"), "hazards",
                        author="im.national", organisation_code="MAC", approve=True)
    assert (again.updated, again.unchanged, again.report_code) == (0, 2, None)
    assert snapshot(repo) == before


def test_a_pending_revision_is_not_drafted_twice_nor_contradicted(
        repo: Repository, tmp_path: Path) -> None:
    _setup_orgs(repo)
    import_file(repo, _hazard_file(tmp_path), "hazards", author="im", organisation_code="MAC",
                approve=True)
    first = import_file(repo, _revised_file(tmp_path, "a.gpkg"), "hazards", author="op.one",
                        organisation_code="OP1")
    assert first.updated == 1 and first.report_code is not None
    with repo.reader() as uow:
        assert uow.require(s.hazard_areas, "HA-1")["name"] == "North field"  # not yet
    before = snapshot(repo)
    same = import_file(repo, _revised_file(tmp_path, "b.gpkg"), "hazards", author="op.one",
                       organisation_code="OP1")
    assert (same.updated, same.unchanged, same.report_code) == (0, 2, None)
    other = import_file(repo, _revised_file(tmp_path, "c.gpkg", hazard_name="East field"),
                        "hazards", author="op.one", organisation_code="OP1")
    assert other.refused and other.rejected[0].field == "name"
    assert first.report_code in other.rejected[0].problem
    assert snapshot(repo) == before


def test_a_revision_is_reversed_from_its_audit_and_not_over_a_later_one(
        repo: Repository, tmp_path: Path) -> None:
    _setup_orgs(repo)
    import_file(repo, _hazard_file(tmp_path), "hazards", author="im", organisation_code="MAC",
                approve=True)
    revised = import_file(repo, _revised_file(tmp_path, "a.gpkg"), "hazards", author="im",
                          organisation_code="MAC", approve=True).report_code
    later = import_file(repo, _revised_file(tmp_path, "b.gpkg", eo="uxo"), "hazards",
                        author="im", organisation_code="MAC", approve=True).report_code

    with pytest.raises(RuleViolation, match="eo_suspected was revised again"):
        reverse_report(repo, revised)
    reverse_report(repo, later)
    with repo.reader() as uow:
        assert uow.require(s.hazard_areas, "HA-1")["eo_suspected"] == ["at_mine"]
    reverse_report(repo, revised)
    with repo.reader() as uow:
        ha1 = uow.require(s.hazard_areas, "HA-1")
    assert (ha1["name"], ha1["declared_classification"], ha1["classification"],
            sorted(ha1["eo_suspected"])) == ("North field", "SHA", "SHA", ["ap_mine", "uxo"])
    assert [r["action"] for r in audit_of(repo, "hazard_area", "HA-1")
            if r["action"] in ("revise", "reverse")] == [
        "revise", "revise", "reverse", "reverse"]


def test_a_hazard_revision_entry_refuses_the_boundary_and_blank_names() -> None:
    with pytest.raises(ValidationError, match="geometry: a hazard revision sets only"):
        parse_change("hazard_revision", {"hazard_code": "HA-1", "geometry": None}, "e")
    with pytest.raises(ValidationError, match="name: a hazard's name cannot be blank"):
        parse_change("hazard_revision", {"hazard_code": "HA-1", "name": " "}, "e")
    with pytest.raises(ValidationError, match="needs at least one of"):
        parse_change("hazard_revision", {"hazard_code": "HA-1"}, "e")


# --- the command ------------------------------------------------------------------------------

def run(*args: str, db: str) -> subprocess.CompletedProcess:
    return run_cli(*args, db=db, ok=False)


def test_cli_dry_run_lists_what_each_update_changes(db_url: str, tmp_path: Path) -> None:
    repo = Repository.open(db_url)
    _setup_orgs(repo)
    import_file(repo, _hazard_file(tmp_path), "hazards", author="im", organisation_code="MAC",
                approve=True)
    repo.close()
    dry = run("import", str(_revised_file(tmp_path, "revised.gpkg")), "--layer", "hazards",
              "--org", "MAC", "--dry-run", db=db_url)
    assert dry.returncode == 0, dry.stderr
    lines = [" ".join(line.split()) for line in dry.stdout.splitlines()]
    assert "would be updated" in lines
    row = "│ 1 │ HA-1 │ classification, eo_suspected, name"
    assert any(line.startswith(row) for line in lines), dry.stdout


def test_cli_refuses_reports_and_skips(db_url: str, tmp_path: Path) -> None:
    Repository.open(db_url).close()
    path = write(_mixed_frame(), tmp_path / "mixed.gpkg")
    dry = run("import", str(path), "--layer", "settlements", "--dry-run", db=db_url)
    assert dry.returncode == 0 and "Name_EN" in dry.stdout and "would be created" in dry.stdout
    refused = run("import", str(path), "--layer", "settlements", "--user", "im", db=db_url)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "mixed.gpkg" in refused.stderr and "population" in refused.stderr
    report = tmp_path / "rejects.csv"
    ok = run("import", str(path), "--layer", "settlements", "--skip-invalid", "--report",
             str(report), "--user", "im", db=db_url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "created" in ok.stdout
    with report.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["file"], r["row"], r["field"]) for r in rows] == [
        ("mixed.gpkg", "2", "population"), ("mixed.gpkg", "3", "code")]
    repo = Repository.open(db_url)
    with repo.reader() as uow:
        assert uow.require(s.settlements, "STL-1")["population"] == 800
    repo.close()
