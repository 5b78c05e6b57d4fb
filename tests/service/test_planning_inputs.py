"""The planner's facts about each hazard, read from a record built through reports."""

from __future__ import annotations

from datetime import date

import pytest
from demine_world import World
from shapely.geometry import Point, box, mapping

from demine.domain.vocab import Blockage, EOCategory, EvidenceKind
from demine.planning.priority import load_profile, score_hazards
from demine.service.planning_inputs import hazard_facts


def test_facts_follow_the_record(world: World):
    w = world
    # STL-A is closed by HA-1 and HA-2; STL-B by HA-2 alone; HA-3 is far from both
    w.settlement("STL-A", Point(0, -300), population=1_000)
    w.settlement("STL-B", Point(1_000, -300), population=400)
    w.file(date(2026, 1, 5), [
        w.hazard_entry("HA-1", box(-300, 0, -100, 100), blockages=["road"],
                       evidence=[{"kind": "direct", "type": "mine_sign"}]),
        w.hazard_entry("HA-2", box(300, 0, 700, 100), blockages=["agriculture", "water"]),
        w.hazard_entry("HA-3", box(5_000, 5_000, 5_100, 5_100)),
        w.hazard_entry("HA-4", box(-3_000, 0, -2_900, 100)),
    ])
    w.file(date(2026, 2, 1), [w.activity_entry(
        "ACT-2", "HA-2", [("cleared", box(300, 0, 400, 100))], type="clearance",
        status="in_progress")])
    w.file(date(2026, 2, 2), [("finding", {
        "activity_code": "ACT-2", "eo_category": "at_mine", "found_on": "2026-02-01",
        "geometry": mapping(w.wgs(Point(350, 50)))})])
    w.file(date(2026, 2, 3), [("accident", {
        "code": "ACC-1", "accident_date": "2026-02-02", "type": "mine_erw",
        "device_category": "ap_mine", "geometry": mapping(w.wgs(Point(5_050, 6_000))),
        "victims": [{"outcome": "injured", "role": "civilian"},
                    {"outcome": "killed", "role": "civilian"}]})])
    w.file(date(2026, 2, 4), [w.activity_entry(
        "ACT-4", "HA-4", [("cancelled", box(-3_000, 0, -2_900, 100))], type="nts",
        status="completed")])

    facts = {f.code: f for f in hazard_facts(w.repo)}
    assert set(facts) == {"HA-1", "HA-2", "HA-3"}          # HA-4 is released
    one, two, three = facts["HA-1"], facts["HA-2"], facts["HA-3"]
    assert one.settlements_closed == ("STL-A",)
    assert one.population_blocked == 1_000 and one.population_share == pytest.approx(500)
    assert two.settlements_closed == ("STL-A", "STL-B")
    assert two.population_share == pytest.approx(500 + 400)
    assert three.settlements_closed == () and three.population_share == 0
    assert one.blockages == {Blockage.ROAD}
    assert two.blockages == {Blockage.AGRICULTURE, Blockage.WATER}
    assert one.evidence == {EvidenceKind.DIRECT} and not one.confirmed
    assert two.confirmed and two.items_found == 1
    assert EOCategory.AT_MINE in two.eo_categories
    assert two.worked_m2 == pytest.approx(10_000, rel=1e-3)
    assert two.remaining_m2 == pytest.approx(30_000, rel=1e-3)
    assert (three.accidents_nearby, three.victims_nearby) == (1, 2)   # 900 m away
    assert (one.accidents_nearby, two.accidents_nearby) == (0, 0)
    assert two.effort_days > three.effort_days

    ranked = score_hazards(facts.values(), load_profile("default"))
    assert ranked[0].code == "HA-2"      # most people, water, confirmed


def test_no_hazards_no_facts(world: World):
    assert hazard_facts(world.repo) == []
