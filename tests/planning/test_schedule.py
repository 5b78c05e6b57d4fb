"""District scheduling: the rules of the model, its infeasibility reports, and brute force."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pytest

from demine.domain.errors import ValidationError
from demine.domain.vocab import AssetType as T
from demine.domain.vocab import EOCategory
from demine.planning.assets import Asset, Rules
from demine.planning.cpsat_model import solve_cpsat
from demine.planning.dispatch import atc_best
from demine.planning.group_order import list_schedule, repair_deadlines, search_order, smith_order
from demine.planning.local_search import ils
from demine.planning.priority import HazardFacts
from demine.planning.problem import Problem, evaluate
from demine.planning.schedule import (
    Plan,
    Settlement,
    Site,
    build_model,
    fluid_bound,
    plan_district,
    sites_from_facts,
)
from demine.planning.sequencing import solve

MT = Asset("MT-1", T.MANUAL_TEAM, productivity_m2_day=300)
MDD = Asset("MDD-1", T.MDD_TEAM, productivity_m2_day=850)
FLAIL = Asset("FL-1", T.MECHANICAL, productivity_m2_day=4_500)
ROBOT = Asset("RB-1", T.ROBOTIC_PLATFORM, productivity_m2_day=4_500)


def items(plan: Plan):
    return [(a, it) for a, its in plan.assets.items() for it in its]


def brute_force(pb: Problem) -> float:
    """Best objective over every assignment and order (left-shifted)."""
    n, m = pb.n_jobs, pb.n_assets
    best = np.inf
    for perm in itertools.permutations([*range(n), *(-1 - k for k in range(m - 1))]):
        seqs, cur = [], []
        for x in perm:
            if x < 0:
                seqs.append(tuple(cur))
                cur = []
            else:
                cur.append(x)
        seqs.append(tuple(cur))
        t = evaluate(pb, seqs)
        if t.feasible:
            best = min(best, t.objective)
    return best


# --- the engine's group terms and downtime ------------------------------------------


def test_group_terms_are_the_max_of_members():
    pb = Problem.build([[2], [3], [4]], groups=[(0, 1), (2,)], group_weight=[10, 1])
    t = evaluate(pb, [(0, 1, 2)])
    assert t.objective == 10 * 5 + 1 * 9
    t = evaluate(pb, [(2, 0, 1)])
    assert t.objective == 10 * 9 + 1 * 4


def test_downtime_is_never_straddled():
    pb = Problem.build([[3], [2]], completion_weight=[1, 1], downtime=[[(2, 5)]])
    t = evaluate(pb, [(0, 1)])
    assert (t.start[0], t.finish[0]) == (5, 8)
    t = evaluate(pb, [(1, 0)])
    assert (t.start[1], t.finish[1], t.start[0]) == (0, 2, 5)


@pytest.mark.parametrize("seed", range(6))
def test_engine_with_groups_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m = 5, 2
    proc = rng.integers(1, 8, (n, m)).astype(float)
    proc[rng.random((n, m)) < 0.2] = np.inf
    proc[np.isinf(proc).all(axis=1), 0] = 3
    groups = [tuple(sorted(rng.choice(n, int(rng.integers(1, 4)), replace=False)))
              for _ in range(3)]
    pb = Problem.build(proc, groups=groups, group_weight=rng.integers(1, 20, 3),
                       completion_weight=rng.integers(0, 3, n), precedence=[(0, 1)],
                       downtime=[[(4, 6)], []])
    opt = brute_force(pb)
    seqs, obj = atc_best(pb)
    assert obj >= opt - 1e-9
    res = ils(pb, seqs, seed=seed, stagnation=50)
    assert res.objective >= opt - 1e-9
    cp = solve_cpsat(pb, (res.sequences, evaluate(pb, res.sequences)), time_limit=10)
    assert cp.optimal
    assert evaluate(pb, cp.sequences).objective == pytest.approx(opt)
    assert cp.bound <= opt + 1e-9
    sched = solve(pb, time_limit=10, seed=seed, stagnation=50)
    assert sched.proven_optimal and sched.objective == pytest.approx(opt)


# --- the district model's rules -----------------------------------------------------


def test_machine_preparation_precedes_verification_and_qc_follows():
    sites = [Site("HA-1", 9_000, at=True), Site("HA-2", 2_000, terrain="scrub")]
    plan = plan_district(sites, [Settlement("S", 100, ("HA-1", "HA-2"))],
                         [MT, Asset("MT-2", T.MANUAL_TEAM, productivity_m2_day=300), FLAIL],
                         time_limit=5)
    by_hazard: dict[str, list] = {}
    for a, it in items(plan):
        by_hazard.setdefault(it.hazard, []).append((a, it))
    for code, its in by_hazard.items():
        preps = [it for a, it in its if it.kind == "preparation"]
        clears = [it for a, it in its if it.kind == "clearance"]
        assert len(preps) == 1 and all(a == "FL-1" for a, it in its if it.kind == "preparation")
        assert all(c.start_day >= preps[0].finish_day for c in clears)
        assert plan.hazard_release_day[code] == max(c.finish_day for c in clears) + 2
    names = sorted(it.item for _, it in items(plan) if it.hazard == "HA-1")
    assert names == ["HA-1/chunk 1/2", "HA-1/chunk 2/2", "HA-1/preparation"]


def test_eligibility_woodland_slope_at():
    sites = [Site("HA-W", 3_000, terrain="woodland"), Site("HA-S", 3_000, slope=True,
                                                            terrain="scrub"),
             Site("HA-A", 3_000, at=True, slope=True)]
    plan = plan_district(sites, [], [MT, MDD, FLAIL, ROBOT],
                         Rules(machine_only_release=True), time_limit=5)
    for a, it in items(plan):
        if it.hazard == "HA-W":
            assert a != "FL-1"  # flails do not work woodland
        if it.hazard in ("HA-S", "HA-A"):
            assert a in ("MT-1", "MDD-1")  # no machines on slopes
        if it.hazard == "HA-A":
            assert a != "MDD-1"  # AT land: not MDD under the default rules
    assert any("HA-S" in w and "slopes" in w for w in plan.warnings)


def test_calendars_unavailable_periods_and_start_days():
    mt = Asset("MT-1", T.MANUAL_TEAM, productivity_m2_day=300, available_from=3,
               unavailable=((10, 19),), working_days_per_week=7)
    sites = [Site(f"HA-{k}", 1_800, priority=1.0) for k in range(4)]
    plan = plan_district(sites, [], [mt], Rules(qc_lag_days=0), time_limit=5,
                         start_date=date(2026, 3, 1))
    for _, it in items(plan):
        assert it.start_day >= 3
        assert it.finish_day <= 10 or it.start_day >= 20
        assert it.finish_day - it.start_day == 6  # 1,800 m² at 300 m²/day, 7-day week
        assert it.start_date == date(2026, 3, 1) + timedelta(days=it.start_day)
    slower = Asset("MT-1", T.MANUAL_TEAM, productivity_m2_day=300, working_days_per_week=5)
    assert slower.calendar_days(1_800, "open", "low") == 9  # 6 working days in 5-day weeks


def test_unworkable_hazard_is_reported_not_dropped():
    with pytest.raises(ValidationError) as err:
        build_model([Site("HA-000012", 1_000, at=True), Site("HA-2", 500)], [], [MDD])
    msg = str(err.value)
    assert "HA-000012: AT contamination" in msg and "manual team" in msg
    assert "HA-2" not in msg
    with pytest.raises(ValidationError, match=r"HA-9: .*ground preparation.*none available"):
        build_model([Site("HA-9", 1_000, terrain="scrub")], [], [MT])


def test_impossible_deadline_is_reported_and_lateness_shown():
    plan = plan_district([Site("HA-1", 6_000, deadline=5, priority=1.0)], [], [MT],
                         time_limit=2)
    assert plan.deadline_issues and "HA-1: deadline day 5 cannot be met" in \
        plan.deadline_issues[0]
    assert plan.late["HA-1"] == plan.hazard_release_day["HA-1"] - 5 > 0


def test_default_productivity_is_announced():
    plan = plan_district([Site("HA-1", 1_000, priority=1.0)], [],
                         [Asset("MT-9", T.MANUAL_TEAM)], time_limit=2)
    assert any("productivity defaults used for MT-9" in w for w in plan.warnings)
    plan = plan_district([Site("HA-1", 1_000, priority=1.0)], [], [MT], time_limit=2)
    assert not any("productivity" in w for w in plan.warnings)


def test_reopening_day_is_the_last_blocker_release():
    sites = [Site("HA-1", 600), Site("HA-2", 3_000), Site("HA-3", 900)]
    sett = [Settlement("A", 1_000, ("HA-1", "HA-2")), Settlement("B", 10, ("HA-3",)),
            Settlement("C", 50, ("HA-2", "HA-3"))]
    plan = plan_district(sites, sett, [MT, Asset("MT-2", T.MANUAL_TEAM,
                                                 productivity_m2_day=300)], time_limit=5)
    rel = plan.hazard_release_day
    assert plan.reopening_day == {"A": max(rel["HA-1"], rel["HA-2"]), "B": rel["HA-3"],
                                  "C": max(rel["HA-2"], rel["HA-3"])}
    assert plan.population_days == 1_000 * plan.reopening_day["A"] + 10 * \
        plan.reopening_day["B"] + 50 * plan.reopening_day["C"]


def small_district(seed: int) -> tuple[list[Site], list[Settlement], list[Asset]]:
    """Three hazards, two settlements, a manual team, a flail and an MDD team with a
    break: small enough to brute-force (4-6 items for seeds 0-4)."""
    rng = np.random.default_rng(seed)
    sites = [Site(f"HA-{k}", float(rng.integers(500, 3_000)), x=float(rng.uniform(0, 1e5)),
                  terrain=str(rng.choice(["open", "scrub"])), at=bool(rng.random() < 0.3))
             for k in range(3)]
    sett = [Settlement("A", int(rng.integers(10, 500)), ("HA-0", "HA-1")),
            Settlement("B", int(rng.integers(10, 500)), ("HA-2",))]
    assets = [MT, FLAIL, Asset("MDD-2", T.MDD_TEAM, productivity_m2_day=850,
                               unavailable=((2, 4),))]
    return sites, sett, assets


@pytest.mark.parametrize("seed", range(5))
def test_small_district_optimum_matches_brute_force(seed):
    sites, sett, assets = small_district(seed)
    model = build_model(sites, sett, assets)
    # these seeds give 4-6 items; brute force beyond that would take too long
    assert model.problem.n_jobs <= 6
    opt = brute_force(model.problem) + model.constant
    plan = plan_district(sites, sett, assets, time_limit=20)
    assert plan.proven_optimal
    assert plan.objective == pytest.approx(opt)
    assert plan.lower_bound <= opt + 1e-6
    assert fluid_bound(model) + model.constant <= opt + 1e-6
    assert plan.population_days == sum(s.population * plan.reopening_day[s.code] for s in sett)


def test_same_seed_same_plan():
    rng = np.random.default_rng(7)
    sites = [Site(f"HA-{k}", float(rng.integers(500, 9_000)), x=float(rng.uniform(0, 5e4)),
                  at=bool(k % 3 == 0), priority=0.5) for k in range(12)]
    sett = [Settlement("A", 300, ("HA-0", "HA-4")), Settlement("B", 80, ("HA-5",))]
    assets = [MT, MDD, FLAIL, Asset("MT-2", T.MANUAL_TEAM, productivity_m2_day=250)]
    a = plan_district(sites, sett, assets, use_cpsat=False, seed=3, time_limit=60,
                         stagnation=20)
    b = plan_district(sites, sett, assets, use_cpsat=False, seed=3, time_limit=60,
                         stagnation=20)
    assert a.assets == b.assets and a.objective == b.objective
    assert a.objective <= a.heuristic_objective
    assert not a.proven_optimal or a.lower_bound >= a.objective - 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_group_order_schedules_are_feasible_and_search_never_worsens(seed):
    rng = np.random.default_rng(seed)
    n, m = 12, 3
    proc = rng.integers(1, 9, (n, m)).astype(float)
    proc[rng.random((n, m)) < 0.3] = np.inf
    proc[np.isinf(proc).all(axis=1), 1] = 4
    groups = [tuple(sorted(rng.choice(n, int(rng.integers(1, 5)), replace=False)))
              for _ in range(5)]
    pb = Problem.build(proc, groups=groups, group_weight=rng.integers(1, 50, 5),
                       precedence=[(0, 3), (1, 3), (2, 5)], downtime=[[(3, 7)], [], [(0, 2)]],
                       due=[10] * n, weight=[1] * n)
    first = evaluate(pb, list_schedule(pb, smith_order(pb)))
    assert first.feasible
    _, _, fixed = repair_deadlines(pb, smith_order(pb))
    assert fixed <= first.objective + 1e-9
    seqs, obj, order = search_order(pb, seed=seed, max_moves=100)
    assert sorted(order) == list(range(5))
    assert evaluate(pb, seqs).objective == pytest.approx(obj) and obj <= fixed + 1e-9
    assert obj >= brute_force_small_bound(pb)


def brute_force_small_bound(pb: Problem) -> float:
    """The trivial bound: each job alone on its fastest asset (brute force is too big here)."""
    return pb.trivial_lower_bound()


def test_sites_from_planner_facts():
    facts = [HazardFacts("HA-1", 2_000, population_share=120.0, settlements_closed=("S1",),
                         eo_categories=frozenset({EOCategory.AT_MINE})),
             HazardFacts("HA-2", 500, population_share=30.0, settlements_closed=("S1", "S2"))]
    sites, sett = sites_from_facts(facts, {"HA-1": {"x": 10.0, "terrain": "scrub"}},
                                   populations={"S2": 400})
    assert sites[0] == Site("HA-1", 2_000, x=10.0, terrain="scrub", at=True)
    assert not sites[1].at
    assert sett == [Settlement("S1", 150, ("HA-1", "HA-2")), Settlement("S2", 400, ("HA-2",))]
