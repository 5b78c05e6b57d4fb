"""Ingest of KoBo exports into draft reports, on SQLite and on PostGIS.

The fixtures are KoBo's own layouts, written by hand: a ";"-separated CSV
(fixtures/nts_kobo.csv), a GeoJSON (fixtures/finding_kobo.geojson) and XLSX files with
repeat sheets (kobo_exports.py). Every test checks that the official record did not
change: a submission only ever becomes a draft.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from demine_world import OPERATOR, World
from kobo_exports import accident_sheets, progress_sheets, write_xlsx
from shapely.geometry import shape
from sqlalchemy import func, select

from demine.domain.vocab import ReportStatus
from demine.forms.ingest import ingest_file
from demine.service import reports
from demine.store import schema as s

FIXTURES = Path(__file__).parent / "fixtures"
#: tables an approval writes; an ingest must leave every one of them as it was
OFFICIAL = ("hazard_areas", "evidence_items", "activities", "outcome_polygons", "findings",
            "accidents", "victims", "settlements")


def _drafts(world: World) -> list[dict]:
    with world.repo.reader() as uow:
        rows = uow.conn.execute(
            select(s.reports.c.id, s.reports.c.code, s.reports.c.status, s.reports.c.author,
                   s.reports.c.info_date, s.organisations.c.code.label("org"),
                   s.form_submissions.c.instance_uuid, s.form_submissions.c.source_row,
                   s.form_submissions.c.form_id)
            .join(s.form_submissions, s.form_submissions.c.report_id == s.reports.c.id)
            .join(s.organisations, s.organisations.c.id == s.reports.c.organisation_id)
            .order_by(s.form_submissions.c.source_row)).mappings().all()
        out = []
        for r in rows:
            entries = uow.conn.execute(
                select(s.report_entries.c.kind, s.report_entries.c.payload,
                       s.report_entries.c.hazard_code)
                .where(s.report_entries.c.report_id == r["id"])
                .order_by(s.report_entries.c.seq)).mappings().all()
            out.append({**r, "entries": [dict(e) for e in entries]})
    return out


def test_kobo_csv_nts_becomes_drafts_once(hazard_world: World) -> None:
    world = hazard_world
    official = world.counts(OFFICIAL)
    summary = ingest_file(world.repo, FIXTURES / "nts_kobo.csv", author="im.dana",
                          organisation_code=OPERATOR)
    assert summary.form_id == "demine_nts" and summary.form_version == "2026112201"
    assert [(c.row, c.instance_uuid) for c in summary.created] == [
        (2, "5b0e0c4e-8f0a-4d7e-9a55-0d6f3c1f2a11"), (3, "9c6d1a20-3b4e-4f5a-8c7d-2e1f0a9b8c7d")]
    # KoBo exported the first submission twice (row 4): recognised by its uuid
    assert [(k.row, k.reason) for k in summary.skipped] == [(4, "same submission as row 2")]
    assert any("no repeat groups: evidence" in n for n in summary.notes)
    drafts = _drafts(world)
    assert [(d["status"], d["author"], d["info_date"], d["org"], d["form_id"])
            for d in drafts] == [(ReportStatus.DRAFT.value, "im.dana", date(2026, 11, 18),
                                  OPERATOR, "demine_nts")] * 2
    first = drafts[0]["entries"]
    assert [(e["kind"], e["hazard_code"]) for e in first] == [("new_hazard", "HA-NTS-1")]
    payload = first[0]["payload"]
    assert payload["name"] == "Orchard north of the school"
    assert (payload["classification"], payload["eo_suspected"], payload["blockages"]) == (
        "SHA", ["ap_mine", "at_mine"], ["agriculture"])
    polygon = shape(payload["geometry"])  # ODK wrote lat first; the record is lon/lat
    assert polygon.bounds == pytest.approx((9.01, 45.003, 9.012, 45.004), abs=1e-12)
    assert drafts[1]["entries"][0]["payload"]["classification"] == "CHA"
    assert world.counts(OFFICIAL) == official  # nothing on the official record yet

    before = world.snapshot()
    again = ingest_file(world.repo, FIXTURES / "nts_kobo.csv", author="im.dana",
                        organisation_code=OPERATOR)
    assert again.created == [] and [k.reason for k in again.skipped] == [
        "already ingested"] * 3
    assert world.snapshot() == before

    # the draft goes the usual way: submitted, approved, then the hazard is on the record
    code = drafts[0]["code"]
    reports.submit(world.repo, code, "op.bob")
    world.approve(code)
    hazard = world.hazard("HA-NTS-1")
    assert hazard["report_id"] == drafts[0]["id"] and hazard["eo_suspected"] == [
        "ap_mine", "at_mine"]


def test_a_csv_export_names_the_submissions_whose_repeat_rows_it_left_out(
        hazard_world: World, tmp_path: Path) -> None:
    """The form's hidden ``evidence_count`` tells which rows had evidence on the phone."""
    lines = (FIXTURES / "nts_kobo.csv").read_text(encoding="utf-8").splitlines()
    counts = ["evidence_count", "2", "0", "2"]
    path = tmp_path / "nts.csv"
    path.write_text("\n".join(f'{line};"{n}"' for line, n in zip(lines, counts, strict=True))
                    + "\n", encoding="utf-8")
    summary = ingest_file(hazard_world.repo, path, author="im.dana",
                          organisation_code=OPERATOR)
    assert len(summary.created) == 2
    assert "evidence rows left out of this CSV export: 2 submission(s) had some " \
           "(rows 2, 4)" in summary.notes


def test_kobo_xlsx_progress_with_finds_repeat(hazard_world: World, tmp_path: Path) -> None:
    world = hazard_world
    path = write_xlsx(tmp_path / "progress.xlsx", progress_sheets())
    official = world.counts(OFFICIAL)
    summary = ingest_file(world.repo, path, author="im.dana", organisation_code=OPERATOR)
    assert [c.entries for c in summary.created] == [3, 1] and summary.notes == []
    assert world.counts(OFFICIAL) == official
    day1, day2 = _drafts(world)
    activity = day1["entries"][0]
    assert (activity["kind"], activity["hazard_code"]) == ("activity", "HA-1")
    assert {k: activity["payload"][k] for k in ("code", "type", "status",
                                                "clearance_depth_mm")} == {
        "code": "ACT-1", "type": "clearance", "status": "in_progress",
        "clearance_depth_mm": 200}
    outcome = activity["payload"]["outcomes"][0]
    assert outcome["method"] == "cleared"
    assert shape(outcome["geometry"]).bounds == pytest.approx((9.001, 45.0004, 9.003, 45.0012))
    finds = [e["payload"] for e in day1["entries"][1:]]
    assert [(f["activity_code"], f["eo_category"], f["condition"], f["depth_mm"],
             f["found_on"]) for f in finds] == [
        ("ACT-1", "ap_mine", "armed", 60, "2026-11-20"),
        ("ACT-1", "ap_mine", "damaged", 90, "2026-11-20")]
    assert shape(finds[1]["geometry"]).coords[0] == pytest.approx((9.0022, 45.0009))
    assert day2["entries"][0]["payload"]["status"] == "suspended"
    assert day2["entries"][0]["payload"]["suspension_reason"] == "Heavy rain, site flooded"
    assert day2["entries"][0]["payload"]["outcomes"] == []

    # approved, the day's work lands on the record: the cleared land and both finds
    reports.submit(world.repo, day1["code"], "op.bob")
    result = world.approve(day1["code"])
    assert result.hazards[0].code == "HA-1"
    with world.repo.reader() as uow:
        area = uow.conn.execute(select(s.outcome_polygons.c.area_m2)).scalar_one()
        found = uow.conn.execute(select(func.count()).select_from(s.findings)).scalar_one()
    assert area == pytest.approx(14_000, rel=0.01)  # ~157 x 89 m at 45°N
    assert found == 2


def test_kobo_geojson_findings(hazard_world: World) -> None:
    world = hazard_world
    summary = ingest_file(world.repo, FIXTURES / "finding_kobo.geojson", author="im.dana",
                          organisation_code=OPERATOR)
    assert [c.instance_uuid for c in summary.created] == [
        "0d9f7e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"]
    first, second = (d["entries"][0]["payload"] for d in _drafts(world))
    assert shape(first["geometry"]).coords[0] == pytest.approx((9.002, 45.0008))
    assert (first["eo_category"], first["model"], first["condition"], first["depth_mm"],
            first["disposal"], first["photo"]) == (
        "ap_mine", "PMN-2", "armed", 80, "destroyed_in_situ", "1763624710811.jpg")
    assert (second["eo_category"], second["disposal"], second["depth_mm"]) == (
        "uxo", "removed", None)
    again = ingest_file(world.repo, FIXTURES / "finding_kobo.geojson", author="im.dana",
                        organisation_code=OPERATOR)
    assert again.created == [] and len(again.skipped) == 2


def test_kobo_xlsx_accident_with_victims(hazard_world: World, tmp_path: Path) -> None:
    world = hazard_world
    path = write_xlsx(tmp_path / "accident.xlsx", accident_sheets())
    summary = ingest_file(world.repo, path, author="im.dana")
    assert len(summary.created) == 1
    (draft,) = _drafts(world)
    payload = draft["entries"][0]["payload"]
    assert (payload["code"], payload["type"], payload["device_category"],
            payload["activity_code"]) == ("ACC-7", "demining", "ap_mine", "ACT-1")
    assert payload["victims"] == [{"outcome": "injured", "role": "deminer", "sex": "male",
                                   "age": 34, "activity_at_time": "excavating a signal"}]
    assert shape(payload["geometry"]).coords[0] == pytest.approx((9.0025, 45.001))
    assert world.counts(("accidents", "victims")) == {"accidents": 0, "victims": 0}


def test_dry_run_stores_nothing(hazard_world: World) -> None:
    before = hazard_world.snapshot()
    summary = ingest_file(hazard_world.repo, FIXTURES / "nts_kobo.csv", author="im.dana",
                          organisation_code=OPERATOR, dry_run=True)
    assert summary.dry_run and len(summary.created) == 2
    assert hazard_world.snapshot() == before


def test_odk_central_csv_finding(hazard_world: World) -> None:
    """ODK Central's CSV: "," separated, "-" group paths, geopoints only split in
    -Latitude/-Longitude columns, the uuid in meta-instanceID and KEY."""
    world = hazard_world
    summary = ingest_file(world.repo, FIXTURES / "finding_central.csv", author="im.dana")
    assert [(c.row, c.instance_uuid) for c in summary.created] == [
        (2, "c0ffee00-1234-4abc-8def-0123456789ab")]
    (draft,) = _drafts(world)
    payload = draft["entries"][0]["payload"]
    assert shape(payload["geometry"]).coords[0] == pytest.approx((9.0018, 45.0007))
    assert (payload["eo_category"], payload["model"], payload["condition"],
            payload["depth_mm"], payload["disposal"]) == (
        "at_mine", "TM-62M", "unarmed", 150, "removed")
    with world.repo.reader() as uow:
        submitted = uow.conn.execute(select(s.form_submissions.c.submitted_at)).scalar_one()
    assert submitted.replace(tzinfo=None).isoformat() == "2026-11-21T10:02:44.120000"
