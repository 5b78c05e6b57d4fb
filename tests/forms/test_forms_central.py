"""ODK Central's zipped export: the main table and its repeat tables become drafts.

The zips are written by ``central_exports`` from the XForm of demine's own forms, the
way Central writes them (see that module), from submissions as ODK Collect sends them.
Each test checks the repeats arrived in the draft report, or that a bad zip was refused
naming file, row and column with nothing stored. Runs on SQLite and on PostGIS.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from central_exports import Submission, read_member, rewrite, write_central_zip
from demine_world import OPERATOR, World
from refusals import refused
from shapely.geometry import shape
from sqlalchemy import select

from demine.forms.definitions import FORM_VERSION
from demine.forms.ingest import ingest_file
from demine.service import reports
from demine.store import Repository
from demine.store import schema as s
from demine_cli import run

OFFICIAL = ("hazard_areas", "evidence_items", "activities", "outcome_polygons", "findings",
            "accidents", "victims", "settlements")
SHAPE = ("45.003 9.01 212.4 4.0;45.003 9.012 211.9 4.0;45.004 9.012 213.0 3.5;"
         "45.004 9.01 212.7 3.5;45.003 9.01 212.4 4.0")
WORKED = ("45.0004 9.001 214.0 3.0;45.0004 9.003 214.2 3.0;45.0012 9.003 215.1 3.0;"
          "45.0012 9.001 214.8 3.0;45.0004 9.001 214.0 3.0")


def _answers(form_id: str, uuid: str, day: str, **sections: object) -> dict:
    """What Collect sends: the metadata it fills in, demine's calculates, the answers."""
    return {"start": f"{day}T07:01:02.000+02:00", "end": f"{day}T09:15:40.077+02:00",
            "today": day, "deviceid": "collect:Xq2pT7rLm1bV9kZa", "username": "team.alpha2",
            "demine_form": form_id, "demine_form_version": FORM_VERSION,
            "instance_uuid": f"uuid:{uuid}", **sections,
            "meta": {"instanceID": f"uuid:{uuid}", "instanceName": f"{form_id} {day}"}}


NTS = [
    _answers("demine_nts", "1f0e3a52-8b7c-4d6e-9f10-a2b3c4d5e6f7", "2026-11-18", survey={
        "hazard_code": "HA-NTS-1", "hazard_name": "Orchard north of the school",
        "survey_date": "2026-11-18", "classification": "SHA",
        "eo_suspected": "ap_mine at_mine", "blockages": "agriculture", "area": SHAPE},
        evidence=[{"evidence_kind": "indirect", "evidence_type": "former_front_line",
                   "evidence_description": "Front line ran along the ditch, 1994"},
                  {"evidence_kind": "indirect", "evidence_type": "hearsay"}]),
    _answers("demine_nts", "2a1b4c63-9d8e-4f70-8a21-b3c4d5e6f708", "2026-11-19", survey={
        "hazard_code": "HA-1", "survey_date": "2026-11-19", "organisation_code": OPERATOR,
        "classification": "CHA", "eo_suspected": "uxo", "area": SHAPE},
        evidence=[{"evidence_kind": "direct", "evidence_type": "visual_sighting",
                   "evidence_description": "Mortar round seen 2 m inside the fence"}]),
    _answers("demine_nts", "3b2c5d74-0e9f-4a81-9b32-c4d5e6f70819", "2026-11-19", survey={
        "hazard_code": "HA-NTS-3", "survey_date": "2026-11-19", "classification": "SHA",
        "area": SHAPE.replace("45.00", "45.01")}),  # no evidence item: an empty repeat
]
PROGRESS = [
    _answers("demine_progress", "4c3d6e85-1fa0-4b92-8c43-d5e6f708192a", "2026-11-20", task={
        "activity_code": "ACT-1", "hazard_code": "HA-1", "activity_type": "clearance",
        "work_date": "2026-11-20", "status": "in_progress"},
        worked={"release_method": "cleared", "worked_area": WORKED, "area_m2": "14163.2",
                "clearance_depth_mm": "200"},
        finds=[{"find_point": "45.0006 9.0015 214.5 2.5", "find_category": "ap_mine",
                "find_model": "PMN-2", "find_condition": "armed", "find_depth_mm": "60",
                "find_disposal": "destroyed_in_situ"},
               {"find_point": "45.0009 9.0022 214.9 2.5", "find_category": "uxo",
                "find_disposal": "removed"}]),
    _answers("demine_progress", "5d4e7f96-2ab1-4ca3-9d54-e6f708192a3b", "2026-11-21", task={
        "activity_code": "ACT-1", "hazard_code": "HA-1", "activity_type": "clearance",
        "work_date": "2026-11-21", "status": "suspended",
        "suspension_reason": "Heavy rain, site flooded"}, worked={"area_m2": "0"}),
]
ACCIDENT = [
    _answers("demine_accident", "6e5f80a7-3bc2-4db4-8e65-f708192a3b4c", "2026-11-22",
             accident={"accident_code": "ACC-9", "accident_date": "2026-11-22",
                       "location": "45.001 9.0025 214.0 3.0", "accident_type": "mine_erw",
                       "device_category": "uxo",
                       "narrative": "Two people, one of them a child, moved an item\n"
                                    "while collecting firewood"},
             victims=[{"victim_outcome": "killed", "victim_role": "civilian",
                       "victim_sex": "female", "victim_age": "41",
                       "victim_activity": "collecting firewood"},
                      {"victim_outcome": "injured", "victim_role": "civilian"}]),
]


def _zip(tmp_path: Path, form_id: str, answers: list[dict], name: str | None = None,
         **kw: object) -> Path:
    return write_central_zip(tmp_path / (name or f"{form_id}.zip"), form_id,
                             [Submission(a) for a in answers], workdir=tmp_path, **kw)


def _drafts(world: World) -> list[dict]:
    """Each ingested draft: its code, source row and entries (kind, payload)."""
    with world.repo.reader() as uow:
        rows = uow.conn.execute(
            select(s.reports.c.id, s.reports.c.code, s.reports.c.status,
                   s.form_submissions.c.instance_uuid, s.form_submissions.c.source_row,
                   s.form_submissions.c.source_file)
            .join(s.form_submissions, s.form_submissions.c.report_id == s.reports.c.id)
            .order_by(s.form_submissions.c.source_row)).mappings().all()
        out = []
        for r in rows:
            entries = uow.conn.execute(
                select(s.report_entries.c.kind, s.report_entries.c.payload)
                .where(s.report_entries.c.report_id == r["id"])
                .order_by(s.report_entries.c.seq)).all()
            out.append({**r, "entries": [(k, p) for k, p in entries]})
    return out


def test_nts_zip_brings_evidence_items_to_their_survey(hazard_world: World,
                                                       tmp_path: Path) -> None:
    world = hazard_world
    path = _zip(tmp_path, "demine_nts", NTS)
    official = world.counts(OFFICIAL)
    summary = ingest_file(world.repo, path, author="im.dana", organisation_code=OPERATOR)
    assert summary.form_id == "demine_nts" and summary.notes == []
    assert [(c.row, c.instance_uuid, c.entries) for c in summary.created] == [
        (2, "1f0e3a52-8b7c-4d6e-9f10-a2b3c4d5e6f7", 1),
        (3, "2a1b4c63-9d8e-4f70-8a21-b3c4d5e6f708", 1),
        (4, "3b2c5d74-0e9f-4a81-9b32-c4d5e6f70819", 1)]
    assert world.counts(OFFICIAL) == official
    first, second, third = _drafts(world)
    assert first["source_file"] == "demine_nts.zip"
    (kind, payload), = first["entries"]
    assert kind == "new_hazard" and payload["code"] == "HA-NTS-1"
    assert payload["evidence"] == [
        {"kind": "indirect", "type": "former_front_line",
         "description": "Front line ran along the ditch, 1994"},
        {"kind": "indirect", "type": "hearsay", "description": ""}]
    assert (payload["eo_suspected"], payload["blockages"]) == (["ap_mine", "at_mine"],
                                                               ["agriculture"])
    assert shape(payload["geometry"]).bounds == pytest.approx((9.01, 45.003, 9.012, 45.004))
    # a survey of a recorded hazard is its evidence: the one item of submission two
    assert second["entries"] == [("evidence", {
        "hazard_code": "HA-1", "eo_suspected": ["uxo"],
        "items": [{"kind": "direct", "type": "visual_sighting",
                   "description": "Mortar round seen 2 m inside the fence"}]})]
    assert third["entries"][0][1]["evidence"] == []

    before = world.snapshot()
    again = ingest_file(world.repo, path, author="im.dana", organisation_code=OPERATOR)
    assert again.created == [] and [k.reason for k in again.skipped] == [
        "already ingested"] * 3
    assert world.snapshot() == before

    # approved, the direct evidence makes HA-1 a CHA
    reports.submit(world.repo, second["code"], "op.bob")
    world.approve(second["code"])
    assert world.hazard("HA-1")["classification"] == "CHA"


def test_progress_zip_brings_the_finds_with_their_points(hazard_world: World,
                                                         tmp_path: Path) -> None:
    world = hazard_world
    path = _zip(tmp_path, "demine_progress", PROGRESS,
                media={"1763717999001.jpg": b"\xff\xd8\xff\xe0 not really a photo"})
    summary = ingest_file(world.repo, path, author="im.dana", organisation_code=OPERATOR)
    assert [c.entries for c in summary.created] == [3, 1]
    assert summary.notes == ["1 attachment(s) in media/ not read (photos stay where they "
                             "are; the draft keeps their file names)"]
    day1, day2 = _drafts(world)
    kinds = [k for k, _ in day1["entries"]]
    assert kinds == ["activity", "finding", "finding"]
    activity = day1["entries"][0][1]
    assert (activity["status"], activity["clearance_depth_mm"],
            activity["outcomes"][0]["method"]) == ("in_progress", 200, "cleared")
    finds = [p for _, p in day1["entries"][1:]]
    assert [(f["eo_category"], f["model"], f["condition"], f["depth_mm"], f["disposal"],
             f["found_on"]) for f in finds] == [
        ("ap_mine", "PMN-2", "armed", 60, "destroyed_in_situ", "2026-11-20"),
        ("uxo", "", "unknown", None, "removed", "2026-11-20")]
    # Central splits a geopoint into -Latitude/-Longitude columns; the record is lon/lat
    assert [shape(f["geometry"]).coords[0] for f in finds] == [
        pytest.approx((9.0015, 45.0006)), pytest.approx((9.0022, 45.0009))]
    assert [k for k, _ in day2["entries"]] == ["activity"]
    assert day2["entries"][0][1]["suspension_reason"] == "Heavy rain, site flooded"
    # a day without finds alone: Central still writes the finds table, header only
    alone = _zip(tmp_path, "demine_progress", [{**PROGRESS[1], "meta": {
        "instanceID": "uuid:7f60819b-4cd3-4ec5-9f76-08192a3b4c5d"}}], name="day.zip")
    assert read_member(alone, "demine_progress-finds.csv")[1:] == []
    dry = ingest_file(world.repo, alone, author="im.dana", organisation_code=OPERATOR,
                      dry_run=True)
    assert [c.entries for c in dry.created] == [1]


def test_accident_zip_brings_its_victims(hazard_world: World, tmp_path: Path) -> None:
    world = hazard_world
    summary = ingest_file(world.repo, _zip(tmp_path, "demine_accident", ACCIDENT),
                          author="im.dana", organisation_code=OPERATOR)
    assert len(summary.created) == 1
    (draft,) = _drafts(world)
    (kind, payload), = draft["entries"]
    assert (kind, payload["code"], payload["type"]) == ("accident", "ACC-9", "mine_erw")
    assert payload["narrative"] == ("Two people, one of them a child, moved an item\n"
                                    "while collecting firewood")
    assert payload["victims"] == [
        {"outcome": "killed", "role": "civilian", "sex": "female", "age": 41,
         "activity_at_time": "collecting firewood"},
        {"outcome": "injured", "role": "civilian", "sex": "unknown", "age": None,
         "activity_at_time": ""}]
    assert world.counts(("accidents", "victims")) == {"accidents": 0, "victims": 0}


EVIDENCE = "demine_nts-evidence.csv"


def _column(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


def test_zip_without_its_main_table(hazard_world: World, tmp_path: Path) -> None:
    good = _zip(tmp_path, "demine_nts", NTS)
    path = rewrite(good, tmp_path / "nomain.zip", tables={"demine_nts.csv": None})
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == ("file nomain.zip", "file")
    assert "holds no main table of submissions (expected demine_nts.csv)" in problem.problem


def test_repeat_row_whose_parent_is_no_submission(hazard_world: World,
                                                  tmp_path: Path) -> None:
    good = _zip(tmp_path, "demine_nts", NTS)
    rows = read_member(good, EVIDENCE)
    rows[2][_column(rows, "PARENT_KEY")] = "uuid:0000dead-beef-4000-8000-000000000000"
    path = rewrite(good, tmp_path / "orphan.zip", tables={EVIDENCE: rows})
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == (f"file orphan.zip/{EVIDENCE} row 3",
                                              "PARENT_KEY")
    assert "'uuid:0000dead-beef-4000-8000-000000000000' is no KEY of demine_nts.csv" in \
        problem.problem


def test_truncated_zip(hazard_world: World, tmp_path: Path) -> None:
    good = _zip(tmp_path, "demine_nts", NTS)
    path = tmp_path / "cut.zip"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == ("file cut.zip", "file")
    assert "is not a zip archive" in problem.problem


def test_member_damaged_inside_the_zip(hazard_world: World, tmp_path: Path) -> None:
    """A flipped byte in a stored table: its checksum no longer matches."""
    good = _zip(tmp_path, "demine_nts", NTS)
    stored = tmp_path / "stored.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(stored, "w") as dst:
        for item in src.infolist():
            dst.writestr(item.filename, src.read(item.filename))  # no compression
    data = stored.read_bytes()
    at = data.index(b"Mortar round")
    path = tmp_path / "crc.zip"
    path.write_bytes(data[:at] + b"Nortar round" + data[at + len(b"Mortar round"):])
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == (f"file crc.zip/{EVIDENCE}", "file")
    assert "damaged in the archive (checksum mismatch)" in problem.problem


def test_zip_missing_a_repeat_table(hazard_world: World, tmp_path: Path) -> None:
    good = _zip(tmp_path, "demine_nts", NTS)
    path = rewrite(good, tmp_path / "trimmed.zip", tables={EVIDENCE: None})
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == ("file trimmed.zip", EVIDENCE)
    assert "missing table: the form's repeat group evidence would be lost" in problem.problem


def test_repeat_table_missing_a_required_column(hazard_world: World,
                                                tmp_path: Path) -> None:
    good = _zip(tmp_path, "demine_nts", NTS)
    rows = read_member(good, EVIDENCE)
    drop = _column(rows, "evidence_type")
    path = rewrite(good, tmp_path / "nocol.zip",
                   tables={EVIDENCE: [r[:drop] + r[drop + 1:] for r in rows]})
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == (f"file nocol.zip/{EVIDENCE}", "evidence_type")
    assert "missing column" in problem.problem


def test_bad_answers_in_repeat_rows_are_named_by_table_and_row(hazard_world: World,
                                                               tmp_path: Path) -> None:
    good = _zip(tmp_path, "demine_progress", PROGRESS)
    finds = "demine_progress-finds.csv"
    rows = read_member(good, finds)
    rows[1][_column(rows, "find_condition")] = "live"
    rows[2][_column(rows, "find_point-Latitude")] = "9.0022"  # swapped with the longitude
    rows[2][_column(rows, "find_point-Longitude")] = "45.0009"
    path = rewrite(good, tmp_path / "bad.zip", tables={finds: rows})
    problems = refused(hazard_world, path)
    assert [(p.record, p.field) for p in problems] == [(f"file bad.zip/{finds} row 2",
                                                        "find_condition")]
    assert "unknown value 'live'" in problems[0].problem
    rows[1][_column(rows, "find_condition")] = "armed"
    (problem,) = refused(hazard_world, rewrite(good, tmp_path / "bad2.zip",
                                                tables={finds: rows}))
    assert (problem.record, problem.field) == (f"file bad2.zip/{finds} row 3", "find_point")
    assert "outside the project's area" in problem.problem


def test_zip_of_something_else(hazard_world: World, tmp_path: Path) -> None:
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("media/1.jpg", b"\xff\xd8")
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == ("file photos.zip", "file")
    assert "holds no CSV table" in problem.problem


def test_cli_ingests_a_central_zip(db_url: str, tmp_path: Path) -> None:
    run("init", "--metric-crs", "EPSG:32632", db=db_url)
    repo = Repository.open(db_url)
    try:
        World(repo).setup()  # the operator the submissions are ingested for
    finally:
        repo.close()
    path = _zip(tmp_path, "demine_nts", [NTS[0], NTS[2]])
    first = run("forms", "ingest", str(path), "--org", OPERATOR, "--user", "im.dana",
                db=db_url)
    assert "created 2 draft report(s), skipped 0 duplicate(s)" in first.stdout, first.stdout
    assert "demine_nts.zip: form demine_nts" in first.stdout
    again = run("forms", "ingest", str(path), "--org", OPERATOR, db=db_url)
    assert "created 0 draft report(s), skipped 2 duplicate(s)" in again.stdout
    bad = rewrite(path, tmp_path / "nomain.zip", tables={"demine_nts.csv": None})
    refused = run("forms", "ingest", str(bad), "--org", OPERATOR, db=db_url, ok=False)
    assert refused.returncode == 1
    assert "file nomain.zip: file: holds no main table of submissions" in \
        " ".join(refused.stderr.split()), refused.stderr
