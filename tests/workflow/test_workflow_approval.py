"""Approval applies reports to the record: hazards, land release and settlement closure.

Geometry is drawn in local metres on the project's UTM plane (see demine_world), so the
distances that decide closure (480 m in, 600 m out) and the areas are known exactly.
"""

from __future__ import annotations

import math
import re
from datetime import date

import pytest
import shapely
from demine_world import World
from pyproj import Geod
from shapely.geometry import Point, box, mapping

from demine.domain.errors import RuleViolation, ValidationError
from demine.store import schema as s

GEOD = Geod(ellps="WGS84")
D1, D2, D3, D4 = date(2026, 1, 10), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
HAZARD = box(0.0, 0.0, 200.0, 100.0)             # 20,000 m²
NEAR = Point(100.0, 100.0 + 480.0)               # 480 m north of the hazard
FAR = Point(100.0, -600.0)                       # 600 m south of it
WEST, EAST = box(0.0, 0.0, 100.0, 100.0), box(100.0, 0.0, 200.0, 100.0)
# Boxes drawn straight in metres are stored with straight edges in degrees, which bow by
# a millimetre or so on the plane over 200 m: areas agree to well under 1 m².
AREA_TOL = 0.5
SHAPE_TOL_M2 = 1.0


def geod_area(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


@pytest.fixture
def placed(world: World) -> World:
    assert HAZARD.distance(NEAR) == pytest.approx(480.0)
    assert HAZARD.distance(FAR) == pytest.approx(600.0)
    world.settlement("S-NEAR", NEAR)
    world.settlement("S-FAR", FAR)
    assert world.repo.settings().metric_crs == "EPSG:32632"
    return world


def test_new_hazard_closes_the_near_settlement_only(placed: World):
    w = placed
    result = w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    assert result.closed == ["S-NEAR"]
    assert result.reopened == []
    hz = w.hazard("HA-1")
    assert hz["original_m2"] == pytest.approx(20_000.0, abs=AREA_TOL)
    assert hz["original_m2"] == pytest.approx(geod_area(w.wgs(HAZARD)), rel=0.005)
    assert hz["remaining_m2"] == pytest.approx(hz["original_m2"])
    assert hz["cancelled_m2"] == hz["reduced_m2"] == hz["cleared_m2"] == 0.0
    assert (hz["status"], hz["classification"]) == ("open", "SHA")
    assert w.settlement_row("S-NEAR")["status"] == "closed"
    assert w.settlement_row("S-FAR")["status"] == "open"
    assert w.blockers("S-NEAR") == {"HA-1"}
    assert w.blockers("S-FAR") == set()


def test_closure_is_measured_to_the_footprint_and_applies_to_late_settlements(world: World):
    footprint = box(50.0, 550.0, 400.0, 1_400.0)   # nearest edge 450 m from the hazard
    point = Point(225.0, 1_300.0)                   # the point itself 1,200 m away
    assert HAZARD.distance(footprint) == pytest.approx(450.0)
    world.settlement("S-FOOT", point, footprint=footprint)
    world.settlement("S-DOT", point)
    result = world.file(D1, [world.hazard_entry("HA-1", HAZARD)])
    assert result.closed == ["S-FOOT"]
    world.settlement("S-LATE", Point(-300.0, 50.0))
    world.settlement("S-LATE-FAR", Point(-550.0, 50.0))
    assert world.settlement_row("S-LATE")["status"] == "closed"
    assert world.blockers("S-LATE") == {"HA-1"}
    assert world.settlement_row("S-LATE-FAR")["status"] == "open"


def test_releasing_the_last_hazard_reopens_the_settlement(placed: World):
    w = placed
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    result = w.file(D2, [w.activity_entry(
        "ACT-1", "HA-1", [("cleared", WEST), ("reduced", EAST)],
        type="clearance", status="completed", actual_start="2026-01-20",
        actual_end="2026-01-30", clearance_depth_mm=130)])
    assert result.reopened == ["S-NEAR"]
    assert result.closed == []
    [change] = result.hazards
    assert (change.code, change.status_before, change.status_after) == \
        ("HA-1", "open", "released")
    assert change.remaining_after_m2 == pytest.approx(0.0, abs=1.0)
    hz = w.hazard("HA-1")
    assert hz["status"] == "released"
    assert hz["cleared_m2"] == pytest.approx(10_000.0, abs=AREA_TOL)
    assert hz["reduced_m2"] == pytest.approx(10_000.0, abs=AREA_TOL)
    assert hz["cancelled_m2"] == 0.0
    ident = hz["original_m2"] - hz["cancelled_m2"] - hz["reduced_m2"] - hz["cleared_m2"]
    assert abs(ident - hz["remaining_m2"]) <= 1.0
    assert w.settlement_row("S-NEAR")["status"] == "open"
    assert w.blockers("S-NEAR") == set()
    act = w.row(s.activities, "ACT-1")
    assert (act["status"], act["clearance_depth_mm"]) == ("completed", 130)


def test_partial_release_leaves_the_remaining_polygon(placed: World):
    w = placed
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    cut = box(0.0, 0.0, 60.0, 100.0)
    result = w.file(D2, [w.activity_entry("ACT-1", "HA-1", [("cancelled", cut)], type="nts",
                                          status="completed")])
    assert result.reopened == [] and result.closed == []
    hz = w.hazard("HA-1")
    assert hz["status"] == "worked_on"
    assert hz["cancelled_m2"] == pytest.approx(6_000.0, abs=AREA_TOL)
    assert hz["remaining_m2"] == pytest.approx(14_000.0, abs=AREA_TOL)
    remaining_local = w.local(hz["remaining"])
    assert remaining_local.symmetric_difference(box(60.0, 0.0, 200.0, 100.0)).area < SHAPE_TOL_M2
    assert w.settlement_row("S-NEAR")["status"] == "closed"


def test_releasing_the_near_half_reopens_a_settlement_beyond_the_far_half(world: World):
    village = Point(-450.0, 50.0)            # 450 m west of the hazard
    assert village.distance(EAST) == pytest.approx(550.0)
    world.settlement("S-WEST", village)
    world.file(D1, [world.hazard_entry("HA-1", HAZARD)])
    assert world.settlement_row("S-WEST")["status"] == "closed"
    result = world.file(D2, [world.activity_entry("ACT-1", "HA-1", [("cleared", WEST)],
                                                  type="clearance", status="in_progress")])
    hz = world.hazard("HA-1")
    assert hz["remaining_m2"] == pytest.approx(10_000.0, abs=AREA_TOL)
    remaining = world.local(hz["remaining"])
    spike = remaining.hausdorff_distance(EAST)
    assert result.reopened == ["S-WEST"], (
        f"remaining polygon reaches {spike:.1f} m beyond the uncleared east half "
        f"(nearest point {remaining.distance(village):.1f} m from the village)")
    assert world.blockers("S-WEST") == set()
    assert spike < 0.05


def test_settlement_stays_closed_until_both_hazards_are_released(world: World):
    west_hz, east_hz = box(-400.0, 0.0, -300.0, 100.0), box(300.0, 0.0, 400.0, 100.0)
    village = Point(0.0, 50.0)     # 300 m from each hazard
    assert village.distance(west_hz) == village.distance(east_hz) == pytest.approx(300.0)
    world.settlement("S-MID", village)
    world.file(D1, [world.hazard_entry("HA-W", west_hz), world.hazard_entry("HA-E", east_hz)])
    assert world.blockers("S-MID") == {"HA-W", "HA-E"}
    first = world.file(D2, [world.activity_entry("ACT-W", "HA-W", [("cleared", west_hz)],
                                                 type="clearance", status="completed")])
    assert first.reopened == []
    assert world.settlement_row("S-MID")["status"] == "closed"
    assert world.blockers("S-MID") == {"HA-E"}
    second = world.file(D3, [world.activity_entry("ACT-E", "HA-E", [("cleared", east_hz)],
                                                  type="clearance", status="completed")])
    assert second.reopened == ["S-MID"]
    assert world.settlement_row("S-MID")["status"] == "open"


def test_late_report_does_not_overwrite_newer_status_but_adds_its_outcomes(placed: World):
    w = placed
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    w.file(D3, [w.activity_entry("ACT-1", "HA-1", [("cleared", EAST)], type="clearance",
                                 status="completed", actual_end="2026-02-28")])
    late = w.file(D2, [w.activity_entry("ACT-1", "HA-1", [("cleared", WEST)],
                                        status="in_progress")])
    act = w.row(s.activities, "ACT-1")
    assert act["status"] == "completed"
    assert act["info_date"] == D3
    with w.repo.engine.connect() as conn:
        rows = conn.execute(
            s.outcome_polygons.select().where(s.outcome_polygons.c.activity_id == act["id"])
        ).mappings().all()
    assert sorted(r["info_date"] for r in rows) == [D2, D3]
    assert not any(r["void"] for r in rows)
    hz = w.hazard("HA-1")
    assert hz["cleared_m2"] == pytest.approx(20_000.0, abs=AREA_TOL)
    assert hz["status"] == "released"
    assert late.reopened == ["S-NEAR"]


def test_direct_evidence_and_findings_make_a_hazard_confirmed(world: World):
    world.file(D1, [world.hazard_entry("HA-1", HAZARD),
                    world.hazard_entry("HA-2", box(0.0, 2_000.0, 100.0, 2_100.0))])
    assert world.hazard("HA-1")["classification"] == "SHA"
    world.file(D2, [("evidence", {"hazard_code": "HA-1", "items": [
        {"kind": "indirect", "type": "hearsay"}]})])
    assert world.hazard("HA-1")["classification"] == "SHA"
    world.file(D2, [("evidence", {"hazard_code": "HA-1", "items": [
        {"kind": "direct", "type": "mine_sign", "description": "red sign by the track"}]})])
    assert world.hazard("HA-1")["classification"] == "CHA"
    assert world.hazard("HA-1")["declared_classification"] == "SHA"
    world.file(D2, [world.activity_entry("ACT-2", "HA-2", type="ts", status="in_progress")])
    world.file(D3, [("finding", {
        "activity_code": "ACT-2", "eo_category": "at_mine", "found_on": "2026-02-28",
        "geometry": mapping(world.wgs(Point(50.0, 2_050.0))), "depth_mm": 200})])
    hz2 = world.hazard("HA-2")
    assert hz2["classification"] == "CHA"
    assert hz2["eo_confirmed"] == ["at_mine"]
    assert hz2["status"] == "worked_on"


def test_hazard_cleared_in_halves_drawn_in_degrees_reopens_the_village(world: World):
    """An operator splits a 1 km hazard along a meridian on a lon/lat map and clears both
    halves: the hazard is released and the village 400 m away reopens."""
    lon0, lat0 = 9.0, 45.0
    dlon, dlat = 1_000.0 / (111_320.0 * math.cos(math.radians(lat0))), 1_000.0 / 111_320.0
    hazard = box(lon0, lat0, lon0 + dlon, lat0 + dlat)
    halves = [box(lon0, lat0, lon0 + dlon / 2, lat0 + dlat),
              box(lon0 + dlon / 2, lat0, lon0 + dlon, lat0 + dlat)]
    village_lon, village_lat, _ = GEOD.fwd(lon0 + dlon / 2, lat0 + dlat, 0.0, 400.0)
    world.settlement("S-V", world.local(Point(village_lon, village_lat)))
    world.file(D1, [("new_hazard", {"code": "HA-DEG", "geometry": mapping(hazard)})])
    assert world.settlement_row("S-V")["status"] == "closed"
    result = world.file(D2, [("activity", {
        "code": "ACT-DEG", "hazard_code": "HA-DEG", "type": "clearance", "status": "completed",
        "outcomes": [{"method": "cleared", "geometry": mapping(h)} for h in halves]})])
    hz = world.hazard("HA-DEG")
    assert hz["status"] == "released", f"{hz['remaining_m2']:.1f} m² left"
    assert result.reopened == ["S-V"]


# --- approvals that break a rule change nothing -------------------------------------

def refused_atomically(w: World, code: str) -> RuleViolation:
    before = w.snapshot()
    with pytest.raises(RuleViolation) as info:
        w.approve(code)
    assert w.report(code)["status"] == "submitted"
    after = w.snapshot()
    for table in before:
        assert after[table] == before[table], f"table {table} changed"
    assert after.keys() == before.keys()
    return info.value


def test_approvals_that_break_a_rule_are_refused_and_change_nothing(placed: World):
    w = placed

    # a bad entry undoes the good entries of the same report
    code = w.submitted(D1, [
        w.hazard_entry("HA-1", HAZARD),
        w.activity_entry("ACT-1", "HA-1", [("cleared", box(0.0, 0.0, 100.0, 400.0))],
                         type="clearance", status="completed"),
    ])
    err = refused_atomically(w, code)
    assert code in err.record and err.field == "outcome polygon"
    with w.repo.reader() as uow:
        assert uow.row(s.hazard_areas, code="HA-1") is None
    assert w.settlement_row("S-NEAR")["status"] == "open"

    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    w.file(D2, [w.activity_entry("ACT-1", "HA-1", [("cleared", WEST)], type="clearance",
                                 status="in_progress")])

    # an outcome outside a hazard on the record: refused as the draft is saved (the
    # hazard's polygon never changes, so approval would refuse it too); nothing stored
    before = w.snapshot()
    with pytest.raises(RuleViolation) as info:
        w.submitted(D3, [w.activity_entry(
            "ACT-2", "HA-1", [("cleared", box(150.0, 0.0, 230.0, 100.0))],
            type="clearance", status="completed")])
    assert w.snapshot() == before
    err = info.value
    assert re.fullmatch(r"report RPT-\d+ entry 1", err.record)
    assert err.field == "outcome polygon"
    assert "HA-1" in err.problem and "outside" in err.problem
    # 30 m x 100 m lie beyond the east edge, 29 m of it beyond the 1 m tolerance
    outside = float(re.search(r"([0-9.]+) m²", err.problem).group(1))
    assert 2_900.0 - 1.0 <= outside <= 3_000.0 + 1.0

    # an outcome overlapping an earlier release (20 m x 100 m of the west half)
    code = w.submitted(D3, [w.activity_entry(
        "ACT-2", "HA-1", [("reduced", box(80.0, 0.0, 200.0, 100.0))], type="ts",
        status="completed")])
    err = refused_atomically(w, code)
    assert code in err.record
    assert err.field == "outcome polygon"
    assert "2000" in err.problem and "already released" in err.problem

    # an activity on a hazard that is not on the record
    code = w.submitted(D3, [w.activity_entry("ACT-3", "HA-404", type="nts")])
    err = refused_atomically(w, code)
    assert err.field == "hazard_code" and "HA-404" in err.problem

    # an activity moved to another hazard
    w.file(D3, [w.hazard_entry("HA-2", box(0.0, 2_000.0, 50.0, 2_050.0))])
    code = w.submitted(D3, [w.activity_entry("ACT-1", "HA-2", status="completed")])
    err = refused_atomically(w, code)
    assert err.field == "hazard_code"

    # a second hazard with a code already on the record
    code = w.submitted(D3, [w.hazard_entry("HA-1", box(0.0, 900.0, 10.0, 910.0))])
    err = refused_atomically(w, code)
    assert err.field == "code" and code in err.record


def test_late_report_overlapping_a_newer_release_names_the_late_report(placed: World):
    w = placed
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    newer = w.submitted(D3, [w.activity_entry("ACT-1", "HA-1", [("cleared", WEST)],
                                              type="clearance", status="completed")])
    w.approve(newer)
    late = w.submitted(D2, [w.activity_entry(
        "ACT-2", "HA-1", [("reduced", box(50.0, 0.0, 150.0, 100.0))], type="ts",
        status="completed")])
    err = refused_atomically(w, late)
    assert late in err.record, f"the refusal blames {err.record!r}, not {late}"
    assert newer not in err.record


# --- reversal -----------------------------------------------------------------------

def test_reversal_voids_outcomes_and_closes_the_settlement_again(placed: World):
    w = placed
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    release = w.submitted(D2, [w.activity_entry("ACT-1", "HA-1", [("cleared", HAZARD)],
                                                type="clearance", status="completed")])
    assert w.approve(release).reopened == ["S-NEAR"]
    counts = w.counts(["outcome_polygons", "activities"])
    result = w.file(D3, [("reversal", {"report_code": release,
                                       "reason": "outcome polygon from the wrong GPS"})])
    assert result.closed == ["S-NEAR"]
    hz = w.hazard("HA-1")
    assert hz["cleared_m2"] == 0.0
    assert hz["remaining_m2"] == pytest.approx(hz["original_m2"])
    assert hz["remaining_m2"] == pytest.approx(20_000.0, abs=AREA_TOL)
    assert w.local(hz["remaining"]).symmetric_difference(HAZARD).area < SHAPE_TOL_M2
    assert hz["status"] != "released"
    assert w.settlement_row("S-NEAR")["status"] == "closed"
    assert w.blockers("S-NEAR") == {"HA-1"}
    assert w.counts(["outcome_polygons", "activities"]) == counts  # voided, not deleted
    with w.repo.engine.connect() as conn:
        voids = conn.execute(select_void()).scalars().all()
    assert voids == [True]
    assert w.report(release)["status"] == "approved"  # history is not edited

    # the land can be reported again, and only the new outcome counts
    w.file(D4, [w.activity_entry("ACT-1", "HA-1", [("cleared", box(20.0, 0.0, 120.0, 100.0))],
                                 status="completed")])
    hz = w.hazard("HA-1")
    assert hz["cleared_m2"] == pytest.approx(10_000.0, abs=AREA_TOL)
    remaining = w.local(hz["remaining"])
    expected = HAZARD.difference(box(20.0, 0.0, 120.0, 100.0))
    assert shapely.symmetric_difference(remaining, expected).area < SHAPE_TOL_M2


def select_void():
    return s.outcome_polygons.select().with_only_columns(s.outcome_polygons.c.void)


def test_reversals_that_cannot_be_applied_are_refused(placed: World):
    w = placed
    first = w.submitted(D1, [w.hazard_entry("HA-1", HAZARD)])

    # a report that is not approved yet
    code = w.submitted(D2, [("reversal", {"report_code": first, "reason": "x"})])
    err = refused_atomically(w, code)
    assert err.field == "report_code" and first in err.problem

    # a report that recorded a new hazard
    w.approve(first)
    code = w.submitted(D2, [("reversal", {"report_code": first, "reason": "duplicate"})])
    err = refused_atomically(w, code)
    assert err.field == "report_code"
    assert first in err.problem

    # a report already reversed
    release = w.submitted(D2, [w.activity_entry("ACT-1", "HA-1", [("cleared", WEST)],
                                                type="clearance")])
    w.approve(release)
    w.file(D3, [("reversal", {"report_code": release, "reason": "wrong polygon"})])
    again = w.submitted(D4, [("reversal", {"report_code": release, "reason": "again"})])
    err = refused_atomically(w, again)
    assert err.field == "report_code"


def test_an_accident_report_is_reversed_once(placed: World):
    w = placed
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    accident = w.file(D2, [("accident", {
        "code": "ACC-1", "accident_date": "2026-02-01", "type": "mine_erw",
        "device_category": "at_mine", "geometry": mapping(w.wgs(Point(50.0, 50.0))),
        "victims": [{"outcome": "injured", "role": "civilian"}]})]).report_code
    w.file(D3, [("reversal", {"report_code": accident, "reason": "reported twice"})])
    with w.repo.engine.connect() as conn:
        assert conn.execute(s.accidents.select().with_only_columns(
            s.accidents.c.void)).scalars().all() == [True]
    again = w.submitted(D4, [("reversal", {"report_code": accident, "reason": "again"})])
    err = refused_atomically(w, again)
    assert err.field == "report_code" and accident in err.problem


def test_unknown_team_is_refused_naming_the_report_entry(placed: World):
    w = placed
    w.file(D1, [w.hazard_entry("HA-1", HAZARD)])
    code = w.submitted(D2, [w.activity_entry("ACT-1", "HA-1", type="clearance",
                                             team_code="TEAM-404")])
    before = w.snapshot()
    with pytest.raises(ValidationError) as info:  # RuleViolation is a ValidationError
        w.approve(code)
    assert info.value.record == f"report {code} entry 1"
    assert info.value.field == "team_code"
    assert "TEAM-404" in info.value.problem
    assert w.report(code)["status"] == "submitted"
    assert w.snapshot() == before
