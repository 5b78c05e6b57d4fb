"""Field operations on the record (lanes, progress reports, coverage, QC plans, risk),
on SQLite and PostGIS, over a small world drawn in local metres (see demine_world)."""

from __future__ import annotations

from datetime import date

import pytest
import shapely
from demine_world import OPERATOR, World
from scipy.stats import chi2
from shapely import affinity
from shapely.geometry import LineString, Point, box, mapping

from demine.domain.entities import Team
from demine.domain.errors import NotFound, ValidationError
from demine.domain.vocab import AssetType
from demine.service import fieldwork, reference, reports
from demine.store import Repository
from demine.store import schema as s

HAZARD = box(0, 0, 60, 30)          # 1,800 m², local metres
BASE = LineString([(0, 0), (60, 0)])  # the south edge: lanes run north, 1 m wide
DAY = date(2026, 11, 1)


@pytest.fixture
def world(repo: Repository) -> World:
    """The shared small world (tests/conftest.py), with a manual team and a platform."""
    w = World(repo).setup()
    with repo.unit("im.alice", "teams") as uow:
        reference.add_team(uow, Team("MT-1", OPERATOR, AssetType.MANUAL_TEAM, 8, 250.0,
                                     synthetic=True))
        reference.add_team(uow, Team("RCP-1", OPERATOR, AssetType.ROBOTIC_PLATFORM, 2, 4000.0,
                                     working_width_m=2.0, synthetic=True))
    w.file(date(2026, 10, 1), [w.hazard_entry(
        "HA-1", HAZARD, evidence=[{"kind": "indirect", "type": "hearsay"}])])
    return w


def _metric(world: World, local) -> shapely.Geometry:
    """Local metres to the project's metric plane (the world's frame)."""
    return affinity.translate(local, world.ox, world.oy)


def _progress(world: World, boxes: list[str], activity: str = "ACT-1", **kw) -> str:
    return fieldwork.lane_progress_draft(
        world.repo, author="op.bob", organisation_code=OPERATOR, hazard_code="HA-1",
        activity_code=activity, box_ids=boxes, info_date=kw.pop("info_date", DAY),
        base_line=world.wgs(BASE), **kw).report_code


def _approve(world: World, code: str) -> None:
    reports.submit(world.repo, code, "op.bob")
    world.approve(code)


def test_lanes_tile_the_original_polygon_and_keep_their_ids(world: World) -> None:
    layout, frame, synthetic = fieldwork.hazard_lanes(world.repo, "HA-1",
                                                      base_line=world.wgs(BASE))
    assert synthetic is True and frame.crs == "EPSG:32632"
    assert len(layout.lanes) == 60 and len(layout.boxes) == 180
    assert sum(b.area_m2 for b in layout.boxes.values()) == pytest.approx(1800.0, rel=1e-6)
    first = layout.boxes["L001-B001"].geometry
    assert first.symmetric_difference(_metric(world, box(0, 0, 1, 10))).area < 1e-3
    assert layout.boxes["L060-B003"].geometry.centroid.distance(
        _metric(world, Point(59.5, 25))) < 1e-3

    _approve(world, _progress(world, ["L001-B001", "L002-B001"], team_code="MT-1"))
    again = fieldwork.hazard_lanes(world.repo, "HA-1", base_line=world.wgs(BASE)).layout
    assert list(again.boxes) == list(layout.boxes)
    assert all(again.boxes[k].geometry.equals_exact(b.geometry, 1e-9)
               for k, b in layout.boxes.items())

    features = fieldwork.lane_features(layout)
    kinds = [f.properties["kind"] for f in features]
    assert kinds.count("box") == 180 and kinds.count("lane") == 60
    assert kinds.count("base_line") == 1


def test_progress_is_a_draft_until_approved_then_releases_the_boxes(world: World) -> None:
    ids = [f"L{lane:03d}-B001" for lane in range(1, 11)]  # x 0-10, y 0-10: 100 m²
    code = _progress(world, ids, team_code="MT-1")
    assert world.report(code)["status"] == "draft"
    assert world.hazard("HA-1")["cleared_m2"] == 0.0
    with world.repo.reader() as uow:
        payload = uow.conn.execute(s.report_entries.select().where(
            s.report_entries.c.report_id == world.report(code)["id"])).mappings().one()
    entry = payload["payload"]
    assert payload["kind"] == "activity" and entry["type"] == "clearance"
    assert entry["status"] == "in_progress" and entry["team_code"] == "MT-1"
    assert [o["method"] for o in entry["outcomes"]] == ["cleared"]

    _approve(world, code)
    hazard = world.hazard("HA-1")
    assert hazard["cleared_m2"] == pytest.approx(100.0, rel=0.01)
    assert hazard["remaining_m2"] == pytest.approx(1700.0, rel=0.01)
    assert hazard["status"] == "worked_on"
    activity = world.row(s.activities, "ACT-1")
    assert activity["type"] == "clearance" and activity["status"] == "in_progress"
    assert activity["team_id"] == world.row(s.teams, "MT-1")["id"]


def test_progress_cuts_out_released_land_and_refuses_what_is_gone(world: World) -> None:
    _approve(world, _progress(world, ["L001-B001"]))
    # one box done, one new: only the new one's 10 m² is released
    released, plan = fieldwork.lane_progress_polygon(
        world.repo, "HA-1", ["L001-B001", "L002-B001"], base_line=world.wgs(BASE))
    assert plan.frame.area_m2(released) == pytest.approx(10.0, rel=0.01)
    assert plan.frame.to_metric(released).centroid.distance(
        _metric(world, Point(1.5, 5))) < 0.01

    with pytest.raises(ValidationError, match=r"L001-B001.*no remaining land"):
        _progress(world, ["L001-B001"], info_date=date(2026, 11, 2))
    with pytest.raises(ValidationError, match="L999-B001"):
        _progress(world, ["L001-B002", "L999-B001"])
    with pytest.raises(ValidationError, match="box_ids"):
        _progress(world, [])
    world.file(DAY, [world.hazard_entry("HA-2", box(200, 0, 230, 30)),
                     world.activity_entry("ACT-2", "HA-2", type="clearance")])
    with pytest.raises(ValidationError, match="works on hazard HA-2"):
        _progress(world, ["L001-B002"], activity="ACT-2")
    with pytest.raises(NotFound, match="HA-404"):
        fieldwork.hazard_lanes(world.repo, "HA-404")
    with pytest.raises(ValidationError, match="lane_width"):
        fieldwork.hazard_lanes(world.repo, "HA-1", lane_width=0)


def test_coverage_works_the_remainder_with_the_teams_machine(world: World) -> None:
    world.file(DAY, [world.activity_entry("ACT-1", "HA-1", [("cleared", box(0, 0, 30, 30))],
                                          type="clearance", status="in_progress")])
    machine = fieldwork.machine_for_team(world.repo, "RCP-1")
    assert machine.working_width_m == 2.0  # the team's own width beats the class default
    assert machine.min_turn_radius_m == 0.0
    plan, frame, synthetic, left_out = fieldwork.hazard_coverage(world.repo, "HA-1", machine)
    assert frame.crs == "EPSG:32632"
    assert synthetic is True and left_out == pytest.approx(0.0, abs=1.0)
    assert plan.area_m2 == pytest.approx(900.0, rel=0.01)
    assert plan.coverage_fraction > 0.999
    # the route stays on the remainder's side: nothing beyond x = 30 - w/2 is entered
    xs = shapely.get_coordinates(plan.route)[:, 0] - world.ox
    assert xs.min() >= 30.0 - 1.0 - 1e-6 and plan.swath_count >= 14
    features = fieldwork.coverage_features(plan)
    assert len(features) == len(plan.legs)

    faster = fieldwork.machine_for_team(world.repo, "RCP-1", speed_m_s=0.4, overlap_m=None)
    assert faster.speed_m_s == 0.4 and faster.working_width_m == 2.0
    with pytest.raises(ValidationError, match="manual_team"):
        fieldwork.machine_for_team(world.repo, "MT-1")
    world.file(DAY, [world.activity_entry("ACT-1", "HA-1", [("cleared", box(30, 0, 60, 30))])])
    with pytest.raises(ValidationError, match="nothing remains"):
        fieldwork.hazard_coverage(world.repo, "HA-1", machine)


def _two_clearances(world: World) -> None:
    world.file(DAY, [
        world.activity_entry("ACT-A", "HA-1", [("cleared", box(0, 0, 30, 30))],
                             type="clearance", status="completed", team_code="MT-1"),
        world.activity_entry("ACT-B", "HA-1", [("cleared", box(30, 0, 60, 30))],
                             type="clearance", status="completed", team_code="RCP-1"),
    ])


def test_qc_plan_samples_the_released_lot(world: World) -> None:
    _two_clearances(world)
    whole = fieldwork.released_area(world.repo, "HA-1")
    assert whole.kind == "hazard" and set(whole.by_activity) == {"ACT-A", "ACT-B"}
    assert whole.area_m2 == pytest.approx(1800.0, rel=0.001)
    assert fieldwork.released_area(world.repo, "ACT-A").area_m2 == pytest.approx(900, rel=0.001)

    result = fieldwork.qc_plan(world.repo, "HA-1", seed=5)
    assert 1700 <= result.lot_size <= 1800
    assert (result.plan.sample_size, result.plan.accept) == (299, 0)
    assert len({u.id for u in result.units}) == 299
    lot = whole.geometry.buffer(1e-6)
    assert all(lot.covers(u.geometry) for u in result.units)
    per_stratum = [sum(1 for u in result.units if u.stratum == k) for k in (0, 1)]
    assert all(abs(n - 149.5) <= 2 for n in per_stratum), per_stratum
    same = fieldwork.qc_plan(world.repo, "HA-1", seed=5)
    assert [u.id for u in same.units] == [u.id for u in result.units]
    other = fieldwork.qc_plan(world.repo, "HA-1", seed=6)
    assert [u.id for u in other.units] != [u.id for u in result.units]
    pa = [p for _, p in result.oc]
    assert pa == sorted(pa, reverse=True) and pa[2] == pytest.approx(0.99 ** 299, rel=1e-6)

    iso = fieldwork.qc_plan(world.repo, "ACT-A", aql=0.65, seed=1)
    assert fieldwork.qc_letter(iso) == "J"  # 501 to 1,200 units
    assert (iso.plan.sample_size, iso.plan.accept) == (80, 1)
    assert iso.released.kind == "activity"
    assert all(fieldwork.released_area(world.repo, "ACT-A").geometry.buffer(1e-6)
               .covers(u.geometry) for u in iso.units)
    features = fieldwork.qc_features(iso)
    assert [f.properties["kind"] for f in features].count("unit_centre") == 80
    drawn = fieldwork.qc_plan(world.repo, "ACT-A", fraction=0.05)
    assert drawn.seed >= 0 and drawn.plan.sample_size == 59

    with pytest.raises(NotFound, match="XX-1"):
        fieldwork.qc_plan(world.repo, "XX-1")
    world.file(DAY, [world.hazard_entry("HA-2", box(200, 0, 230, 30))])
    with pytest.raises(ValidationError, match="no cleared or reduced land"):
        fieldwork.qc_plan(world.repo, "HA-2")


def test_risk_from_prior_then_findings_then_a_passed_inspection(world: World) -> None:
    before = fieldwork.hazard_risk(world.repo, "HA-1")
    assert before.released is None and before.parts == ()
    assert "indirect" in before.density.source
    assert before.remaining.expected_remaining == pytest.approx(1800 * 1e-3, rel=0.01)
    assert "not yet searched" in before.statements()[0]

    _two_clearances(world)
    world.file(DAY, [("finding", {"activity_code": "ACT-A", "geometry": mapping(
        world.wgs(Point(5 + i, 5))), "eo_category": "ap_mine", "found_on": DAY.isoformat()})
        for i in range(2)])
    risk = fieldwork.hazard_risk(world.repo, "HA-1")
    density = chi2.ppf(0.95, 2 * 3) / 2 / 1800.0
    assert risk.density.per_m2 == pytest.approx(density, rel=0.01)
    assert risk.remaining is None or risk.remaining.area_m2 < 1.0
    by_activity = {p.label.split()[4]: p for p in risk.parts}
    assert by_activity["ACT-A"].pd == 0.99 and by_activity["ACT-B"].pd == 0.90
    expected = density * 900 * (0.01 + 0.10)
    assert risk.expected_remaining == pytest.approx(expected, rel=0.01)
    assert risk.released.pd == pytest.approx(0.945)
    assert any("Pd 0.9 for activity ACT-B" in n for n in risk.assumptions)
    assert any("no passed post-clearance inspection" in n for n in risk.assumptions)

    plain = fieldwork.hazard_risk(world.repo, "HA-1", density_confidence=None, pd=0.5)
    assert plain.density.per_m2 == pytest.approx(2 / 1800.0, rel=0.01)
    assert plain.expected_remaining == pytest.approx(2 / 1800.0 * 1800 * 0.5, rel=0.01)

    world.file(date(2026, 11, 5), [("activity", {
        "code": "QC-1", "hazard_code": "HA-1", "type": "qc_inspection", "status": "completed",
        "qc": {"inspects": "ACT-A", "lot_units": 900, "sample_units": 300, "unit_m2": 1.0,
               "accept_number": 0, "defects": 0}})])
    inspected = fieldwork.hazard_risk(world.repo, "HA-1")
    part_a = next(p for p in inspected.parts if "ACT-A" in p.label)
    assert part_a.qc_fraction == pytest.approx(300 / 900, rel=0.01)
    assert part_a.pq == fieldwork.DEFAULT_QC_PQ
    assert part_a.expected_remaining == pytest.approx(
        density * 900 * 0.01 * (1 - 300 / 900 * 0.95), rel=0.01)
    assert inspected.expected_remaining < risk.expected_remaining
    assert any("inspected and passed" in n for n in inspected.assumptions)
    with pytest.raises(NotFound, match="HA-404"):
        fieldwork.hazard_risk(world.repo, "HA-404")


def test_a_coverage_machine_comes_from_a_team_or_needs_its_width(world: World):
    with pytest.raises(ValidationError) as err:
        fieldwork.choose_machine(world.repo, None, speed_m_s=0.5)
    assert err.value.field == "machine"
    given = fieldwork.choose_machine(world.repo, None, working_width_m=1.5, speed_m_s=None)
    assert given.working_width_m == 1.5
    team = fieldwork.choose_machine(world.repo, "RCP-1", min_turn_radius_m=None)
    assert (team.working_width_m, team.name) == (2.0, "RCP-1")
