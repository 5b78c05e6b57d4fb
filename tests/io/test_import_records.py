"""Import of activities, findings and accidents (issue 3): through a report, like hazards.

Each test runs on SQLite and on PostGIS (``repo`` comes from ``db_url``). Files are
written with pyogrio as a user's GIS would, in tmp_path.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, box
from sqlalchemy import func, select
from store_rows import snapshot as rows_of

from demine.domain.entities import Organisation, Team
from demine.domain.errors import ValidationError
from demine.domain.vocab import AssetType, OrganisationKind
from demine.io.imports import import_file
from demine.service import reference, reports
from demine.store import Repository
from demine.store import schema as s
from demine_cli import run as run_cli

X0, Y0 = 171.6, -43.6  # the synthetic test area of test_import (no real contamination)
TABLES = (s.activities, s.findings, s.accidents, s.victims, s.hazard_areas, s.reports,
          s.report_entries, s.audit_log)


def snapshot(repo: Repository) -> dict[str, list]:
    """Every row of the tables an import may touch, for equality."""
    return rows_of(repo, TABLES)


def count(repo: Repository, table) -> int:
    with repo.reader() as uow:
        return uow.conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def field(repo: Repository, tmp_path: Path) -> Repository:
    """Two organisations, a team and two approved hazard areas HA-1, HA-2."""
    with repo.unit("im.test", "setup") as uow:
        reference.add_organisation(uow, Organisation("MAC", "Centre", OrganisationKind.NMAA))
        reference.add_organisation(uow, Organisation("OP1", "Operator",
                                                     OrganisationKind.OPERATOR))
        reference.add_team(uow, Team("T-1", "OP1", AssetType.MANUAL_TEAM, 8, 300.0))
    hazards = gpd.GeoDataFrame(
        {"code": ["HA-1", "HA-2"], "classification": ["SHA", "SHA"]},
        geometry=[box(X0, Y0, X0 + 0.004, Y0 + 0.004),
                  box(X0 + 0.01, Y0, X0 + 0.014, Y0 + 0.004)], crs=4326)
    hazards.to_file(tmp_path / "hazards.gpkg")
    done = import_file(repo, tmp_path / "hazards.gpkg", "hazards", author="im.test",
                       organisation_code="MAC", approve=True)
    assert done.created == 2
    return repo


def activities_csv(path: Path, **changes) -> Path:
    table = pd.DataFrame({
        "Task_ID": ["ACT-1", "ACT-2"], "Hazard_ID": ["HA-1", "HA-2"],
        "activity_type": ["Clearance", "ts"], "status": ["in_progress", "planned"],
        "team": ["T-1", ""], "start_date": ["2026-05-01", ""],
        "clearance_depth_mm": [130, None]})
    for column, values in changes.items():
        table[column] = values
    table.to_csv(path, index=False)
    return path


def test_activities_enter_through_a_report_and_reimport_changes_nothing(
        field: Repository, tmp_path: Path) -> None:
    path = activities_csv(tmp_path / "activities.csv")
    first = import_file(field, path, "activities", author="op.one", organisation_code="OP1",
                        info_date=date(2026, 5, 2))
    assert (first.created, first.updated, first.unchanged, first.rejected) == (2, 0, 0, [])
    assert first.mapping["code"] == "Task_ID" and first.mapping["actual_start"] == "start_date"
    with field.reader() as uow:
        report = uow.require(s.reports, first.report_code)
    assert (report["status"], report["summary"]) == ("submitted", "import activities.csv")
    assert count(field, s.activities) == 0  # nothing official before approval
    before = snapshot(field)
    waiting = import_file(field, path, "activities", author="op.one", organisation_code="OP1")
    assert (waiting.created, waiting.unchanged, waiting.report_code) == (0, 2, None)
    assert snapshot(field) == before

    reports.approve(field, first.report_code, "im.carol")
    with field.reader() as uow:
        act = uow.require(s.activities, "ACT-1")
        team = uow.require(s.teams, "T-1")
        hazard = uow.require(s.hazard_areas, "HA-1")
    assert (act["type"], act["status"], act["team_id"], act["hazard_id"]) == (
        "clearance", "in_progress", team["id"], hazard["id"])
    assert (act["actual_start"], act["clearance_depth_mm"]) == (date(2026, 5, 1), 130)
    assert hazard["status"] == "worked_on"  # the refold saw the work start
    before = snapshot(field)
    again = import_file(field, path, "activities", author="op.one", organisation_code="OP1")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot(field) == before

    changed = activities_csv(tmp_path / "activities_v2.csv",
                             status=["completed", "planned"])
    summary = import_file(field, changed, "activities", author="op.one",
                          organisation_code="OP1", info_date=date(2026, 6, 1), approve=True)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    with field.reader() as uow:
        act = uow.require(s.activities, "ACT-1")
        entry = uow.conn.execute(select(s.report_entries.c.payload).join(
            s.reports, s.reports.c.id == s.report_entries.c.report_id).where(
            s.reports.c.code == summary.report_code)).scalar_one()
        audit = uow.conn.execute(select(s.audit_log).where(
            s.audit_log.c.entity_code == "ACT-1", s.audit_log.c.action == "update")
        ).mappings().all()
    assert (act["status"], act["version"]) == ("completed", 2)
    assert entry == {"code": "ACT-1", "hazard_code": "HA-1", "status": "completed"}
    assert len(audit) == 1 and audit[0]["after"]["status"] == "completed"
    assert audit[0]["report_id"] is not None


def test_activity_links_are_checked_and_a_bad_row_refuses_the_file(
        field: Repository, tmp_path: Path) -> None:
    path = activities_csv(tmp_path / "links.csv", Hazard_ID=["HA-9", "HA-2"],
                          team=["T-9", ""], activity_type=["clearance", ""])
    before = snapshot(field)
    summary = import_file(field, path, "activities", author="op", organisation_code="OP1")
    found = {(r.row, r.field): r.problem for r in summary.rejected}
    assert summary.refused and summary.report_code is None
    assert "hazard area HA-9 is not on the record" in found[(2, "hazard_code")]
    assert "team T-9 is not on the record" in found[(2, "team_code")]
    assert "type is required" in found[(3, "type")]
    assert all(r.file == "links.csv" for r in summary.rejected)
    assert snapshot(field) == before

    skipped = import_file(field, activities_csv(tmp_path / "ok.csv"), "activities",
                          author="op", organisation_code="OP1", approve=True)
    assert skipped.created == 2
    moved = activities_csv(tmp_path / "moved.csv", Hazard_ID=["HA-2", "HA-2"])
    refused = import_file(field, moved, "activities", author="op", organisation_code="OP1")
    assert refused.refused and [(r.row, r.field) for r in refused.rejected] == [
        (2, "hazard_code")]
    assert "does not move" in refused.rejected[0].problem
    with pytest.raises(ValidationError, match="--org"):
        import_file(field, moved, "activities", author="op")
    with pytest.raises(ValidationError, match="'NOPE' does not exist"):
        import_file(field, moved, "activities", author="op", organisation_code="NOPE")


def findings_frame(codes=("ACT-1", "ACT-1", "ACT-2")) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"Task_ID": list(codes), "category": ["AP_MINE", "uxo", "at_mine"],
         "date_found": ["2026-05-03", "2026-05-03", "2026-05-04"],
         "model": ["PMN-2", "", "TM-62"], "depth": [100, None, 250]},
        geometry=[Point(X0 + 0.001, Y0 + 0.001), Point(X0 + 0.002, Y0 + 0.001),
                  Point(X0 + 0.011, Y0 + 0.001)], crs=4326)


def test_findings_need_an_approved_activity_and_come_in_once(field: Repository,
                                                             tmp_path: Path) -> None:
    acts = import_file(field, activities_csv(tmp_path / "a.csv"), "activities", author="op",
                       organisation_code="OP1")
    path = tmp_path / "finds.gpkg"
    findings_frame().to_crs("EPSG:32759").to_file(path)  # a UTM file is reprojected
    waiting = import_file(field, path, "findings", author="op", organisation_code="OP1")
    assert waiting.refused and {r.field for r in waiting.rejected} == {"activity_code"}
    assert f"awaits approval in report {acts.report_code}" in waiting.rejected[0].problem
    unknown = import_file(field, write_findings(tmp_path / "u.geojson", ("ACT-7",) * 3),
                          "findings", author="op", organisation_code="OP1")
    assert "activity ACT-7 is not on the record" in unknown.rejected[0].problem

    reports.approve(field, acts.report_code, "im.carol")
    summary = import_file(field, path, "findings", author="op", organisation_code="OP1",
                          approve=True)
    assert (summary.created, summary.rejected) == (3, [])
    with field.reader() as uow:
        rows = uow.conn.execute(select(s.findings).order_by(s.findings.c.id)).mappings().all()
        ha1 = uow.require(s.hazard_areas, "HA-1")
    assert [(r["eo_category"], r["model"], r["depth_mm"], r["condition"]) for r in rows] == [
        ("ap_mine", "PMN-2", 100, "unknown"), ("uxo", "", None, "unknown"),
        ("at_mine", "TM-62", 250, "unknown")]
    assert abs(rows[0]["geom"].x - (X0 + 0.001)) < 1e-7
    assert abs(rows[0]["geom"].y - (Y0 + 0.001)) < 1e-7
    assert rows[0]["found_on"] == date(2026, 5, 3)
    assert ha1["classification"] == "CHA" and ha1["eo_confirmed"] == ["ap_mine", "uxo"]

    before = snapshot(field)
    again = import_file(field, path, "findings", author="op", organisation_code="OP1")
    assert (again.created, again.unchanged, again.report_code) == (0, 3, None)
    assert snapshot(field) == before
    other = findings_frame()
    other.loc[0, "model"] = "PMN-1"
    refused = import_file(field, write_findings(tmp_path / "o.gpkg", frame=other), "findings",
                          author="op", organisation_code="OP1")
    assert [(r.row, r.field) for r in refused.rejected] == [(1, "model")]
    assert "not supported" in refused.rejected[0].problem
    assert snapshot(field) == before


def write_findings(path: Path, codes=("ACT-1", "ACT-1", "ACT-2"),
                   frame: gpd.GeoDataFrame | None = None) -> Path:
    (findings_frame(codes) if frame is None else frame).to_file(path)
    return path


def test_bad_findings_are_named_and_skip_invalid_keeps_the_good(field: Repository,
                                                                tmp_path: Path) -> None:
    import_file(field, activities_csv(tmp_path / "a.csv"), "activities", author="op",
                organisation_code="OP1", approve=True)
    frame = findings_frame()
    frame.loc[0, "category"] = "grenade"
    frame.loc[1, "date_found"] = "3 May"
    frame.loc[2, "geometry"] = Point(X0 + 0.011, Y0 + 0.001)
    frame = pd.concat([frame, frame.iloc[[2]]], ignore_index=True)  # the same point twice
    frame.loc[3, "category"] = "uxo"
    table = pd.DataFrame(frame.drop(columns="geometry"))
    table["lon"], table["lat"] = frame.geometry.x, frame.geometry.y
    table.loc[4] = ["ACT-2", "uxo", "2026-05-05", "", None, X0 + 0.012, Y0 + 0.002]
    table.to_csv(tmp_path / "finds.csv", index=False)
    dry = import_file(field, tmp_path / "finds.csv", "findings", author="op", dry_run=True)
    found = {(r.row, r.field): r.problem for r in dry.rejected}
    assert "unknown value 'grenade'" in found[(2, "eo_category")]
    assert "not a date" in found[(3, "found_on")]
    assert "duplicate point" in found[(4, "geometry")] and "duplicate point" in found[
        (5, "geometry")]
    assert dry.created == 1 and count(field, s.findings) == 0
    done = import_file(field, tmp_path / "finds.csv", "findings", author="op",
                       organisation_code="OP1", skip_invalid=True, approve=True)
    assert done.created == 1 and len(done.rejected) == 4
    assert count(field, s.findings) == 1


def accidents_file(path: Path, ages=(34, 71)) -> Path:
    accidents = gpd.GeoDataFrame(
        {"accident_id": ["ACC-1", "ACC-2"], "date": ["2026-05-06", "2026-04-01"],
         "accident_type": ["demining", "mine_erw"], "device": ["ap_mine", "uxo"],
         "activity_code": ["ACT-1", None], "narrative": ["Deminer hurt in lane 4", ""]},
        geometry=[Point(X0 + 0.001, Y0 + 0.003), Point(X0 + 0.05, Y0 + 0.05)], crs=4326)
    victims = pd.DataFrame({"accident_code": ["ACC-1", "ACC-2", "ACC-2"],
                            "outcome": ["injured", "killed", "injured"],
                            "role": ["deminer", "civilian", "civilian"],
                            "sex": ["male", "female", "unknown"], "age": [*ages, None],
                            "activity_at_time": ["excavating", "farming", ""]})
    pyogrio.write_dataframe(accidents, path, layer="accidents")
    pyogrio.write_dataframe(victims, path, layer="victims")
    return path


def test_accidents_with_their_victims_and_personal_data_not_quoted(field: Repository,
                                                                   tmp_path: Path) -> None:
    import_file(field, activities_csv(tmp_path / "a.csv"), "activities", author="op",
                organisation_code="OP1", approve=True)
    bad = import_file(field, accidents_file(tmp_path / "bad.gpkg", ages=(34, 137)),
                      "accidents", author="op", organisation_code="OP1")
    assert bad.refused and [(r.file, r.field) for r in bad.rejected] == [
        ("bad.gpkg:victims", "age")]
    assert "137" not in bad.rejected[0].problem and "personal data" in bad.rejected[0].problem
    assert count(field, s.accidents) == 0

    path = accidents_file(tmp_path / "accidents.gpkg")
    summary = import_file(field, path, "accidents", author="op", organisation_code="OP1",
                          approve=True)
    assert (summary.created, summary.rejected) == (2, [])
    with field.reader() as uow:
        acc = uow.require(s.accidents, "ACC-1")
        act = uow.require(s.activities, "ACT-1")
        victims = uow.conn.execute(select(s.victims).order_by(s.victims.c.id)).mappings().all()
    assert (acc["type"], acc["device_category"], acc["activity_id"], acc["narrative"]) == (
        "demining", "ap_mine", act["id"], "Deminer hurt in lane 4")
    assert [(v["outcome"], v["role"], v["sex"], v["age"]) for v in victims] == [
        ("injured", "deminer", "male", 34), ("killed", "civilian", "female", 71),
        ("injured", "civilian", "unknown", None)]
    before = snapshot(field)
    again = import_file(field, path, "accidents", author="op", organisation_code="OP1")
    assert (again.created, again.unchanged) == (0, 2)
    assert snapshot(field) == before


def test_reimported_accident_is_held_to_its_victims(field: Repository, tmp_path: Path) -> None:
    """The same accident with other victims is refused naming the field, never a value;
    a file without personal data (outcome and role only) still matches the record."""
    import_file(field, activities_csv(tmp_path / "a.csv"), "activities", author="op",
                organisation_code="OP1", approve=True)
    import_file(field, accidents_file(tmp_path / "first.gpkg"), "accidents", author="op",
                organisation_code="OP1", approve=True)
    before = snapshot(field)
    older = import_file(field, accidents_file(tmp_path / "aged.gpkg", ages=(34, 72)),
                        "accidents", author="op", organisation_code="OP1")
    assert older.refused and [(r.row, r.field) for r in older.rejected] == [(2, "victims")]
    assert "ACC-2 is on the record with other victims" in older.rejected[0].problem
    assert "72" not in older.rejected[0].problem and "71" not in older.rejected[0].problem
    assert snapshot(field) == before

    plain = tmp_path / "plain.gpkg"
    pyogrio.write_dataframe(pyogrio.read_dataframe(tmp_path / "first.gpkg",
                                                   layer="accidents"), plain, layer="accidents")
    victims = pyogrio.read_dataframe(tmp_path / "first.gpkg", layer="victims")
    pyogrio.write_dataframe(victims[["accident_code", "outcome", "role"]], plain,
                            layer="victims")
    same = import_file(field, plain, "accidents", author="op", organisation_code="OP1")
    assert (same.created, same.unchanged, same.rejected) == (0, 2, [])
    victims.loc[2, "outcome"] = "killed"  # ACC-2's second victim died of the injuries
    pyogrio.write_dataframe(victims[["accident_code", "outcome", "role"]], plain,
                            layer="victims")
    died = import_file(field, plain, "accidents", author="op", organisation_code="OP1")
    assert [(r.row, r.field) for r in died.rejected] == [(2, "victims")]
    assert snapshot(field) == before


def test_accident_of_an_unknown_activity_is_refused(field: Repository, tmp_path: Path) -> None:
    summary = import_file(field, accidents_file(tmp_path / "acc.gpkg"), "accidents",
                          author="op", organisation_code="OP1")
    assert summary.refused and [(r.row, r.field) for r in summary.rejected] == [
        (1, "activity_code")]
    assert "activity ACT-1 is not on the record" in summary.rejected[0].problem
    assert count(field, s.reports) == 1  # the set-up's hazard report only


def test_cli_imports_activities_through_a_report(db_url: str, tmp_path: Path) -> None:
    repo = Repository.open(db_url)
    with repo.unit("im", "setup") as uow:
        reference.add_organisation(uow, Organisation("OP1", "Operator",
                                                     OrganisationKind.OPERATOR))
    gpd.GeoDataFrame({"code": ["HA-1"]}, geometry=[box(X0, Y0, X0 + 0.004, Y0 + 0.004)],
                     crs=4326).to_file(tmp_path / "h.gpkg")
    import_file(repo, tmp_path / "h.gpkg", "hazards", author="im", organisation_code="OP1",
                approve=True)
    repo.close()
    path = tmp_path / "acts.csv"
    pd.DataFrame({"activity_code": ["ACT-1"], "hazard_code": ["HA-1"],
                  "type": ["nts"]}).to_csv(path, index=False)
    dry = run_cli("import", str(path), "--layer", "activities", "--dry-run", db=db_url,
                  ok=False)
    assert dry.returncode == 0 and "would be created" in dry.stdout, dry.stdout + dry.stderr
    done = run_cli("import", str(path), "--layer", "activities", "--org", "OP1", "--approve",
                   "--user", "op", db=db_url, ok=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "activities reported in" in done.stdout
    repo = Repository.open(db_url)
    with repo.reader() as uow:
        assert uow.require(s.activities, "ACT-1")["type"] == "nts"
    repo.close()
