"""Post-clearance inspection: a passed lot stays released, a failed lot re-opens the land.

The village sits 300 m from a 200 x 100 m hazard, so it is closed while any of the
hazard remains; every step is read back from the record (hazard areas and status,
settlement status, the inspected activity, the voided outcomes and the audit trail).
"""

from __future__ import annotations

from datetime import date

import pytest
from demine_world import World
from shapely.geometry import Point, box

from demine.domain.errors import RuleViolation, ValidationError
from demine.store import schema as s

HAZARD = box(0, 0, 200, 100)
D1, D2, D3, D4 = date(2026, 3, 1), date(2026, 3, 20), date(2026, 4, 2), date(2026, 4, 10)


def qc_entry(code: str, inspects: str, *, defects: int, sample_units: int = 299,
             lot_units: int = 20_000, unit_m2: float = 1.0, accept_number: int = 0,
             new: bool = True) -> tuple:
    """A QC result; ``new=False`` leaves the type out, as for an activity on record."""
    payload = {
        "code": code, "hazard_code": "HA-1", "status": "completed",
        "qc": {"inspects": inspects, "plan": "zero-acceptance 95 % / 1 %",
               "lot_units": lot_units, "sample_units": sample_units, "unit_m2": unit_m2,
               "accept_number": accept_number, "defects": defects}}
    if new:
        payload["type"] = "qc_inspection"
    return ("activity", payload)


@pytest.fixture
def cleared(world: World) -> World:
    w = world
    w.settlement("S-NEAR", Point(100, -300))
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    assert w.settlement_row("S-NEAR")["status"] == "closed"
    result = w.file(D2, [w.activity_entry("ACT-CLR", "HA-1", [("cleared", HAZARD)],
                                          type="clearance", status="completed")])
    assert "S-NEAR" in result.reopened
    assert w.hazard("HA-1")["status"] == "released"
    return w


def qc_rows(w: World) -> list[dict]:
    with w.repo.engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            s.qc_inspections.select().order_by(s.qc_inspections.c.id)).mappings()]


def test_a_passed_lot_is_recorded_and_the_land_stays_released(cleared: World):
    w = cleared
    result = w.file(D3, [qc_entry("ACT-QC1", "ACT-CLR", defects=0)])
    assert result.reopened == [] and result.closed == []
    assert w.hazard("HA-1")["status"] == "released"
    (row,) = qc_rows(w)
    assert row["result"] == "pass" and row["defects"] == 0 and not row["void"]
    assert row["lot_m2"] == pytest.approx(20_000, rel=1e-3)
    assert row["inspected_m2"] == pytest.approx(299.0)
    assert w.row(s.activities, "ACT-QC1")["type"] == "qc_inspection"
    assert w.row(s.activities, "ACT-CLR")["status"] == "completed"


def test_a_failed_lot_reopens_the_land_and_a_reversal_gives_it_back(cleared: World):
    w = cleared
    clr_before = w.row(s.activities, "ACT-CLR")
    assert clr_before["status"] == "completed"
    failed = w.submitted(D3, [qc_entry("ACT-QC1", "ACT-CLR", defects=1)])
    result = w.approve(failed)
    assert "S-NEAR" in result.closed
    hz = w.hazard("HA-1")
    assert hz["status"] == "worked_on"
    assert hz["cleared_m2"] == pytest.approx(0.0, abs=1e-6)
    assert hz["remaining_m2"] == pytest.approx(20_000, rel=1e-3)
    assert w.blockers("S-NEAR") == {"HA-1"}
    last = w.audit("settlement", "S-NEAR")[-1]
    assert (last["action"], last["before"]["status"], last["after"]["status"]) == (
        "status", "open", "closed")
    assert "HA-1" in last["reason"] and last["report_id"] is not None
    (row,) = qc_rows(w)
    assert row["result"] == "fail"
    with w.repo.engine.connect() as conn:
        outcomes = conn.execute(s.outcome_polygons.select()).mappings().all()
    assert [(o["void"], o["voided_by_qc_id"]) for o in outcomes] == [(True, row["id"])]
    clr = w.row(s.activities, "ACT-CLR")
    assert clr["status"] == "in_progress"
    trail = [a for a in w.audit_all("outcome_polygon") if a["action"] == "qc_fail"]
    assert len(trail) == 1 and "failed QC" in trail[0]["reason"]
    assert trail[0]["author"] == "im.carol"

    # the inspection was entered wrongly: reversing it gives the land back
    result = w.file(D4, [("reversal", {"report_code": failed, "reason": "defect was scrap"})])
    assert "S-NEAR" in result.reopened
    assert w.hazard("HA-1")["status"] == "released"
    (row,) = qc_rows(w)
    assert row["void"]
    with w.repo.engine.connect() as conn:
        outcomes = conn.execute(s.outcome_polygons.select()).mappings().all()
    assert [(o["void"], o["voided_by_qc_id"]) for o in outcomes] == [(False, None)]
    # the inspected task stands as it stood before the failed lot, with its date
    back = w.row(s.activities, "ACT-CLR")
    assert (back["status"], back["info_date"]) == ("completed", clr_before["info_date"])
    assert w.audit("activity", "ACT-CLR")[-1]["action"] == "reverse"


def test_reversing_a_failed_lot_leaves_a_task_resumed_since_as_it_is(cleared: World):
    w = cleared
    failed = w.file(D3, [qc_entry("ACT-QC1", "ACT-CLR", defects=1)]).report_code
    # the team resumed and suspended the task after the failure: newer information
    w.file(date(2026, 4, 11), [w.activity_entry("ACT-CLR", "HA-1", [],
                                                status="suspended",
                                                suspension_reason="rain")])
    w.file(date(2026, 4, 12), [("reversal", {"report_code": failed, "reason": "scrap"})])
    assert w.row(s.activities, "ACT-CLR")["status"] == "suspended"
    assert w.hazard("HA-1")["status"] == "released"


def test_re_clearance_after_a_failed_lot_releases_the_land_again(cleared: World):
    w = cleared
    w.file(D3, [qc_entry("ACT-QC1", "ACT-CLR", defects=2, accept_number=1)])
    assert w.hazard("HA-1")["status"] == "worked_on"
    w.file(D4, [w.activity_entry("ACT-CLR", "HA-1", [("cleared", HAZARD)],
                                 status="completed")])
    assert w.hazard("HA-1")["status"] == "released"
    assert w.settlement_row("S-NEAR")["status"] == "open"
    result = w.file(date(2026, 4, 20), [qc_entry("ACT-QC2", "ACT-CLR", defects=0)])
    assert result.closed == []
    assert [r["result"] for r in qc_rows(w)] == ["fail", "pass"]


@pytest.mark.parametrize(("entry", "field", "words"), [
    (qc_entry("ACT-QC1", "ACT-NOPE", defects=0), "qc.inspects", "not on the record"),
    (qc_entry("ACT-QC1", "ACT-CLR", defects=0, sample_units=300, unit_m2=100.0,
              lot_units=400), "qc.sample_units", "cover more than"),
    (qc_entry("ACT-CLR", "ACT-CLR", defects=0, new=False), "qc", "not a QC inspection"),
])
def test_inspections_that_break_a_rule_are_refused_and_change_nothing(
        cleared: World, entry: tuple, field: str, words: str):
    w = cleared
    code = w.submitted(D3, [entry])
    before = w.snapshot()
    with pytest.raises(RuleViolation) as err:
        w.approve(code)
    assert err.value.field == field and words in str(err.value)
    assert code in str(err.value)
    assert w.snapshot() == before


@pytest.mark.parametrize(("qc", "field"), [
    ({"sample_units": 50, "lot_units": 10}, "sample_units"),
    ({"defects": 6, "sample_units": 5}, "defects"),
    ({"unit_m2": 0}, "unit_m2"),
    ({"defects": None}, "defects"),
    ({"inspects": " ACT-CLR"}, "inspects"),
    ({"accept_number": 299}, "accept_number"),
])
def test_malformed_inspections_are_refused_at_entry(cleared: World, qc: dict, field: str):
    w = cleared
    kind, payload = qc_entry("ACT-QC1", "ACT-CLR", defects=0)
    payload["qc"] = {**payload["qc"], **qc}
    with pytest.raises(ValidationError) as err:
        w.draft(D3, [(kind, payload)])
    assert err.value.field == field
    assert "qc" in err.value.record


def test_a_qc_entry_releases_no_land_itself(cleared: World):
    w = cleared
    kind, payload = qc_entry("ACT-QC1", "ACT-CLR", defects=0)
    payload["outcomes"] = w.activity_entry("x", "HA-1", [("cleared", HAZARD)])[1]["outcomes"]
    with pytest.raises(ValidationError) as err:
        w.draft(D3, [(kind, payload)])
    assert err.value.field == "outcomes"


def test_reversing_the_cleared_report_after_a_failed_lot_keeps_the_land_closed(cleared: World):
    w = cleared
    clearance = next(r["report_id"] for r in w.audit("activity", "ACT-CLR")
                     if r["action"] == "create")
    with w.repo.reader() as uow:
        clearance_code = uow.row(s.reports, id=clearance)["code"]
    failed = w.file(D3, [qc_entry("ACT-QC1", "ACT-CLR", defects=1)]).report_code
    w.file(D4, [("reversal", {"report_code": clearance_code, "reason": "wrong hazard"})])
    w.file(date(2026, 4, 12), [("reversal", {"report_code": failed, "reason": "scrap"})])
    # the clearance stays reversed: its land is not given back by the QC's reversal
    assert w.hazard("HA-1")["status"] == "worked_on"
    assert w.settlement_row("S-NEAR")["status"] == "closed"


def test_a_failed_lot_cleared_again_cannot_be_reversed(cleared: World):
    w = cleared
    failed = w.file(D3, [qc_entry("ACT-QC1", "ACT-CLR", defects=1)]).report_code
    w.file(D4, [w.activity_entry("ACT-CLR", "HA-1", [("cleared", HAZARD)], status="completed")])
    code = w.submitted(date(2026, 4, 12), [("reversal", {"report_code": failed,
                                                         "reason": "scrap"})])
    before = w.snapshot()
    with pytest.raises(RuleViolation) as err:
        w.approve(code)
    assert err.value.field == "report_code" and "released again" in str(err.value)
    assert w.snapshot() == before


def test_the_lot_is_what_was_released_by_the_inspection_date(world: World):
    w = world
    w.settlement("S-NEAR", Point(100, -300))
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    w.file(D3, [w.activity_entry("ACT-CLR", "HA-1", [("cleared", box(0, 0, 100, 100))],
                                 type="clearance", status="in_progress")])
    # an inspection dated before that clearance finds no lot
    code = w.submitted(D2, [qc_entry("ACT-QC1", "ACT-CLR", defects=0, sample_units=50,
                                     lot_units=100)])
    with pytest.raises(RuleViolation, match="released no land"):
        w.approve(code)
    w.file(D4, [w.activity_entry("ACT-CLR", "HA-1", [("cleared", box(100, 0, 200, 100))])])
    w.file(D4, [qc_entry("ACT-QC2", "ACT-CLR", defects=0, sample_units=50, lot_units=100)])
    assert qc_rows(w)[-1]["lot_m2"] == pytest.approx(20_000, rel=1e-3)


def test_a_qc_activity_never_carries_released_land(cleared: World):
    w = cleared
    w.file(D3, [qc_entry("ACT-QC1", "ACT-CLR", defects=0)])
    code = w.submitted(D4, [w.activity_entry("ACT-QC1", "HA-1", [("cleared", HAZARD)])])
    with pytest.raises(RuleViolation) as err:
        w.approve(code)
    assert err.value.field == "outcomes"
