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
from store_rows import audit_of, reverse_report
from store_rows import snapshot as rows_of

from demine.domain.access import Principal, Role
from demine.domain.changes import parse_change
from demine.domain.entities import Organisation, Team
from demine.domain.errors import RuleViolation, ValidationError
from demine.domain.vocab import AssetType, OrganisationKind
from demine.io.export import export_project
from demine.io.imports import import_file
from demine.service import reference, reports
from demine.service.dashboard import accident_counts
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


ACC2_VICTIMS = {"outcome": ["killed", "injured"], "role": ["civilian", "civilian"],
                "sex": ["female", "unknown"], "age": [71, None],
                "activity_at_time": ["farming", ""]}


def accidents_file(path: Path, ages=(34, 71), narrative: str = "",
                   acc2_victims: dict[str, list] | None = None,
                   acc2_point: Point | None = None) -> Path:
    """ACC-1 (ACT-1, one deminer hurt) and ACC-2 (civilians, two victims by default;
    ``narrative``, ``acc2_victims`` and ``acc2_point`` change ACC-2)."""
    accidents = gpd.GeoDataFrame(
        {"accident_id": ["ACC-1", "ACC-2"], "date": ["2026-05-06", "2026-04-01"],
         "accident_type": ["demining", "mine_erw"], "device": ["ap_mine", "uxo"],
         "activity_code": ["ACT-1", None], "narrative": ["Deminer hurt in lane 4", narrative]},
        geometry=[Point(X0 + 0.001, Y0 + 0.003), acc2_point or Point(X0 + 0.05, Y0 + 0.05)],
        crs=4326)
    acc2 = acc2_victims or {**ACC2_VICTIMS, "age": [ages[1], None]}
    n = len(acc2["outcome"])
    victims = pd.DataFrame({"accident_code": ["ACC-1", *["ACC-2"] * n],
                            "outcome": ["injured", *acc2["outcome"]],
                            "role": ["deminer", *acc2["role"]],
                            "sex": ["male", *acc2["sex"]],
                            "age": pd.array([ages[0], *acc2["age"]], dtype="Int64"),
                            "activity_at_time": ["excavating", *acc2["activity_at_time"]]})
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


def test_a_reversed_accident_leaves_the_dashboards_counts(field: Repository,
                                                          tmp_path: Path) -> None:
    import_file(field, activities_csv(tmp_path / "a.csv"), "activities", author="op",
                organisation_code="OP1", approve=True)
    code = import_file(field, accidents_file(tmp_path / "acc.gpkg"), "accidents", author="op",
                       organisation_code="OP1", approve=True).report_code
    im = Principal("im", Role.INFORMATION_MANAGER, "MAC")
    counts = accident_counts(field, im)
    assert (counts["accidents"], counts["victims"]) == (2, 3)
    assert counts["by_type"] == {"demining": 1, "mine_erw": 1}
    reverse_report(field, code)
    counts = accident_counts(field, im)
    assert (counts["accidents"], counts["victims"], counts["by_type"]) == (0, 0, {})
    assert counts["victims_by_sex"] == {} and counts["victims_by_outcome"] == {}


def test_reimported_accident_is_held_to_its_victims(field: Repository, tmp_path: Path) -> None:
    """Other victims from a layer with every victim field are a revision; from a file
    without personal data (outcome and role only) they are refused naming the field,
    never a value, as that layer would erase what the record knows; the same victims in
    such a file still match the record."""
    import_file(field, activities_csv(tmp_path / "a.csv"), "activities", author="op",
                organisation_code="OP1", approve=True)
    import_file(field, accidents_file(tmp_path / "first.gpkg"), "accidents", author="op",
                organisation_code="OP1", approve=True)
    before = snapshot(field)
    older = import_file(field, accidents_file(tmp_path / "aged.gpkg", ages=(34, 72)),
                        "accidents", author="op", organisation_code="OP1", dry_run=True)
    assert (older.created, older.updated, older.unchanged, older.rejected) == (0, 1, 1, [])
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
    assert "ACC-2 is on the record with other victims" in died.rejected[0].problem
    assert "sex, age, activity_at_time" in died.rejected[0].problem
    assert "killed" not in died.rejected[0].problem
    assert snapshot(field) == before


# --- accident revisions -----------------------------------------------------------------

#: ACC-2's victims corrected: the injured one was a boy of 9 and died too; a third came to
#: light. Personal data: none of it may reach a message or the audit trail.
CORRECTED = {"outcome": ["killed", "killed", "injured"],
             "role": ["civilian", "civilian", "civilian"], "sex": ["female", "male", "male"],
             "age": [71, 9, 40], "activity_at_time": ["farming", "herding goats", "walking"]}


def _accidents_on_record(repo: Repository, tmp_path: Path) -> None:
    import_file(repo, activities_csv(tmp_path / "a.csv"), "activities", author="op",
                organisation_code="OP1", approve=True)
    first = import_file(repo, accidents_file(tmp_path / "first.gpkg"), "accidents",
                        author="op", organisation_code="OP1", approve=True)
    assert first.created == 2


def _victims_of(repo: Repository, code: str) -> list[dict]:
    v, a = s.victims, s.accidents
    with repo.reader() as uow:
        return [dict(r) for r in uow.conn.execute(
            select(v).join(a, a.c.id == v.c.accident_id).where(a.c.code == code)
            .order_by(v.c.id)).mappings()]


def _live(victims: list[dict]) -> list[tuple]:
    return [(v["outcome"], v["sex"], v["age"]) for v in victims if not v["void"]]


def test_a_changed_accident_becomes_a_revision_and_its_replaced_victims_stay_void(
        field: Repository, tmp_path: Path) -> None:
    _accidents_on_record(field, tmp_path)
    revised = accidents_file(tmp_path / "revised.gpkg", narrative="Two killed at the well",
                             acc2_victims=CORRECTED)
    summary = import_file(field, revised, "accidents", author="op", organisation_code="OP1",
                          approve=True)
    assert (summary.created, summary.updated, summary.unchanged, summary.rejected) == (
        0, 1, 1, [])
    with field.reader() as uow:
        report = uow.require(s.reports, summary.report_code)
        acc2 = uow.require(s.accidents, "ACC-2")
        kinds = uow.conn.execute(select(s.report_entries.c.kind, s.report_entries.c.payload)
                                 .where(s.report_entries.c.report_id == report["id"])).all()
    assert report["status"] == "approved"
    assert [k for k, _ in kinds] == ["accident_revision"]
    assert sorted(kinds[0][1]) == ["code", "narrative", "victims"]  # only what changed
    assert (acc2["narrative"], acc2["version"], acc2["void"]) == (
        "Two killed at the well", 2, False)
    assert acc2["report_id"] != report["id"]  # still the report that recorded it
    victims = _victims_of(field, "ACC-2")
    assert _live(victims) == [("killed", "female", 71), ("killed", "male", 9),
                              ("injured", "male", 40)]
    old = [v for v in victims if v["void"]]
    assert [(v["outcome"], v["age"], v["voided_by_report_id"]) for v in old] == [
        ("killed", 71, report["id"]), ("injured", None, report["id"])]
    assert {v["report_id"] for v in victims if not v["void"]} == {report["id"]}
    assert _live(_victims_of(field, "ACC-1")) == [("injured", "male", 34)]  # untouched
    revision = audit_of(field, "accident", "ACC-2")[-1]
    assert (revision["action"], revision["report_id"], revision["version"]) == (
        "revise", report["id"], 2)
    assert (revision["before"]["victims"], revision["after"]["victims"]) == (2, 3)
    audit_text = str(revision)
    assert "herding" not in audit_text and "walking" not in audit_text  # counts, not people
    assert "activity_at_time" not in audit_text and "'age'" not in audit_text

    before = snapshot(field)
    again = import_file(field, revised, "accidents", author="op", organisation_code="OP1",
                        approve=True)
    assert (again.created, again.updated, again.unchanged, again.report_code) == (
        0, 0, 2, None)
    assert snapshot(field) == before

    exported = export_project(field, tmp_path / "out.gpkg", "gpkg", layers=["victims"],
                              include_sensitive=True).out
    rows = pyogrio.read_dataframe(exported, layer="victims")
    assert sorted(zip(rows["accident_code"], rows["outcome"], rows["age"].fillna(-1),
                      strict=True)) == [("ACC-1", "injured", 34), ("ACC-2", "injured", 40),
                                        ("ACC-2", "killed", 9), ("ACC-2", "killed", 71)]


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


def test_a_pending_accident_revision_is_not_drafted_twice_nor_contradicted(
        field: Repository, tmp_path: Path) -> None:
    _accidents_on_record(field, tmp_path)
    first = import_file(field, accidents_file(tmp_path / "a.gpkg", narrative="At the well",
                                              acc2_victims=CORRECTED),
                        "accidents", author="op", organisation_code="OP1")
    assert (first.updated, first.unchanged) == (1, 1) and first.report_code is not None
    with field.reader() as uow:
        assert uow.require(s.accidents, "ACC-2")["narrative"] == ""  # not yet
    assert _live(_victims_of(field, "ACC-2")) == [("killed", "female", 71),
                                                  ("injured", "unknown", None)]
    before = snapshot(field)
    same = import_file(field, accidents_file(tmp_path / "b.gpkg", narrative="At the well",
                                             acc2_victims=CORRECTED),
                       "accidents", author="op", organisation_code="OP1")
    assert (same.updated, same.unchanged, same.report_code, same.rejected) == (0, 2, None, [])
    for name, changes, field_name in (
            ("c.gpkg", {"narrative": "By the road", "acc2_victims": CORRECTED}, "narrative"),
            ("d.gpkg", {"narrative": "At the well"}, "victims")):
        other = import_file(field, accidents_file(tmp_path / name, **changes), "accidents",
                            author="op", organisation_code="OP1")
        assert other.refused and [(r.row, r.field) for r in other.rejected] == [
            (2, field_name)]
        assert first.report_code in other.rejected[0].problem
        assert "By the road" not in other.rejected[0].problem
    assert snapshot(field) == before


def test_an_accident_revision_is_reversed_with_its_victims_and_not_over_a_later_one(
        field: Repository, tmp_path: Path) -> None:
    _accidents_on_record(field, tmp_path)
    original = _victims_of(field, "ACC-2")
    with field.reader() as uow:
        recorded = uow.require(s.accidents, "ACC-2")
    moved = Point(X0 + 0.0500000012345, Y0 + 0.0500000098765)  # finer than the audit's text

    def revise(name: str, **changes) -> str:
        done = import_file(field, accidents_file(tmp_path / name, **changes), "accidents",
                           author="op", organisation_code="OP1", approve=True)
        assert (done.updated, done.rejected) == (1, [])
        return done.report_code

    r1 = revise("r1.gpkg", narrative="At the well", acc2_victims=CORRECTED, acc2_point=moved)
    r2 = revise("r2.gpkg", narrative="At the well", acc2_point=moved)  # victims as at first
    with pytest.raises(RuleViolation, match="ACC-2: victims were revised again after report"):
        reverse_report(field, r1)
    reverse_report(field, r2)
    assert _live(_victims_of(field, "ACC-2")) == [("killed", "female", 71),
                                                  ("killed", "male", 9), ("injured", "male", 40)]
    r3 = revise("r3.gpkg", narrative="By the road", acc2_victims=CORRECTED, acc2_point=moved)
    with pytest.raises(RuleViolation, match="ACC-2: narrative was revised again after report"):
        reverse_report(field, r1)
    reverse_report(field, r3)
    reverse_report(field, r1)
    with field.reader() as uow:
        acc2 = uow.require(s.accidents, "ACC-2")
        r1_id = uow.require(s.reports, r1)["id"]
    assert (acc2["narrative"], acc2["void"], acc2["accident_date"]) == (
        "", False, recorded["accident_date"])  # revised, not voided with the report
    assert (acc2["geom"].x, acc2["geom"].y) == (recorded["geom"].x, recorded["geom"].y)
    victims = _victims_of(field, "ACC-2")
    assert [v["id"] for v in victims if not v["void"]] == [v["id"] for v in original]
    assert {v["voided_by_report_id"] for v in victims if v["report_id"] == r1_id} != {None}
    assert [r["action"] for r in audit_of(field, "accident", "ACC-2")][1:] == [
        "revise", "revise", "reverse", "revise", "reverse", "reverse"]
    assert audit_of(field, "accident", "ACC-2")[-1]["after"]["victims"] == 2
    again = import_file(field, accidents_file(tmp_path / "first-again.gpkg"), "accidents",
                        author="op", organisation_code="OP1")
    assert (again.updated, again.unchanged, again.report_code) == (0, 2, None)


def test_an_accident_revision_entry_names_unknown_fields_and_needs_one() -> None:
    with pytest.raises(ValidationError, match="synthetic: an accident revision sets only"):
        parse_change("accident_revision", {"code": "ACC-1", "synthetic": True}, "e")
    with pytest.raises(ValidationError, match="payload: an accident revision needs at least"):
        parse_change("accident_revision", {"code": "ACC-1"}, "e")
    with pytest.raises(ValidationError, match=r"e victims\[0\].*outcome"):
        parse_change("accident_revision", {"code": "ACC-1", "victims": [{"role": "civilian"}]},
                     "e")
    change = parse_change("accident_revision", {"code": "ACC-1", "victims": [],
                                                "activity_code": None}, "e")
    assert (change.code, dict(change.attributes), change.victims) == (
        "ACC-1", {"activity_code": None}, ())
