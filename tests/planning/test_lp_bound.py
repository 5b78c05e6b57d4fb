"""The time-indexed LP bound: never above a brute-forced optimum, stronger than the fluid
bound where items are long, and the same answer from its child process as in-line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from test_schedule import MDD, MT, brute_force, small_district

from demine.domain.vocab import AssetType as T
from demine.planning import schedule
from demine.planning.assets import Asset
from demine.planning.group_order import list_schedule, repair_deadlines, search_order
from demine.planning.lp_bound import (
    BackgroundBound,
    Pools,
    bucket_edges,
    buckets_for,
    eligibility_pools,
    time_indexed_relaxation,
)
from demine.planning.problem import Problem, evaluate
from demine.planning.schedule import Settlement, Site, build_model, fluid_bound, plan_district


def _pools(pb: Problem) -> Pools:
    return Pools(np.ones(pb.n_assets), eligibility_pools(pb, ()))


@pytest.mark.parametrize("seed", range(8))
def test_never_above_the_brute_forced_optimum_of_an_engine_problem(seed):
    """Groups, precedence, downtime, release dates and deadlines, 5 items on 2 assets."""
    rng = np.random.default_rng(seed)
    n, m = 5, 2
    proc = rng.integers(1, 12, (n, m)).astype(float)
    proc[rng.random((n, m)) < 0.25] = np.inf
    proc[np.isinf(proc).all(axis=1), 0] = 6
    pb = Problem.build(
        proc, groups=[(0, 1), (2, 3, 4), (1, 4)], group_weight=rng.integers(1, 40, 3),
        precedence=[(0, 2)], release=rng.integers(0, 4, n), available=[0, 2],
        downtime=[[(5, 8)], []], due=rng.integers(5, 20, n), weight=rng.integers(0, 3, n),
        completion_weight=rng.integers(0, 2, n))
    opt = brute_force(pb)
    solved = time_indexed_relaxation(pb, _pools(pb), horizon=30, buckets=12)
    assert solved is not None and solved.bound <= opt + 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_never_above_the_optimum_of_a_small_district(seed):
    """The districts test_schedule brute-forces: machines, verification, AT land."""
    sites, sett, assets = small_district(seed)
    model = build_model(sites, sett, assets)
    opt = brute_force(model.problem)
    plan = plan_district(sites, sett, assets, time_limit=20)
    assert "lp_bound" in plan.stats
    assert plan.stats["lp_bound"] <= opt + model.constant + 1e-6


def _long_items_district() -> tuple[list[Site], list[Settlement], list[Asset]]:
    """A big village closed by one woodland hazard among many small ones: one team works
    it for two weeks or more whatever the others do, which a pooled fleet cannot see."""
    sites = [Site("HA-BIG", 5_500, x=1_000.0, terrain="woodland"), *(
        Site(f"HA-{k}", 600, x=1_000.0 * k, priority=0.5) for k in range(12))]
    sett = [Settlement("BIG", 5_000, ("HA-BIG", "HA-0")),
            *(Settlement(f"S{k}", 40, (f"HA-{k}",)) for k in range(1, 12))]
    assets = [MT, Asset("MT-2", T.MANUAL_TEAM, productivity_m2_day=300), MDD]
    return sites, sett, assets


def test_stronger_than_the_fluid_bound_where_one_item_is_long():
    sites, sett, assets = _long_items_district()
    model = build_model(sites, sett, assets)
    plan = plan_district(sites, sett, assets, time_limit=10, use_cpsat=False)
    # measured: fluid 72,008, LP 85,471, best plan 86,480 people-days
    assert plan.stats["lp_bound"] > 1.15 * (fluid_bound(model) + model.constant)
    assert plan.lower_bound >= plan.stats["lp_bound"] - 1e-6
    assert plan.lower_bound <= plan.objective + 1e-6


def test_the_child_process_gives_the_in_line_answer_and_is_stopped_when_late():
    model = build_model(*_long_items_district())
    pb = model.problem
    pools = _pools(pb)
    inline = time_indexed_relaxation(pb, pools, horizon=120, buckets=20, time_limit=30).bound
    child = BackgroundBound(pb, pools, horizon=120, buckets=20, time_limit=30)
    assert child.result(timeout=60).bound == pytest.approx(inline)
    assert not child.alive
    late = BackgroundBound(pb, pools, horizon=120, time_limit=30)
    assert late.result(timeout=0.0) is None  # asked before it could answer
    assert not late.alive
    forgotten = BackgroundBound(pb, pools, horizon=120, time_limit=30)
    process = forgotten._process
    del forgotten  # a plan that failed before asking: the child is stopped at once
    assert process.poll() is not None  # (it needs a second or more just to start)


def test_a_large_plan_takes_its_bound_from_the_child(monkeypatch):
    sites, sett, assets = _long_items_district()
    monkeypatch.setattr(schedule, "LP_INLINE_JOBS", 0)  # as a national plan would
    plan = plan_district(sites, sett, assets, time_limit=10, use_cpsat=False)
    monkeypatch.setattr(schedule, "LP_INLINE_JOBS", 10**6)
    inline = plan_district(sites, sett, assets, time_limit=10, use_cpsat=False)
    assert plan.stats["lp_bound"] == pytest.approx(inline.stats["lp_bound"])


def test_the_buckets_fit_the_time_a_plan_has():
    assert buckets_for(1_592, 60) == 64  # the bench district: 21 s of 60
    assert buckets_for(1_592, 20) == 30
    assert buckets_for(30, 1) == 64 and buckets_for(100_000, 10) == 16


def test_buckets_start_at_one_day_and_reach_past_the_horizon():
    edges = bucket_edges(618, 64)
    assert len(edges) == 65 and edges[0] == 0 and edges[-1] >= 618
    lengths = np.diff(edges)
    assert lengths[0] == 1 and (np.diff(lengths) >= 0).all() and lengths[-1] > 5


def test_the_lp_orders_the_settlements_and_the_search_starts_from_the_better_order():
    sites, sett, assets = _long_items_district()
    model = build_model(sites, sett, assets)
    pb = model.problem
    solved = time_indexed_relaxation(pb, _pools(pb), horizon=120, buckets=20)
    assert solved is not None and len(solved.group_completion) == len(pb.groups)
    # the big village's hazard is long: in the LP, as in any plan, it reopens late
    big = model.group_names.index("BIG")
    assert solved.group_completion[big] >= 14
    plan = plan_district(sites, sett, assets, time_limit=10, use_cpsat=False)
    assert "lp_order_objective" in plan.stats
    assert plan.objective <= plan.stats["lp_order_objective"] + 1e-6
    assert plan.objective <= plan.stats["group_order_objective"] + 1e-6


def test_the_order_search_starts_where_told_and_stops_when_asked():
    model = build_model(*_long_items_district())
    pb = model.problem
    backwards = list(range(len(pb.groups)))[::-1]
    order, _seqs, obj = repair_deadlines(pb, backwards)
    _got_seqs, got_obj, got_order = search_order(pb, initial=backwards, stop=lambda: True)
    assert (got_order, got_obj) == (order, pytest.approx(obj))  # not one move
    assert evaluate(pb, list_schedule(pb, got_order)).objective == pytest.approx(got_obj)
    _, searched, _ = search_order(pb, initial=backwards, max_moves=300)
    assert searched <= obj + 1e-9


UNGUARDED_SCRIPT = """
from demine.domain.vocab import AssetType as T
from demine.planning import schedule
from demine.planning.assets import Asset
from demine.planning.schedule import Settlement, Site

with open({mark!r}, "a") as handle:  # top-level work, no __main__ guard
    handle.write("ran\\n")
schedule.LP_INLINE_JOBS = 0  # as a national plan: the LP in a child process
sites = [Site("HA-BIG", 5_500, x=1_000.0, terrain="woodland"),
         *(Site(f"HA-{{k}}", 600, x=1_000.0 * k) for k in range(12))]
sett = [Settlement("BIG", 5_000, ("HA-BIG", "HA-0"))]
assets = [Asset("MT-1", T.MANUAL_TEAM, productivity_m2_day=300),
          Asset("MDD-1", T.MDD_TEAM, productivity_m2_day=850)]
plan = schedule.plan_district(sites, sett, assets, time_limit=10, use_cpsat=False)
print("lp_bound", plan.stats["lp_bound"])
"""


def test_a_calling_script_without_a_main_guard_runs_once(tmp_path):
    """The child is a fresh interpreter on lp_child, not a re-run of the caller's script
    (multiprocessing's spawn would run its top level again: here, a write)."""
    mark = tmp_path / "ran.txt"
    script = tmp_path / "plan_it.py"
    script.write_text(UNGUARDED_SCRIPT.format(mark=str(mark)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert mark.read_text() == "ran\n"
    bound = float(done.stdout.split("lp_bound")[1])
    assert np.isfinite(bound) and bound > 0
