"""Nothing is destroyed: every approval leaves audit rows, and no table ever shrinks."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from demine_world import OPERATIONAL_TABLES, World
from shapely.geometry import Point, box, mapping

from demine.domain.errors import RuleViolation, StaleVersion, WorkflowError
from demine.service import reference, reports

HAZARD = box(0.0, 0.0, 200.0, 100.0)
WEST, EAST = box(0.0, 0.0, 100.0, 100.0), box(100.0, 0.0, 200.0, 100.0)


def test_approval_leaves_audit_rows_for_the_hazard(world: World):
    world.settlement("S-1", Point(100.0, 400.0))
    create = world.submitted(date(2026, 1, 5), [world.hazard_entry("HA-1", HAZARD)])
    world.approve(create, approver="im.carol")
    report_id = world.report(create)["id"]
    first = world.audit("hazard_area", "HA-1")
    assert all((a["author"], a["report_id"]) == ("im.carol", report_id) for a in first)
    created = first[0]
    assert created["action"] == "create"
    assert created["author"] == "im.carol"
    assert created["report_id"] == report_id
    assert created["before"] is None
    assert created["after"]["code"] == "HA-1"
    assert created["after"]["status"] == "open"
    assert created["after"]["original_m2"] == pytest.approx(20_000.0, abs=0.5)
    assert "geom" in created["after"]  # the WGS84 shape is kept in the history

    release = world.submitted(date(2026, 2, 1), [world.activity_entry(
        "ACT-1", "HA-1", [("cleared", HAZARD)], type="clearance", status="completed")])
    world.approve(release, approver="im.frank")
    audit = world.audit("hazard_area", "HA-1")
    rebuilt = [a for a in audit if a["report_id"] == world.report(release)["id"]]
    assert rebuilt, "the release left no audit row on the hazard"
    last = rebuilt[-1]
    assert last["author"] == "im.frank"
    assert last["before"]["status"] == "open" and last["after"]["status"] == "released"
    assert last["before"]["cleared_m2"] == 0.0
    assert last["after"]["cleared_m2"] == pytest.approx(20_000.0, abs=0.5)
    assert [a["version"] for a in audit] == sorted(a["version"] for a in audit)
    assert world.hazard("HA-1")["version"] == audit[-1]["version"]

    settlement_audit = world.audit("settlement", "S-1")
    assert [(a["action"], a["before"] and a["before"]["status"], a["after"]["status"])
            for a in settlement_audit] == [("create", None, "open"),
                                           ("status", "open", "closed"),
                                           ("status", "closed", "open")]
    assert settlement_audit[1]["author"] == "im.carol"
    assert settlement_audit[2]["author"] == "im.frank"
    outcome_audit = world.audit_all("outcome_polygon")
    assert len(outcome_audit) == 1 and outcome_audit[0]["author"] == "im.frank"
    assert outcome_audit[0]["after"]["method"] == "cleared"


def test_counts_never_decrease_across_a_scenario(world: World):
    w = world
    history = [w.counts()]

    def step():
        history.append(w.counts())

    w.settlement("S-1", Point(100.0, 400.0))
    step()
    w.settlement("S-2", Point(-500.0, 50.0))
    step()
    hz = w.submitted(date(2026, 1, 5), [w.hazard_entry(
        "HA-1", HAZARD, evidence=[{"kind": "indirect", "type": "hearsay"}]),
        w.hazard_entry("HA-2", box(0.0, 3_000.0, 50.0, 3_050.0))])
    step()
    w.approve(hz)
    step()
    rejected = w.submitted(date(2026, 1, 6), [w.hazard_entry("HA-3", box(0, 900, 9, 909))])
    reports.reject(w.repo, rejected, "im.carol", "duplicate of HA-1")
    step()
    w.file(date(2026, 1, 20), [w.activity_entry("ACT-1", "HA-1", [("cleared", WEST)],
                                                type="clearance", status="in_progress")])
    step()
    finds = w.file(date(2026, 1, 21), [("finding", {
        "activity_code": "ACT-1", "eo_category": "ap_mine", "found_on": "2026-01-21",
        "geometry": mapping(w.wgs(Point(50.0, 50.0)))}), ("accident", {
        "code": "ACC-1", "accident_date": "2026-01-21", "type": "demining",
        "device_category": "ap_mine", "activity_code": "ACT-1",
        "geometry": mapping(w.wgs(Point(60.0, 50.0))),
        "victims": [{"outcome": "injured", "role": "deminer"}]})])
    step()
    bad = w.submitted(date(2026, 1, 22), [w.activity_entry(
        "ACT-1", "HA-1", [("cleared", box(50.0, 0.0, 150.0, 100.0))])])
    with pytest.raises(RuleViolation):
        w.approve(bad)
    step()
    release = w.submitted(date(2026, 2, 1), [w.activity_entry(
        "ACT-1", "HA-1", [("cleared", EAST)], status="completed")])
    w.approve(release)
    step()
    w.file(date(2026, 2, 2), [("reversal", {"report_code": release, "reason": "QC failed"})])
    step()
    w.file(date(2026, 2, 3), [("reversal", {"report_code": finds.report_code,
                                            "reason": "finding and accident misfiled"})])
    step()
    v = w.settlement_row("S-1")["version"]
    with w.repo.unit("im.dave", "edit") as uow:
        reference.update_settlement(uow, "S-1", v, {"population": 999})
    step()
    with pytest.raises(StaleVersion), w.repo.unit("im.dave", "edit") as uow:
        reference.update_settlement(uow, "S-1", v, {"population": 1})
    step()
    with pytest.raises(WorkflowError):
        reports.approve(w.repo, release, "im.carol")
    step()

    for before, after in itertools.pairwise(history):
        for table in OPERATIONAL_TABLES:
            assert after[table] >= before[table], (table, before[table], after[table])
    # and the scenario really wrote: every kind of record is there, and nothing went
    final = history[-1]
    for table in ("hazard_areas", "activities", "outcome_polygons", "findings", "accidents",
                  "victims", "evidence_items", "reports", "report_entries"):
        assert final[table] > 0, table
    assert final["reports"] == 8
    assert final["outcome_polygons"] == 2
    assert w.report(rejected)["status"] == "rejected"
    assert w.report(bad)["status"] == "submitted"
    assert w.hazard("HA-1")["classification"] == "SHA"  # the finding was reversed
