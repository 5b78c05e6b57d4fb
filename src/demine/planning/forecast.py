"""Monte Carlo forecast of a plan: when does each settlement reopen, P50 and P90.

Why re-time rather than re-plan: the plan (who clears what, in which order) is what
the teams will do; what is uncertain is how long each piece takes and how many days
are lost. Each run keeps the asset sequences and precedence pairs and recomputes
times the way :func:`demine.planning.problem.evaluate` does (left-shifted:
start = max(asset free + travel, release, predecessors' finish)) with sampled
durations. With :meth:`Uncertainty.none` every run is exactly the plan's timing.

What that means for reading it: a plan balances its teams to finish a settlement's
hazards together, so a settlement worked by several teams reopens when the *slowest*
of them is done, and the P50 of a maximum lies above the plan even though each item's
P50 is the plan's duration. On the demo district (nine manual teams, a slow team
slow on all its items) the P50 reopening of the last settlement is about 60 % after
the planned day; productivity alone gives +38 % population-weighted, stand-down
+15 %. No team is re-tasked to help a lagging site here, which a centre that
re-plans weekly would do: the forecast is the plan's, not the best the district can
still manage, and runs late on purpose rather than by a bug.

Vectorised over runs: items are processed once, in one topological order of the
asset sequences and precedence pairs, each step a numpy operation on all runs, so
the cost is O(items × runs) with a small Python loop over items only.

Days are days since ``PlanInput.start`` (day 0 = the start date). A settlement
whose last blocking item finishes at day ``t`` is open from day ``ceil(t)``; its
calendar date is ``start + ceil(t)`` days. Randomness: one ``numpy`` Generator
seeded by ``seed``; the same input and seed give the same forecast.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from demine.domain.errors import ValidationError
from demine.planning.problem import Problem, Schedule
from demine.planning.uncertainty import (
    Lognormal,
    Uncertainty,
    sample_calendar_days,
    sample_working_days,
)

__all__ = [
    "AssetPlan",
    "DistrictCurve",
    "Forecast",
    "Lognormal",
    "PlanInput",
    "Runs",
    "SettlementForecast",
    "SettlementTarget",
    "Uncertainty",
    "WorkItem",
    "forecast",
    "from_schedule",
    "simulate",
]

DEFAULT_RUNS = 10_000
DEFAULT_BY_DAYS = (30, 60, 90, 120)


# --- input ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """A piece of work on one asset: ``days`` of net work at the planned productivity.

    ``release``: earliest start (day). ``travel``: deterministic days on the asset
    before the item starts (move/setup from the previous item), not subject to
    productivity nor stand-down.
    """

    id: str
    days: float
    release: float = 0.0
    travel: float = 0.0

    @classmethod
    def from_area(cls, id: str, area_m2: float, rate_m2_per_day: float, **kw: float) -> WorkItem:
        """Planned days from an area and the asset's nominal net rate."""
        if not (math.isfinite(rate_m2_per_day) and rate_m2_per_day > 0):
            raise ValidationError(id, "rate_m2_per_day", f"must be > 0, got {rate_m2_per_day}")
        return cls(id, area_m2 / rate_m2_per_day, **kw)


@dataclass(frozen=True)
class AssetPlan:
    """One asset (team or machine), its type and its items in the order it does them."""

    id: str
    type: str
    items: tuple[str, ...]
    available: float = 0.0


@dataclass(frozen=True)
class SettlementTarget:
    """A closed settlement; it reopens when the last of ``items`` finishes."""

    code: str
    population: int
    items: tuple[str, ...]


@dataclass(frozen=True)
class PlanInput:
    """What the forecast needs from a plan; ``precedence`` pairs are (before, after) ids."""

    items: tuple[WorkItem, ...]
    assets: tuple[AssetPlan, ...]
    settlements: tuple[SettlementTarget, ...]
    precedence: tuple[tuple[str, str], ...] = ()
    start: date | None = None


def from_schedule(
    problem: Problem,
    schedule: Schedule,
    *,
    asset_types: Sequence[str],
    settlements: Mapping[str, tuple[int, Sequence[str]]],
    start: date | None = None,
    days_per_unit: float = 1.0,
) -> PlanInput:
    """Convert the sequencing engine's answer into forecast input.

    ``asset_types`` gives one type per asset of ``problem``; ``settlements`` maps a
    code to (population, job names that block it). Times of ``problem`` are
    multiplied by ``days_per_unit`` (e.g. 1/480 when the planner worked in minutes
    of an 8-hour day). Travel between consecutive jobs comes from ``problem.setup``.
    """
    if len(asset_types) != problem.n_assets:
        raise ValidationError("plan", "asset_types", "one type per asset of the problem")
    k = float(days_per_unit)
    items: list[WorkItem] = []
    travel = np.zeros(problem.n_jobs)
    if problem.setup is not None:
        for a, seq in enumerate(schedule.sequences):
            for prev, j in itertools.pairwise(seq):
                travel[j] = problem.setup[a, prev, j]
    for j in range(problem.n_jobs):
        a = int(schedule.asset[j])
        items.append(WorkItem(problem.jobs[j], float(problem.proc[j, a]) * k,
                              float(problem.release[j]) * k, float(travel[j]) * k))
    assets = tuple(
        AssetPlan(problem.assets[a], str(asset_types[a]),
                  tuple(problem.jobs[j] for j in seq), float(problem.available[a]) * k)
        for a, seq in enumerate(schedule.sequences)
    )
    targets = tuple(SettlementTarget(code, int(pop), tuple(names))
                    for code, (pop, names) in settlements.items())
    prec = tuple((problem.jobs[i], problem.jobs[j]) for i, j in problem.precedence)
    return PlanInput(tuple(items), assets, targets, prec, start)


# --- compilation: validate once, arrays for the runs ---------------------------------


@dataclass(frozen=True)
class _Compiled:
    ids: tuple[str, ...]
    planned: np.ndarray
    release: np.ndarray
    travel: np.ndarray
    asset: np.ndarray
    available: np.ndarray
    preds: tuple[tuple[int, ...], ...]
    order: tuple[int, ...]
    blockers: tuple[tuple[int, ...], ...]


def _finite_nonneg(record: str, name: str, x: float) -> None:
    if not (math.isfinite(x) and x >= 0):
        raise ValidationError(record, name, f"must be finite and >= 0, got {x}")


def _compile(plan: PlanInput) -> _Compiled:
    index: dict[str, int] = {}
    for it in plan.items:
        if it.id in index:
            raise ValidationError(it.id, "id", "duplicate work item")
        _finite_nonneg(it.id, "days", it.days)
        _finite_nonneg(it.id, "release", it.release)
        _finite_nonneg(it.id, "travel", it.travel)
        index[it.id] = len(index)
    n = len(index)
    asset = np.full(n, -1)
    prev_on_asset = [-1] * n
    seen_assets: set[str] = set()
    for a, ap in enumerate(plan.assets):
        if ap.id in seen_assets:
            raise ValidationError(ap.id, "id", "duplicate asset")
        seen_assets.add(ap.id)
        _finite_nonneg(ap.id, "available", ap.available)
        prev = -1
        for name in ap.items:
            if name not in index:
                raise ValidationError(ap.id, "items", f"unknown work item {name!r}")
            j = index[name]
            if asset[j] >= 0:
                raise ValidationError(name, "asset", "work item is on more than one asset "
                                      "(or twice on one)")
            asset[j] = a
            prev_on_asset[j] = prev
            prev = j
    for it in plan.items:
        if asset[index[it.id]] < 0:
            raise ValidationError(it.id, "asset", "work item is on no asset's sequence")
    preds: list[list[int]] = [[] for _ in range(n)]
    for before, after in plan.precedence:
        for name in (before, after):
            if name not in index:
                raise ValidationError("precedence", f"{before}->{after}",
                                      f"unknown work item {name!r}")
        if before == after:
            raise ValidationError("precedence", f"{before}->{after}", "item precedes itself")
        if index[before] not in preds[index[after]]:
            preds[index[after]].append(index[before])
    order = _topological(n, prev_on_asset, preds, tuple(index))
    blockers: list[tuple[int, ...]] = []
    codes: set[str] = set()
    for st in plan.settlements:
        if st.code in codes:
            raise ValidationError(st.code, "code", "duplicate settlement")
        codes.add(st.code)
        if st.population < 0:
            raise ValidationError(st.code, "population", f"must be >= 0, got {st.population}")
        if not st.items:
            raise ValidationError(st.code, "items", "no work item reopens this settlement")
        for name in st.items:
            if name not in index:
                raise ValidationError(st.code, "items", f"unknown work item {name!r}")
        blockers.append(tuple(sorted({index[name] for name in st.items})))
    return _Compiled(
        ids=tuple(index),
        planned=np.array([it.days for it in plan.items], dtype=float),
        release=np.array([it.release for it in plan.items], dtype=float),
        travel=np.array([it.travel for it in plan.items], dtype=float),
        asset=asset,
        available=np.array([ap.available for ap in plan.assets], dtype=float),
        preds=tuple(tuple(p) for p in preds),
        order=order,
        blockers=tuple(blockers),
    )


def _topological(
    n: int, prev_on_asset: list[int], preds: list[list[int]], ids: tuple[str, ...],
) -> tuple[int, ...]:
    """One order consistent with asset sequences and precedence; a cycle is a deadlock."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for j in range(n):
        for i in [*preds[j], prev_on_asset[j]]:
            if i >= 0:
                succ[i].append(j)
                indeg[j] += 1
    heap = [j for j in range(n) if indeg[j] == 0]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        i = heapq.heappop(heap)
        order.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(heap, j)
    if len(order) != n:
        stuck = sorted(ids[j] for j in range(n) if indeg[j] > 0)[:5]
        raise ValidationError("precedence", "order",
                              "cycle between precedence pairs and asset sequences involving "
                              + ", ".join(stuck))
    return tuple(order)


# --- runs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Runs:
    """Sampled timings, ``(runs, items)`` arrays in the order of ``PlanInput.items``."""

    ids: tuple[str, ...]
    start: np.ndarray
    finish: np.ndarray
    notes: tuple[str, ...]


def simulate(
    plan: PlanInput, uncertainty: Uncertainty | None = None, *, runs: int = DEFAULT_RUNS,
    seed: int | None = 0,
) -> Runs:
    """Re-time the plan ``runs`` times with sampled durations (see the module doc)."""
    if runs < 1:
        raise ValidationError("forecast", "runs", f"must be >= 1, got {runs}")
    unc = uncertainty if uncertainty is not None else Uncertainty()
    c = _compile(plan)
    rng = np.random.default_rng(seed)
    n = len(c.ids)
    notes: list[str] = []
    med = np.ones(len(plan.assets))
    sig = np.zeros(len(plan.assets))
    qa = np.zeros(len(plan.assets))
    for a, ap in enumerate(plan.assets):
        dist: Lognormal = unc.productivity_of(ap.id, ap.type)
        q = unc.standdown_of(ap.id, ap.type)
        med[a], sig[a], qa[a] = dist.median, dist.sigma, q
        why = f"{dist.source}; {dist.note}" if dist.note else dist.source
        notes.append(f"{ap.id} ({ap.type}): productivity median {dist.median:.3g} "
                     f"sigma {dist.sigma:.3g} [{why}], stand-down {q:.3g}/day")
    if n == 0:
        empty = np.zeros((runs, 0))
        return Runs(c.ids, empty, empty.copy(), tuple(notes))
    working = sample_working_days(rng, c.planned, med[c.asset], sig[c.asset], c.asset,
                                  unc.asset_correlation if sig.any() else 0.0, runs)
    dur = sample_calendar_days(rng, working, qa[c.asset])
    dur_t = np.ascontiguousarray(dur.T)  # (items, runs): one row per step below
    start = np.empty((n, runs))
    finish = np.empty((n, runs))
    free = np.repeat(c.available[:, None], runs, axis=1)
    for j in c.order:
        a = c.asset[j]
        s = free[a] + c.travel[j]
        np.maximum(s, c.release[j], out=s)
        for i in c.preds[j]:
            np.maximum(s, finish[i], out=s)
        start[j] = s
        np.add(s, dur_t[j], out=finish[j])
        free[a] = finish[j]
    return Runs(c.ids, start.T, finish.T, tuple(notes))


# --- summaries -----------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementForecast:
    """Reopening day quantiles (days since start), their dates, P(open by day d)."""

    code: str
    population: int
    p10: float
    p50: float
    p90: float
    mean: float
    prob_by: Mapping[int, float]
    date_p10: date | None
    date_p50: date | None
    date_p90: date | None


@dataclass(frozen=True)
class DistrictCurve:
    """Per day ``days[k]``: P10/P50/P90 over runs of settlements open and people back home.

    Each quantile is taken per day across runs, so the P50 line is not one run; it
    is non-decreasing because every run's curve is.
    """

    days: np.ndarray
    open_p10: np.ndarray
    open_p50: np.ndarray
    open_p90: np.ndarray
    population_p10: np.ndarray
    population_p50: np.ndarray
    population_p90: np.ndarray


@dataclass(frozen=True)
class Forecast:
    runs: int
    seed: int | None
    start: date | None
    settlements: tuple[SettlementForecast, ...]
    curve: DistrictCurve
    finish_p10: float
    finish_p50: float
    finish_p90: float
    notes: tuple[str, ...]
    #: Reopening day per run and settlement, ``(runs, settlements)``.
    reopen: np.ndarray = field(repr=False)

    def settlement(self, code: str) -> SettlementForecast:
        for s in self.settlements:
            if s.code == code:
                return s
        raise KeyError(code)

    def date_of(self, day: float) -> date | None:
        return _date(self.start, day)


def _date(start: date | None, day: float) -> date | None:
    if start is None or not math.isfinite(day):
        return None
    return start + timedelta(days=math.ceil(day - 1e-9))


def reopening(plan: PlanInput, runs: Runs) -> np.ndarray:
    """``(runs, settlements)``: max finish over each settlement's blocking items."""
    index = {name: k for k, name in enumerate(runs.ids)}
    out = np.empty((runs.finish.shape[0], len(plan.settlements)))
    for s, st in enumerate(plan.settlements):
        cols = [index[name] for name in st.items]
        out[:, s] = runs.finish[:, cols].max(axis=1)
    return out


def _curve(reopen: np.ndarray, population: np.ndarray) -> DistrictCurve:
    nruns, ns = reopen.shape
    day = np.ceil(reopen - 1e-9).astype(np.int64) if ns else np.zeros((nruns, 0), np.int64)
    horizon = int(day.max()) if day.size else 0
    width = horizon + 1
    flat = (np.arange(nruns)[:, None] * width + np.clip(day, 0, None)).ravel()
    size = nruns * width
    count = np.bincount(flat, minlength=size).reshape(nruns, width).cumsum(axis=1)
    pop = np.bincount(flat, weights=np.tile(population, nruns), minlength=size)
    pop = pop.reshape(nruns, width).cumsum(axis=1)
    qc = np.quantile(count, [0.1, 0.5, 0.9], axis=0)
    qp = np.quantile(pop, [0.1, 0.5, 0.9], axis=0)
    return DistrictCurve(np.arange(width), qc[0], qc[1], qc[2], qp[0], qp[1], qp[2])


def forecast(
    plan: PlanInput,
    uncertainty: Uncertainty | None = None,
    *,
    runs: int = DEFAULT_RUNS,
    seed: int | None = 0,
    by_days: Sequence[int] = DEFAULT_BY_DAYS,
) -> Forecast:
    """P10/P50/P90 reopening per settlement, P(open by each of ``by_days``), district curve."""
    sim = simulate(plan, uncertainty, runs=runs, seed=seed)
    reopen = reopening(plan, sim)
    q = np.quantile(reopen, [0.1, 0.5, 0.9], axis=0) if reopen.size else np.zeros((3, 0))
    mean = reopen.mean(axis=0) if reopen.size else np.zeros(0)
    out = []
    for s, st in enumerate(plan.settlements):
        prob = {int(d): float((reopen[:, s] <= d).mean()) for d in by_days}
        p10, p50, p90 = (float(x) for x in q[:, s])
        out.append(SettlementForecast(
            st.code, st.population, p10, p50, p90, float(mean[s]), prob,
            _date(plan.start, p10), _date(plan.start, p50), _date(plan.start, p90)))
    total = sim.finish.max(axis=1) if sim.finish.size else np.zeros(runs)
    f10, f50, f90 = (float(x) for x in np.quantile(total, [0.1, 0.5, 0.9]))
    population = np.array([st.population for st in plan.settlements], dtype=float)
    return Forecast(runs, seed, plan.start, tuple(out), _curve(reopen, population),
                    f10, f50, f90, sim.notes, reopen)
