"""Productivity learned from reported progress: the rule, the record, and the plan it changes."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from demine_world import OPERATOR, World
from shapely.geometry import Point, box

from demine.domain.entities import Team
from demine.domain.errors import ValidationError
from demine.domain.vocab import AssetType
from demine.planning.productivity import (
    MIN_WORKING_DAYS,
    ProgressRecord,
    choose_rates,
    spread_from_progress,
    working_days,
)
from demine.service import reference
from demine.service.planning import district_plan
from demine.service.planning_inputs import clearance_progress

TEAM = "ALPHA-MT1"
REGISTER = 300.0
D0 = date(2026, 1, 5)


def rec(team: str, act: str, start: date, days: int, area: float) -> ProgressRecord:
    return ProgressRecord(team, act, start, start + timedelta(days=days - 1), area)


# --- the rule ------------------------------------------------------------------------


def test_working_days_count_each_calendar_day_once():
    a = rec("T", "A1", D0, 14, 1.0)                       # 5-18 Jan
    b = rec("T", "A2", D0 + timedelta(days=7), 14, 1.0)   # 12-25 Jan: overlaps a week
    assert working_days([a]) == pytest.approx(12.0)       # 14 calendar days x 6/7
    assert working_days([a, b]) == pytest.approx(21 * 6 / 7)
    assert working_days([a], working_days_per_week=5) == pytest.approx(10.0)


def test_enough_plausible_progress_is_learned():
    out = choose_rates({"T": (REGISTER, "register")},
                       [rec("T", "A1", D0, 14, 6_000.0), rec("T", "A2", D0 + timedelta(14), 7,
                                                             4_000.0)])
    c = out["T"]
    assert c.learned and c.source == "learned"
    assert c.rate_m2_day == pytest.approx(10_000 / 18)    # 21 days -> 18 working days
    assert c.fallback_m2_day == REGISTER and c.activities == ("A1", "A2")
    assert "18.0 working days" in c.reason


def test_too_little_progress_falls_back_and_says_why():
    days = math.floor(MIN_WORKING_DAYS * 7 / 6) - 1       # just under the minimum
    c = choose_rates({"T": (REGISTER, "register")}, [rec("T", "A1", D0, days, 2_000.0)])["T"]
    assert not c.learned and c.rate_m2_day == REGISTER and c.source == "register"
    assert c.learned_m2_day is not None and c.learned_m2_day > REGISTER
    assert f"< {MIN_WORKING_DAYS:g}" in c.reason


@pytest.mark.parametrize("area, side", [(12 * REGISTER * 6, "over 5x"),
                                        (12 * REGISTER / 6, "under 1/5 of")])
def test_implausible_progress_is_kept_out_and_names_the_activity(area, side):
    c = choose_rates({"T": (REGISTER, "register")}, [rec("T", "ACT-9", D0, 14, area)])["T"]
    assert not c.learned and c.rate_m2_day == REGISTER
    assert side in c.reason and "ACT-9" in c.reason


def test_teams_without_progress_and_strangers():
    out = choose_rates({"T": (REGISTER, "register"), "NEW": (4_500.0, "default")},
                       [rec("OTHER", "A1", D0, 30, 9_000.0)])
    assert set(out) == {"T", "NEW"}
    assert out["NEW"].source == "default" and out["NEW"].rate_m2_day == 4_500
    assert out["T"].learned_m2_day is None and out["T"].reason == ""


def test_a_record_ending_before_it_starts_is_refused():
    with pytest.raises(ValidationError, match="actual_end"):
        ProgressRecord("T", "A1", D0, D0 - timedelta(days=1), 10.0)


# --- from the record -----------------------------------------------------------------


def _district(w: World, *, reported_days: int = 14) -> None:
    """One manual team (register 300 m²/day) that reported 10,000 m² in ``reported_days``.

    STL-A is closed by HA-1 (half cleared by the team) and HA-2 (6,000 m², untouched).
    """
    with w.repo.unit("im.alice", "team") as uow:
        reference.add_team(uow, Team(TEAM, OPERATOR, AssetType.MANUAL_TEAM, 10, REGISTER))
    w.settlement("STL-A", Point(0, -300), population=500)
    w.file(date(2026, 1, 2), [w.hazard_entry("HA-1", box(0, 0, 200, 100)),
                              w.hazard_entry("HA-2", box(300, 0, 400, 60))])
    w.file(D0, [w.activity_entry("ACT-1", "HA-1", type="clearance", status="in_progress",
                                 team_code=TEAM, actual_start=D0.isoformat())])
    end = D0 + timedelta(days=reported_days - 1)
    w.file(end, [w.activity_entry("ACT-1", "HA-1", [("cleared", box(0, 0, 100, 100))])])
    # survey outcomes and team-less activities say nothing about the team's clearance rate
    w.file(end, [w.activity_entry("ACT-2", "HA-2", [("cancelled", box(300, 0, 310, 10))],
                                  type="nts", status="completed", team_code=TEAM,
                                  actual_start=D0.isoformat(), actual_end=end.isoformat())])


def test_progress_is_read_from_the_record(world: World):
    _district(world)
    (r,) = clearance_progress(world.repo)
    assert (r.team, r.activity, r.start) == (TEAM, "ACT-1", D0)
    assert r.end == D0 + timedelta(days=13)               # the last reported outcome
    assert r.area_m2 == pytest.approx(10_000, rel=1e-3)


def test_completed_activity_counts_to_its_actual_end(world: World):
    _district(world)
    end = D0 + timedelta(days=20)
    world.file(end, [world.activity_entry("ACT-1", "HA-1", status="completed",
                                          actual_end=end.isoformat())])
    (r,) = clearance_progress(world.repo)
    assert r.end == end


def _durations(plan) -> list[tuple[float, int]]:
    return sorted((it.area_m2, it.finish_day - it.start_day) for it in plan.assets[TEAM])


def test_plan_durations_follow_the_learned_rate(world: World):
    _district(world)
    learned_plan, inputs = district_plan(world.repo, time_limit=2, start_date=date(2026, 2, 1))
    register_plan, _ = district_plan(world.repo, time_limit=2, start_date=date(2026, 2, 1),
                                     learn=False)
    (choice,) = inputs.productivity
    rate = 10_000 / 12                                    # 14 calendar days = 12 working days
    assert choice.learned and choice.rate_m2_day == pytest.approx(rate, rel=1e-3)
    assert any("learned from reported progress" in w and TEAM in w
               for w in learned_plan.warnings)
    learned, registered = _durations(learned_plan), _durations(register_plan)
    assert [a for a, _ in learned] == [a for a, _ in registered]
    assert [a for a, _ in learned] == pytest.approx([5_000, 5_000, 5_900], abs=1)
    for (area, fast), (_, slow) in zip(learned, registered, strict=True):
        travel = slow - math.ceil(area / REGISTER * 7 / 6 - 1e-9)
        assert travel in (0, 1)                           # mobilisation from the centre
        assert fast == math.ceil(area / choice.rate_m2_day * 7 / 6 - 1e-9) + travel
        assert fast < slow
    assert learned_plan.reopening_day["STL-A"] < register_plan.reopening_day["STL-A"]


def test_short_progress_keeps_the_register_and_says_so(world: World):
    _district(world, reported_days=4)                     # 3.4 working days
    plan, inputs = district_plan(world.repo, time_limit=1, start_date=date(2026, 2, 1))
    (choice,) = inputs.productivity
    assert not choice.learned and choice.rate_m2_day == REGISTER
    assert any("reported progress not used" in w and "working days reported" in w
               for w in plan.warnings)
    for area, days in _durations(plan):
        assert days >= math.ceil(area / REGISTER * 7 / 6 - 1e-9)


# --- the forecast's spread -------------------------------------------------------------

#: Actual / planned rate of ten reported activities (one week each, 6 working days).
RELATIVE = (0.55, 0.7, 0.8, 0.85, 0.9, 1.0, 1.05, 1.2, 0.75, 0.95)


def _week_records(team: str, relative: tuple[float, ...], rate: float) -> list[ProgressRecord]:
    return [rec(team, f"{team}-A{k}", D0 + timedelta(days=7 * k), 7, 6 * rate * r)
            for k, r in enumerate(relative)]


def test_spread_is_fitted_per_type_on_activities_over_their_planned_rate():
    # two teams planned at different rates: the fit sees only how each strays from its own
    records = _week_records("MT1", RELATIVE[:5], 300.0) + _week_records("MT2", RELATIVE[5:], 120.0)
    choices = choose_rates({"MT1": (300.0, "register"), "MT2": (120.0, "register"),
                            "DOG1": (850.0, "register")}, [])
    fitted = spread_from_progress(records, choices.values(),
                                  {"MT1": "manual_team", "MT2": "manual_team",
                                   "DOG1": "mdd_team"})
    logs = np.log(RELATIVE)
    manual = fitted["manual_team"]
    assert manual.source == "fitted" and "10 reported manual_team activities" in manual.note
    assert manual.median == pytest.approx(math.exp(logs.mean()))
    assert manual.sigma == pytest.approx(logs.std(ddof=1))
    # no dog activity on record: the named default, and the note says why
    dogs = fitted["mdd_team"]
    assert dogs.source == "default" and dogs.sigma == 0.25 and "0 observations" in dogs.note


def test_too_few_activities_or_a_reporting_slip_keep_the_default():
    records = _week_records("MT1", RELATIVE[:7], 300.0)
    choices = choose_rates({"MT1": (300.0, "register")}, records)
    assert choices["MT1"].learned                           # 42 working days: learned
    few = spread_from_progress(records, choices.values(), {"MT1": "manual_team"})
    assert few["manual_team"].source == "default" and "7 observations < 8" in \
        few["manual_team"].note
    # the same activities under a team whose learned rate is a slip (10x its register)
    slip = _week_records("MT9", tuple(10 * r for r in RELATIVE), 300.0)
    both = records + _week_records("MT2", RELATIVE[7:], 300.0) + slip
    choices = choose_rates({"MT1": (300.0, "register"), "MT2": (300.0, "register"),
                            "MT9": (300.0, "register")}, both)
    assert not choices["MT9"].learned
    fitted = spread_from_progress(both, choices.values(), {"MT1": "manual_team",
                                                           "MT2": "manual_team",
                                                           "MT9": "manual_team"})
    manual = fitted["manual_team"]
    assert manual.source == "fitted" and "10 reported" in manual.note   # MT9's 10 left out
