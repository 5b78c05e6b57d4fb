"""Monte Carlo forecast: exactness without noise, distributions against theory, invariants."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import stats

from demine.domain.errors import ValidationError
from demine.planning.forecast import (
    AssetPlan,
    PlanInput,
    SettlementTarget,
    WorkItem,
    forecast,
    from_schedule,
    reopening,
    simulate,
)
from demine.planning.problem import Problem
from demine.planning.sequencing import schedule_of
from demine.planning.uncertainty import Lognormal, Uncertainty, fit_productivity

# --- helpers -------------------------------------------------------------------------


def one_item(days: float, *, sigma: float = 0.0, q: float = 0.0) -> tuple[PlanInput, Uncertainty]:
    plan = PlanInput((WorkItem("X", days),), (AssetPlan("A", "manual_team", ("X",)),),
                     (SettlementTarget("S", 10, ("X",)),))
    unc = Uncertainty(productivity={"A": Lognormal(1.0, sigma)}, standdown={"A": q})
    return plan, unc


def random_plan(seed: int, n_items: int = 30, n_assets: int = 5, n_settlements: int = 8,
                start: date | None = None) -> PlanInput:
    """Items in a global order; precedence only forward in that order, so no deadlock."""
    rng = np.random.default_rng(seed)
    types = ["manual_team", "mdd_team", "mechanical", "robotic_platform", "drone_survey"]
    items = tuple(WorkItem(f"I{j}", float(rng.uniform(0, 15)), float(rng.uniform(0, 20)),
                           float(rng.choice([0.0, 0.5, 1.0]))) for j in range(n_items))
    owner = rng.integers(n_assets, size=n_items)
    assets = tuple(AssetPlan(f"A{a}", types[a % len(types)],
                             tuple(f"I{j}" for j in range(n_items) if owner[j] == a),
                             float(rng.uniform(0, 3)))
                   for a in range(n_assets))
    prec = tuple({(f"I{i}", f"I{j}") for i, j in
                  (sorted(rng.choice(n_items, 2, replace=False)) for _ in range(n_items // 2))})
    sett = tuple(SettlementTarget(f"S{s}", int(rng.integers(0, 1000)),
                                  tuple(f"I{j}" for j in rng.choice(n_items, 3, replace=False)))
                 for s in range(n_settlements))
    return PlanInput(items, assets, sett, prec, start)


# --- exactness without noise ---------------------------------------------------------


def test_zero_uncertainty_reproduces_the_evaluator_exactly() -> None:
    rng = np.random.default_rng(3)
    n, m = 25, 4
    proc = rng.uniform(1, 20, (n, m)).round(2)
    setup = rng.uniform(0, 2, (m, n, n)).round(2)
    prec = [(i, j) for i, j in (sorted(rng.choice(n, 2, replace=False)) for _ in range(10))]
    pb = Problem.build(proc, release=rng.uniform(0, 30, n), available=rng.uniform(0, 5, m),
                       precedence=prec, setup=setup)
    owner = rng.integers(m, size=n)
    seqs = tuple(tuple(j for j in range(n) if owner[j] == a) for a in range(m))
    sched = schedule_of(pb, seqs)
    plan = from_schedule(pb, sched, asset_types=["manual_team"] * m,
                         settlements={"S1": (100, [pb.jobs[0], pb.jobs[7]]),
                                      "S2": (50, [pb.jobs[n - 1]])})
    runs = simulate(plan, Uncertainty.none(), runs=4, seed=1)
    for r in range(4):
        assert np.array_equal(runs.finish[r], sched.finish)
        assert np.array_equal(runs.start[r], sched.start)
    fc = forecast(plan, Uncertainty.none(), runs=4)
    s1 = fc.settlement("S1")
    assert s1.p10 == s1.p50 == s1.p90 == max(sched.finish[0], sched.finish[7])
    assert fc.finish_p50 == fc.finish_p90 == sched.finish.max()


def test_dates_and_probabilities_without_noise() -> None:
    plan = PlanInput((WorkItem("X", 30.5), WorkItem("Y", 10.0)),
                     (AssetPlan("A", "manual_team", ("X", "Y")),),
                     (SettlementTarget("S", 5, ("X",)), SettlementTarget("T", 7, ("Y",))),
                     start=date(2025, 1, 1))
    fc = forecast(plan, Uncertainty.none(), runs=2)
    s, t = fc.settlements
    assert s.p50 == 30.5 and s.date_p50 == date(2025, 2, 1)  # open from day 31
    assert t.p50 == 40.5 and t.date_p90 == date(2025, 2, 11)
    assert s.prob_by == {30: 0.0, 60: 1.0, 90: 1.0, 120: 1.0}
    assert t.prob_by[30] == 0.0 and t.prob_by[60] == 1.0
    c = fc.curve
    assert c.open_p50[30] == 0 and c.open_p50[31] == 1 and c.open_p50[41] == 2
    assert c.population_p50[31] == 5 and c.population_p50[-1] == 12


# --- distributions -------------------------------------------------------------------


def test_lognormal_multiplier_quantiles_match_scipy() -> None:
    plan, unc = one_item(10.0, sigma=0.4)
    runs = simulate(plan, unc, runs=200_000, seed=5)
    d = runs.finish[:, 0]
    ref = stats.lognorm(s=0.4, scale=10.0)
    for p in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert np.quantile(d, p) == pytest.approx(ref.ppf(p), rel=0.01)


def test_median_of_a_fitted_multiplier_shifts_durations() -> None:
    plan = PlanInput((WorkItem("X", 10.0),), (AssetPlan("A", "manual_team", ("X",)),), ())
    unc = Uncertainty(productivity={"manual_team": Lognormal(0.5, 0.2)}, standdown={"A": 0.0})
    d = simulate(plan, unc, runs=100_000, seed=2).finish[:, 0]
    assert np.median(d) == pytest.approx(20.0, rel=0.01)  # half the rate: twice the days


@pytest.mark.parametrize(("w", "q"), [(20.0, 0.2), (7.5, 0.1), (1.0, 0.5)])
def test_standdown_mean_is_w_over_one_minus_q(w: float, q: float) -> None:
    plan, unc = one_item(w, q=q)
    d = simulate(plan, unc, runs=200_000, seed=11).finish[:, 0]
    sd = np.sqrt(w * q) / (1 - q)  # NegBin(W, 1-q) standard deviation
    assert d.mean() == pytest.approx(w / (1 - q), abs=5 * sd / np.sqrt(d.size))
    assert (d >= w).all() and np.allclose(d - w, np.round(d - w))  # whole lost days


def test_standdown_distribution_is_negative_binomial() -> None:
    w, q = 10.0, 0.15
    plan, unc = one_item(w, q=q)
    lost = simulate(plan, unc, runs=100_000, seed=4).finish[:, 0] - w
    assert np.mean(lost == 0) == pytest.approx((1 - q) ** 10, abs=0.01)
    ref = stats.nbinom(10, 1 - q)
    for k in (1, 2, 3):
        assert np.mean(lost == k) == pytest.approx(ref.pmf(k), abs=0.01)


def test_asset_correlation_one_gives_one_multiplier_per_asset_and_run() -> None:
    plan = PlanInput((WorkItem("X", 10.0), WorkItem("Y", 4.0)),
                     (AssetPlan("A", "manual_team", ("X", "Y")),), ())
    unc = Uncertainty(productivity={"A": Lognormal(1.0, 0.5)}, standdown={"A": 0.0},
                      asset_correlation=1.0)
    r = simulate(plan, unc, runs=1000, seed=0)
    dur = r.finish - r.start
    assert np.allclose(dur[:, 0] / dur[:, 1], 2.5)
    indep = Uncertainty(productivity={"A": Lognormal(1.0, 0.5)}, standdown={"A": 0.0},
                        asset_correlation=0.0)
    r0 = simulate(plan, indep, runs=1000, seed=0)
    assert not np.allclose((r0.finish - r0.start)[:, 0] / (r0.finish - r0.start)[:, 1], 2.5)


def test_fit_productivity_fits_or_falls_back() -> None:
    rng = np.random.default_rng(0)
    rates = 30.0 * rng.lognormal(0.0, 0.3, 5000)
    fit = fit_productivity(rates, nominal_rate=60.0)
    assert fit.source == "fitted"
    assert fit.sigma == pytest.approx(0.3, rel=0.05)
    assert fit.median == pytest.approx(0.5, rel=0.05)
    assert fit_productivity(rates).median == 1.0
    few = fit_productivity([25.0, 31.0, 40.0], asset_type="mdd_team")
    assert few.source == "default" and few.sigma == 0.25 and "3 observations" in few.note
    with pytest.raises(ValidationError):
        fit_productivity([10.0, -1.0])


# --- invariants on random plans ------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sequence_precedence_and_release_hold_in_every_run(seed: int) -> None:
    plan = random_plan(seed)
    r = simulate(plan, Uncertainty(), runs=500, seed=seed)
    col = {name: k for k, name in enumerate(r.ids)}
    item = {it.id: it for it in plan.items}
    tol = 1e-9
    for ap in plan.assets:
        prev_end = np.full(500, ap.available)
        for name in ap.items:
            j = col[name]
            assert (r.start[:, j] >= prev_end + item[name].travel - tol).all()
            assert (r.start[:, j] >= item[name].release - tol).all()
            assert (r.finish[:, j] >= r.start[:, j]).all()
            prev_end = r.finish[:, j]
    for before, after in plan.precedence:
        assert (r.start[:, col[after]] >= r.finish[:, col[before]] - tol).all()
    reopen = reopening(plan, r)
    for s, st in enumerate(plan.settlements):
        assert np.array_equal(reopen[:, s], r.finish[:, [col[n] for n in st.items]].max(axis=1))


@pytest.mark.parametrize("seed", [0, 1])
def test_quantiles_ordered_and_curve_monotone(seed: int) -> None:
    fc = forecast(random_plan(seed), runs=2000, seed=seed)
    for s in fc.settlements:
        assert s.p10 <= s.p50 <= s.p90
        probs = [s.prob_by[d] for d in (30, 60, 90, 120)]
        assert probs == sorted(probs)
    assert fc.finish_p10 <= fc.finish_p50 <= fc.finish_p90
    c = fc.curve
    for a, b, cc in [(c.open_p10, c.open_p50, c.open_p90),
                     (c.population_p10, c.population_p50, c.population_p90)]:
        assert (a <= b).all() and (b <= cc).all()
        assert (np.diff(b) >= 0).all()
    assert c.open_p50[-1] == len(fc.settlements)
    assert fc.reopen.shape == (2000, len(fc.settlements))


def test_reproducible_with_a_seed_and_different_with_another() -> None:
    plan = random_plan(5)
    a = forecast(plan, runs=300, seed=42)
    b = forecast(plan, runs=300, seed=42)
    c = forecast(plan, runs=300, seed=43)
    assert np.array_equal(a.reopen, b.reopen)
    assert a.settlements == b.settlements
    assert not np.array_equal(a.reopen, c.reopen)


# --- validation ----------------------------------------------------------------------


def _plan(**kw: object) -> PlanInput:
    base: dict[str, object] = {
        "items": (WorkItem("X", 5.0), WorkItem("Y", 3.0)),
        "assets": (AssetPlan("A", "manual_team", ("X",)), AssetPlan("B", "mdd_team", ("Y",))),
        "settlements": (SettlementTarget("S", 10, ("X", "Y")),),
    }
    base.update(kw)
    return PlanInput(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("plan", "record", "field"), [
    (_plan(items=(WorkItem("X", -1.0), WorkItem("Y", 3.0))), "X", "days"),
    (_plan(items=(WorkItem("X", float("nan")), WorkItem("Y", 3.0))), "X", "days"),
    (_plan(items=(WorkItem("X", 1.0, release=-2), WorkItem("Y", 3.0))), "X", "release"),
    (_plan(items=(WorkItem("X", 1.0), WorkItem("X", 3.0))), "X", "id"),
    (_plan(settlements=(SettlementTarget("S", 10, ("X", "Z")),)), "S", "items"),
    (_plan(settlements=(SettlementTarget("S", 10, ()),)), "S", "items"),
    (_plan(settlements=(SettlementTarget("S", -1, ("X",)),)), "S", "population"),
    (_plan(assets=(AssetPlan("A", "manual_team", ("X", "Q")),)), "A", "items"),
    (_plan(assets=(AssetPlan("A", "manual_team", ("X",)),)), "Y", "asset"),
    (_plan(assets=(AssetPlan("A", "manual_team", ("X", "Y")),
                   AssetPlan("B", "mdd_team", ("Y",)))), "Y", "asset"),
    (_plan(precedence=(("X", "Y"), ("Y", "X"))), "precedence", "order"),
    (_plan(precedence=(("X", "Nope"),)), "precedence", "X->Nope"),
    # asset order X then Y, but Y must precede X: a deadlock, not a timing
    (_plan(assets=(AssetPlan("A", "manual_team", ("X", "Y")),), precedence=(("Y", "X"),)),
     "precedence", "order"),
])
def test_bad_plans_name_record_and_field(plan: PlanInput, record: str, field: str) -> None:
    with pytest.raises(ValidationError) as e:
        forecast(plan, runs=10)
    assert (e.value.record, e.value.field) == (record, field)


@pytest.mark.parametrize("q", [1.0, -0.1, 1.5, float("nan")])
def test_standdown_probability_outside_unit_interval(q: float) -> None:
    with pytest.raises(ValidationError):
        Uncertainty(standdown={"A": q})
    with pytest.raises(ValidationError):
        Uncertainty(default_standdown={"manual_team": q})


def test_other_bad_parameters() -> None:
    with pytest.raises(ValidationError):
        Lognormal(1.0, -0.1)
    with pytest.raises(ValidationError):
        Lognormal(0.0, 0.1)
    with pytest.raises(ValidationError):
        Uncertainty(asset_correlation=1.2)
    with pytest.raises(ValidationError):
        forecast(_plan(), runs=0)
    with pytest.raises(ValidationError):
        WorkItem.from_area("X", 100.0, 0.0)
