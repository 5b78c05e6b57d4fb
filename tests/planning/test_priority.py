"""Priority scores: weighted criteria with their reasons, from built-in or own profiles."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demine.domain.errors import ValidationError
from demine.domain.vocab import Blockage, EOCategory, EvidenceKind
from demine.planning.priority import (
    HazardFacts,
    load_profile,
    parse_profile,
    score_hazards,
)

BASE = HazardFacts(code="HA-1", remaining_m2=20_000.0, effort_days=100.0,
                   blockages=frozenset({Blockage.AGRICULTURE}),
                   evidence=frozenset({EvidenceKind.INDIRECT}),
                   eo_categories=frozenset({EOCategory.AT_MINE}))


def facts(**changes) -> HazardFacts:
    return replace(BASE, **changes)


def test_the_breakdown_adds_up_to_the_score_and_names_the_facts():
    profile = load_profile("default")
    (p,) = score_hazards([facts(population_share=600, population_blocked=1200,
                                settlements_closed=("STL-1",), accidents_nearby=1)], profile)
    assert p.score == pytest.approx(sum(part.points for part in p.parts))
    assert {part.criterion for part in p.parts} == {c.name for c in profile.criteria}
    for part in p.parts:
        assert 0.0 <= part.value <= 1.0
        assert part.points == pytest.approx(100 * part.weight * part.value / profile.total_weight)
    text = p.explain()
    assert "STL-1" in text and "1,200 people" in text and "1 accident(s)" in text


def test_a_hazard_that_keeps_people_out_ranks_above_the_same_hazard_that_does_not():
    ranked = score_hazards([facts(code="HA-EMPTY"),
                            facts(code="HA-VILLAGE", population_share=300,
                                  population_blocked=300, settlements_closed=("STL-9",))],
                           load_profile("default"))
    assert [p.code for p in ranked] == ["HA-VILLAGE", "HA-EMPTY"]
    assert [p.rank for p in ranked] == [1, 2]


def test_the_agricultural_profile_puts_lightly_contaminated_farmland_first():
    light = facts(code="HA-LIGHT", items_found=1, worked_m2=10_000)
    heavy = facts(code="HA-HEAVY", items_found=40, worked_m2=10_000)
    road = facts(code="HA-ROAD", blockages=frozenset({Blockage.ROAD}), items_found=1,
                 worked_m2=10_000)
    ranked = [p.code for p in score_hazards([heavy, road, light], load_profile("agricultural"))]
    assert ranked.index("HA-LIGHT") < ranked.index("HA-HEAVY")
    assert ranked.index("HA-LIGHT") < ranked.index("HA-ROAD")
    # the default profile does not care about density, and prefers the road
    default = [p.code for p in score_hazards([heavy, road, light], load_profile("default"))]
    assert default[0] == "HA-ROAD"


@settings(max_examples=60)
@given(st.floats(0, 50_000), st.floats(0, 50_000), st.integers(0, 5), st.floats(1, 900))
def test_more_of_a_higher_is_better_criterion_never_lowers_the_score(a, b, acc, days):
    profile = load_profile("default")
    low, high = sorted((a, b))
    s_low, s_high = (score_hazards([facts(population_share=x, effort_days=days,
                                          accidents_nearby=acc)], profile)[0].score
                     for x in (low, high))
    assert s_high >= s_low - 1e-9
    more_work = score_hazards([facts(population_share=low, effort_days=days * 2,
                                     accidents_nearby=acc)], profile)[0].score
    assert more_work <= s_low + 1e-9          # effort is preferred lower


def test_ties_are_broken_by_code_so_the_order_is_reproducible():
    ranked = score_hazards([facts(code="HA-B"), facts(code="HA-A"), facts(code="HA-C")],
                           load_profile("default"))
    assert [p.code for p in ranked] == ["HA-A", "HA-B", "HA-C"]


def test_an_own_profile_from_json_or_yaml(tmp_path: Path):
    values = {"road": 1.0, "agriculture": 0}
    spec = {"name": "roads", "criteria": {"blockages": {"weight": 1, "values": values}}}
    path = tmp_path / "roads.json"
    path.write_text(json.dumps(spec))
    profile = load_profile(path)
    assert profile.name == "roads"
    ranked = score_hazards([facts(code="HA-FARM"),
                            facts(code="HA-ROAD", blockages=frozenset({Blockage.ROAD}))], profile)
    assert [(p.code, round(p.score, 6)) for p in ranked] == [("HA-ROAD", 100.0),
                                                              ("HA-FARM", 0.0)]
    yml = tmp_path / "short.yaml"
    yml.write_text("criteria:\n  population: 2\n  threat: 1\n")
    assert [c.weight for c in load_profile(yml).criteria] == [2.0, 1.0]


@pytest.mark.parametrize(("spec", "field"), [
    ({"criteria": {"popularity": 1}}, "criteria.popularity"),
    ({"criteria": {"population": {"weight": -1}}}, "criteria.population.weight"),
    ({"criteria": {"population": {"weight": 1, "prefer": "up"}}}, "criteria.population.prefer"),
    ({"criteria": {"population": {"weight": 1, "cap": 0}}}, "criteria.population.cap"),
    ({"criteria": {"blockages": {"weight": 1, "values": {"airport": 1}}}},
     "criteria.blockages.values.airport"),
    ({"criteria": {"threat": {"weight": 1, "values": {"ap_mine": 2}}}},
     "criteria.threat.values.ap_mine"),
    ({"criteria": {"effort": {"weight": 1, "values": {"x": 1}}}}, "criteria.effort.values"),
    ({"criteria": {"population": 0}}, "criteria"),
    ({"criteria": []}, "criteria"),
    (["not", "a", "mapping"], "file"),
])
def test_bad_profiles_are_refused_naming_the_key(spec, field):
    with pytest.raises(ValidationError) as err:
        parse_profile(spec, "profile test.yaml")
    assert err.value.field == field
    assert err.value.record == "profile test.yaml"


def test_a_missing_or_unreadable_profile_file_is_refused(tmp_path: Path):
    with pytest.raises(ValidationError, match="no such file"):
        load_profile(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("criteria: [unclosed\n")
    with pytest.raises(ValidationError, match="not valid YAML"):
        load_profile(broken)
