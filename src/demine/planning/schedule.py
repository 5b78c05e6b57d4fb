"""District scheduling (issue 6): which team works which hazard when, so people go home soonest.

The work: each hazard's remaining area, split into chunks of at most
``Rules.chunk_m2`` so several teams can share a big area, plus one machine
ground-preparation item where the national standard requires it (AT land, dense
vegetation) which precedes every manual/MDD chunk of that hazard. QC inspection is a
fixed lag (``Rules.qc_lag_days``) after the last clearance chunk, not a scheduled item:
QC teams are few and separate from the clearance fleet, and a lag keeps the model
small. A hazard is *released* at its last chunk's finish plus that lag.

The objective, in people-days: sum over settlements of population x the day it
reopens (the release of the last hazard keeping it closed, a maximum, hence the
engine's group terms), plus priority-weighted release of land that closes no
settlement, plus ``Rules.tardiness_weight`` per day each chunk finishes after its
hazard's deadline (e.g. before sowing) allows.

Time is whole calendar days from day 0. Approximations, stated so nobody mistakes
them for more: an asset's working week stretches durations (6 working days -> 7
calendar days) but the rest day is not placed; unavailable periods are blocked
intervals no item may straddle; travel is a mobilisation from the asset's base to
the site (straight line at ``Rules.travel_km_per_day``) charged to every chunk, not
a sequence-dependent route.

Stages: the engine's dispatching rule gives a first plan in about a second; a
settlement-by-settlement list schedule, its order searched (``group_order``), often
beats it; local search improves the better one; CP-SAT (warm-started) improves it
further and supplies a lower bound. The bound reported is the best of CP-SAT's, a
fluid relaxation (each asset pool merged into one machine, settlements in Smith's
order) and a time-indexed linear relaxation (:mod:`demine.planning.lp_bound`, solved
in a child process on a national plan while the search runs), and
``proven_optimal`` is only True when a bound meets the objective.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from demine.domain.errors import ValidationError
from demine.domain.vocab import EOCategory
from demine.planning.assets import DENSITIES, MACHINES, TERRAINS, VERIFIERS, Asset, Rules
from demine.planning.cpsat_model import solve_cpsat
from demine.planning.dispatch import atc_best
from demine.planning.group_order import (
    list_schedule,
    repair_deadlines,
    search_order,
    smith_order,
)
from demine.planning.local_search import ils
from demine.planning.lp_bound import (
    BackgroundBound,
    Pools,
    Relaxation,
    buckets_for,
    eligibility_pools,
    time_indexed_relaxation,
)
from demine.planning.priority import HazardFacts
from demine.planning.problem import EPS, Problem, Sequences, evaluate

__all__ = ["Asset", "Model", "Plan", "PlannedItem", "Rules", "Settlement", "Site",
           "adopt", "build_model", "fluid_bound", "plan_district", "population_days",
           "reopening_days", "seed_sequences", "sites_from_facts"]


@dataclass(frozen=True)
class Site:
    """One unreleased hazard as the scheduler needs it (x/y in metres, projected)."""

    code: str
    remaining_m2: float
    x: float = 0.0
    y: float = 0.0
    terrain: str = "open"
    slope: bool = False
    at: bool = False
    density: str = "low"
    priority: float = 0.0
    deadline: int | None = None

    def __post_init__(self) -> None:
        if self.terrain not in TERRAINS:
            raise ValidationError(self.code, "terrain", f"must be one of {TERRAINS}")
        if self.density not in DENSITIES:
            raise ValidationError(self.code, "density", f"must be one of {DENSITIES}")
        if self.remaining_m2 < 0:
            raise ValidationError(self.code, "remaining_m2", "must be >= 0")


@dataclass(frozen=True)
class Settlement:
    code: str
    population: int
    blockers: tuple[str, ...]


def sites_from_facts(facts: Iterable[HazardFacts], extra: Mapping[str, Mapping[str, object]],
                     populations: Mapping[str, int] | None = None,
                     ) -> tuple[list[Site], list[Settlement]]:
    """Sites and settlements from the record's planner facts plus per-hazard site data.

    ``extra[code]`` gives what the facts lack (x, y, terrain, slope, density, priority,
    deadline; ``at`` defaults to "an AT mine is suspected or confirmed"). A settlement's
    population is ``populations[code]`` when given, else the sum of its blockers'
    population shares (each hazard's fair share of the people it keeps out).
    """
    pops = dict(populations or {})
    sites: list[Site] = []
    blockers: dict[str, list[str]] = {}
    share: dict[str, float] = {}
    for f in facts:
        e = dict(extra.get(f.code, {}))
        at = bool(e.pop("at", EOCategory.AT_MINE in f.eo_categories))
        sites.append(Site(f.code, f.remaining_m2, at=at, **e))  # type: ignore[arg-type]
        for s in f.settlements_closed:
            blockers.setdefault(s, []).append(f.code)
            share[s] = share.get(s, 0.0) + f.population_share
    settlements = [Settlement(s, int(pops.get(s, round(share[s]))), tuple(b))
                   for s, b in sorted(blockers.items())]
    return sites, settlements


# --- the model handed to the engine --------------------------------------------------


@dataclass(frozen=True)
class Model:
    """The engine problem plus what maps its jobs back to hazards and settlements."""

    problem: Problem
    sites: tuple[Site, ...]
    assets: tuple[Asset, ...]
    settlements: tuple[Settlement, ...]
    job_site: tuple[int, ...]
    job_kind: tuple[str, ...]
    job_area: tuple[float, ...]
    group_names: tuple[str, ...]
    constant: float
    rules: Rules
    warnings: tuple[str, ...]
    deadline_issues: tuple[str, ...]
    verifier_assets: tuple[int, ...]


def _eligible(site: Site, asset: Asset, rules: Rules, final: bool) -> str | None:
    """None if ``asset`` may do this kind of item on ``site``, else the reason it may not."""
    t = asset.type
    if final and not rules.machine_only_release and t not in VERIFIERS:
        return "final clearance must be manual or MDD"
    if not final and t not in MACHINES:
        return "ground preparation is machine work"
    if t not in VERIFIERS and t not in MACHINES:
        return f"{t.value} is not a clearance asset"
    if site.at and t not in rules.at_allowed:
        return "AT contamination"
    if site.slope and t in MACHINES and not rules.machines_on_slopes:
        return "slope"
    if asset.rate(site.terrain, site.density) <= 0:
        return f"{site.terrain} terrain"
    return None


def _need(site: Site, final: bool, rules: Rules) -> str:
    """Words for the asset types an item needs, for infeasibility messages."""
    allowed = set(rules.at_allowed) if site.at else set(VERIFIERS | MACHINES)
    allowed &= set(VERIFIERS if final and not rules.machine_only_release else
                   (VERIFIERS | MACHINES) if final else MACHINES)
    names = " or ".join(sorted(a.value.replace("_", " ") for a in allowed)) or "no asset type"
    why = "AT contamination" if site.at else f"{site.terrain} terrain"
    what = "clearance" if final else "ground preparation"
    return f"{why}: {what} needs {names} able to work {site.terrain}" + (
        " slopes" if site.slope else "")


def _mobilisation(site: Site, asset: Asset, rules: Rules) -> int:
    km = math.hypot(site.x - asset.base_xy[0], site.y - asset.base_xy[1]) / 1000.0
    return math.ceil(km / rules.travel_km_per_day - 1e-9) if km > 0 else 0


def build_model(sites: Sequence[Site], settlements: Sequence[Settlement],
                assets: Sequence[Asset], rules: Rules | None = None, *,
                other_land_weight: float = 10.0) -> Model:
    """Chunk the work, decide eligibility and precedence, and set the objective terms.

    Raises ``ValidationError`` naming every hazard no available asset may work and
    why; a plan that silently dropped them would overstate what the fleet can do.
    """
    rules = rules or Rules()
    warnings: list[str] = []
    deadline_issues: list[str] = []
    codes = [s.code for s in sites]
    if len(set(codes)) != len(codes):
        raise ValidationError("plan", "sites", "hazard codes must be unique")
    defaults = sorted(a.code for a in assets if a.uses_default_productivity)
    if defaults:
        warnings.append("productivity defaults used for " + ", ".join(defaults))
    usable = [a for a in assets if a.type in VERIFIERS | MACHINES]
    for a in assets:
        if a not in usable:
            warnings.append(f"{a.code}: {a.type.value} is not a clearance asset; not scheduled")
    if not usable:
        raise ValidationError("plan", "assets", "no clearance asset available")
    rows: list[list[float]] = []
    job_site: list[int] = []
    kinds: list[str] = []
    areas: list[float] = []
    due: list[float] = []
    prec: list[tuple[int, int]] = []
    chunks_of: dict[int, list[int]] = {}
    label: dict[int, str] = {}
    problems: list[str] = []
    for i, site in enumerate(sites):
        if site.remaining_m2 <= 0:
            warnings.append(f"{site.code}: no remaining area; released on day 0")
            continue
        final_ok = [_eligible(site, a, rules, True) is None for a in usable]
        if not any(final_ok):
            problems.append(f"{site.code}: {_need(site, True, rules)}; none available")
            continue
        prep_rule = (site.at and rules.prep_when_at) or site.terrain in rules.prep_terrains
        prep_ok = [_eligible(site, a, rules, False) is None for a in usable]
        prep_job = None
        if prep_rule and site.slope and not rules.machines_on_slopes:
            warnings.append(f"{site.code}: preparation rule applies but machines may not "
                            "work slopes; manual/MDD verification only")
        elif prep_rule and not any(prep_ok):
            problems.append(f"{site.code}: {_need(site, False, rules)} before verification;"
                            " none available")
            continue
        elif prep_rule:
            prep_job = len(rows)
            label[prep_job] = "preparation"
            rows.append([a.calendar_days(site.remaining_m2, site.terrain, site.density)
                         + _mobilisation(site, a, rules) if ok else math.inf
                         for a, ok in zip(usable, prep_ok, strict=True)])
            job_site.append(i)
            kinds.append("preparation")
            areas.append(site.remaining_m2)
            due.append(math.inf)
        k = max(1, math.ceil(site.remaining_m2 / rules.chunk_m2 - 1e-9))
        chunk = site.remaining_m2 / k
        d = math.inf if site.deadline is None else site.deadline - rules.qc_lag_days
        mine = []
        for c in range(k):
            label[len(rows)] = f"chunk {c + 1}/{k}"
            j = len(rows)
            rows.append([a.calendar_days(chunk, site.terrain, site.density)
                         + _mobilisation(site, a, rules) if ok else math.inf
                         for a, ok in zip(usable, final_ok, strict=True)])
            job_site.append(i)
            kinds.append("clearance")
            areas.append(chunk)
            due.append(d)
            mine.append(j)
            if prep_job is not None:
                prec.append((prep_job, j))
        # Preparation joins the hazard's objective groups: it precedes every chunk, so
        # the group maximum is unchanged, but dispatching and local search then see
        # that a machine's order decides when settlements can reopen.
        chunks_of[i] = mine if prep_job is None else [prep_job, *mine]
        if site.deadline is not None:
            earliest = _earliest_release(rows, mine, prep_job, usable, rules)
            if earliest > site.deadline:
                deadline_issues.append(
                    f"{site.code}: deadline day {site.deadline} cannot be met; the earliest "
                    f"possible release is day {earliest}")
    if problems:
        raise ValidationError("plan", "hazards", "; ".join(problems))
    if not rows:
        raise ValidationError("plan", "hazards", "no remaining work")

    index = {s.code: i for i, s in enumerate(sites)}
    groups: list[tuple[int, ...]] = []
    weights: list[float] = []
    names: list[str] = []
    blocking: set[int] = set()
    for st in settlements:
        members: list[int] = []
        for h in st.blockers:
            if h not in index:
                warnings.append(f"{st.code}: blocker {h} is not among the sites; ignored")
                continue
            blocking.add(index[h])
            members.extend(chunks_of.get(index[h], []))
        if members and st.population > 0:
            groups.append(tuple(members))
            weights.append(float(st.population))
            names.append(st.code)
    for i, chunk_jobs in chunks_of.items():
        w = round(other_land_weight * sites[i].priority)
        if i not in blocking and w > 0:
            groups.append(tuple(chunk_jobs))
            weights.append(float(w))
            names.append(sites[i].code)
    proc = np.array(rows, dtype=float)
    down = [[(lo, hi + 1) for lo, hi in a.unavailable] for a in usable]
    n = len(rows)
    pb = Problem.build(
        proc, weight=[rules.tardiness_weight if np.isfinite(x) else 0 for x in due],
        due=due, available=[a.available_from for a in usable], precedence=prec,
        groups=groups, group_weight=weights, downtime=down,
        jobs=[f"{sites[job_site[j]].code}/{label[j]}" for j in range(n)],
        assets=[a.code for a in usable])
    constant = float(sum(weights)) * rules.qc_lag_days
    verifiers = tuple(a for a, x in enumerate(usable)
                      if x.type in VERIFIERS or rules.machine_only_release)
    return Model(pb, tuple(sites), tuple(usable), tuple(settlements), tuple(job_site),
                 tuple(kinds), tuple(areas), tuple(names), constant, rules,
                 tuple(warnings), tuple(deadline_issues), verifiers)


def _earliest_release(rows: list[list[float]], chunks: list[int], prep: int | None,
                      assets: Sequence[Asset], rules: Rules) -> int:
    """Release day if the hazard had the whole fleet to itself (chunks in parallel)."""
    avail = np.array([a.available_from for a in assets], dtype=float)
    t = 0.0
    if prep is not None:
        t = float((avail + np.array(rows[prep])).min())
    end = max(float((np.maximum(avail, t) + np.array(rows[j])).min()) for j in chunks)
    return int(end) + rules.qc_lag_days


def pool_speeds(model: Model) -> np.ndarray:
    """Each asset's rate in pooled work units a calendar day (its open-ground rate over
    its working week): the common measure of the fluid and LP bounds."""
    return np.array([a.rate("open", "low") * a.working_days_per_week / 7
                     for a in model.assets])


def fluid_bound(model: Model) -> float:
    """A lower bound on the engine objective: each asset pool merged into one fluid machine.

    Give every asset of a pool (verification teams; machines) a speed ``r_a`` (its
    open-ground calendar rate) and every item the pooled work
    ``c_j = min over eligible a of proc[j, a] * r_a``; then an asset busy for ``T``
    days does at most ``r_a * T`` of it, so the pool needs ``sum(c_j) / sum(r_a)``
    days for any set of items, whatever the assignment, with travel, rounding and
    eligibility included. An item shared by ``k`` groups counts ``1/k`` toward each,
    so when the ``r``-th group completes at least the first ``r`` shares are done,
    and Smith's rule orders the groups optimally. Precedence across pools, downtime
    and non-preemption only add time; the larger of the two pools' bounds is returned.
    """
    pb = model.problem
    if not pb.groups or pb.group_weight is None:
        return 0.0
    mult = np.zeros(pb.n_jobs)
    for g in pb.groups:
        mult[list(g)] += 1
    best = 0.0
    pools = (("clearance", model.verifier_assets),
             ("preparation", tuple(a for a, x in enumerate(model.assets) if x.type in MACHINES)))
    for kind, pool in pools:
        if not pool:
            continue
        speed = pool_speeds(model)[list(pool)]
        jobs = np.array([j for j in range(pb.n_jobs) if model.job_kind[j] == kind], dtype=int)
        if not len(jobs) or speed.sum() <= 0:
            continue
        work = (pb.proc[np.ix_(jobs, pool)] * speed[None, :]).min(axis=1)
        per_job = np.zeros(pb.n_jobs)
        per_job[jobs] = np.where(np.isfinite(work), work, 0.0) / np.maximum(mult[jobs], 1)
        share = np.array([per_job[list(g)].sum() for g in pb.groups]) / speed.sum()
        w = pb.group_weight
        order = np.argsort(-w / np.maximum(share, 1e-12), kind="stable")
        t0 = float(min(pb.available[a] for a in pool))
        best = max(best, float((w[order] * (t0 + np.cumsum(share[order]))).sum()))
        dur = pb.proc[np.ix_(jobs, pool)].min(axis=1)
        best = max(best, _mean_busy_bound(pb, jobs, np.where(np.isfinite(work), work, 0.0),
                                          dur, float(speed.sum()), t0))
    return best


#: Problems with fewer work items solve the time-indexed LP in-line (well under a
#: second); larger ones in a child process on the other core while the search runs.
LP_INLINE_JOBS = 300


def _start_lp_bound(model: Model, seqs: Sequences, seconds: float) -> BackgroundBound | None:
    """Start :mod:`demine.planning.lp_bound` on this model (see its docstring)."""
    pb = model.problem
    if seconds <= 0.5:
        return None
    machines = tuple(a for a, x in enumerate(model.assets) if x.type in MACHINES)
    pools = Pools(pool_speeds(model), eligibility_pools(pb, (model.verifier_assets, machines)))
    horizon = max(1.0, float(evaluate(pb, seqs).finish.max()))
    buckets = buckets_for(pb.n_jobs, seconds)
    if pb.n_jobs < LP_INLINE_JOBS:
        return _Settled(time_indexed_relaxation(pb, pools, horizon=horizon, buckets=buckets,
                                                time_limit=seconds))
    return BackgroundBound(pb, pools, horizon=horizon, buckets=buckets, time_limit=seconds)


class _Settled:
    """An in-line LP's answer behind :class:`BackgroundBound`'s two methods."""

    def __init__(self, value: Relaxation | None) -> None:
        self.value = value

    def ready(self) -> bool:
        return True

    def result(self, timeout: float) -> Relaxation | None:
        return self.value


def _mean_busy_bound(pb: Problem, jobs: np.ndarray, work: np.ndarray, dur: np.ndarray,
                     capacity: float, t0: float) -> float:
    """The mean-busy-time bound (Goemans et al.), with each group's weight spread on its items.

    ``C_g >= sum(c_j / c_g * C_j)`` over the group's items of this pool, so the groups'
    cost is at least ``sum(w'_j C_j)`` with ``w'_j = sum(W_g c_j / c_g)``. An item's
    completion is its mean busy time plus half its duration, and the weighted mean busy
    times are at least those of the pooled fluid schedule in order of ``w'_j / c_j``.
    Unlike the plain fluid bound this charges the half-duration no team can split.
    """
    assert pb.group_weight is not None
    pos = {int(j): k for k, j in enumerate(jobs)}
    wprime = np.zeros(len(jobs))
    for g, wg in zip(pb.groups, pb.group_weight, strict=True):
        idx = [pos[j] for j in g if j in pos]
        total = work[idx].sum() if idx else 0.0
        if total > 0:
            wprime[idx] += wg * work[idx] / total
    density = wprime / np.maximum(work, 1e-12)
    order = np.argsort(-density, kind="stable")
    length = work[order] / capacity
    end = t0 + np.cumsum(length)
    mean_busy = end - length / 2
    return float((wprime[order] * (mean_busy + dur[order] / 2)).sum())


# --- the answer ----------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedItem:
    item: str
    hazard: str
    kind: str
    area_m2: float
    start_day: int
    finish_day: int
    start_date: date | None = None
    finish_date: date | None = None


@dataclass(frozen=True)
class Plan:
    """A district plan. Days are calendar days from day 0 (dates when a start date is given).

    ``objective`` and ``lower_bound`` are in people-days (plus the priority and
    tardiness terms); ``gap`` is relative to the objective. ``source`` names the stage
    that found the plan: dispatch, initial (the plan it was started from), group_order,
    local_search or cpsat. ``history`` lists
    ``(seconds, objective, lower bound)`` as the solve progressed.
    """

    assets: dict[str, tuple[PlannedItem, ...]]
    hazard_release_day: dict[str, int]
    reopening_day: dict[str, int]
    objective: float
    population_days: float
    lower_bound: float
    proven_optimal: bool
    source: str
    first_plan_seconds: float
    elapsed: float
    heuristic_objective: float
    heuristic_population_days: float
    warnings: tuple[str, ...]
    deadline_issues: tuple[str, ...]
    late: dict[str, int]
    history: tuple[tuple[float, float, float], ...] = ()
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return max(0.0, self.objective - self.lower_bound) / max(1.0, abs(self.objective))


def _release_days(model: Model, finish: np.ndarray) -> dict[str, int]:
    out = {s.code: 0 for s in model.sites}
    for j, i in enumerate(model.job_site):
        if model.job_kind[j] == "clearance":
            out[model.sites[i].code] = max(out[model.sites[i].code],
                                           int(finish[j]) + model.rules.qc_lag_days)
    return out


def reopening_days(model: Model, release: Mapping[str, int]) -> dict[str, int]:
    """A settlement reopens when the last hazard keeping it closed is released."""
    return {st.code: max((release[h] for h in st.blockers if h in release), default=0)
            for st in model.settlements}


def population_days(model: Model, sequences: Sequences) -> float:
    """Sum of population x reopening day for a schedule of the model."""
    timing = evaluate(model.problem, sequences)
    reopen = reopening_days(model, _release_days(model, timing.finish))
    return float(sum(st.population * reopen[st.code] for st in model.settlements))


def plan_district(
    sites: Sequence[Site], settlements: Sequence[Settlement], assets: Sequence[Asset],
    rules: Rules | None = None, *, time_limit: float = 30.0, seed: int = 0,
    use_cpsat: bool = True, order_share: float = 0.4, order_moves: int = 1_000,
    local_search_share: float = 0.7, workers: int = 1,
    stagnation: int = 200, start_date: date | None = None, other_land_weight: float = 10.0,
    clock: Callable[[], float] = time.perf_counter,
    initial: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Plan the district within ``time_limit`` seconds (see the module docstring).

    Stages and their time: dispatching (ATC); the group-order search until
    ``order_share`` of the limit or ``order_moves`` moves; local search until
    ``local_search_share`` (or ``stagnation`` non-improving kicks); CP-SAT with the
    rest. The move and kick counts make a run reproducible for a seed when they, not
    the clock, end the stages and CP-SAT is off or proves optimality.

    ``initial`` (asset code -> work item names in order, e.g. another scenario's plan)
    competes with the dispatching rule for the first plan (see :func:`seed_sequences`);
    every later stage only keeps improvements, so a scenario that only adds capacity
    never comes out worse than the plan it started from because the clock ran out.
    """
    t0 = clock()
    rules = rules or Rules()
    model = build_model(sites, settlements, assets, rules, other_land_weight=other_land_weight)
    pb = model.problem
    history: list[tuple[float, float, float]] = []
    seqs, obj = atc_best(pb, ks=(2.0,))  # one pass: the first plan must be fast
    first = clock() - t0
    bound = max(pb.trivial_lower_bound(), fluid_bound(model))
    history.append((first, obj, bound))
    lp = _start_lp_bound(model, seqs, t0 + time_limit - clock())
    relaxed: Relaxation | None = None

    def take_lp(timeout: float = 0.0) -> None:
        nonlocal bound, lp, relaxed
        if lp is None or (timeout <= 0 and not lp.ready()):
            return
        relaxed, lp = lp.result(timeout), None
        stats["lp_bound"] = math.nan if relaxed is None else relaxed.bound + model.constant
        if relaxed is not None and relaxed.bound > bound:
            bound = relaxed.bound
            history.append((clock() - t0, obj, bound))

    heuristic = (obj, seqs)
    source, stats = "dispatch", {"dispatch_objective": obj + model.constant}
    if initial is not None:
        warm = seed_sequences(pb, initial)
        warm_obj = evaluate(pb, warm).objective
        stats["initial_objective"] = warm_obj + model.constant
        if warm_obj < obj - EPS:
            seqs, obj, source = warm, warm_obj, "initial"
            history.append((clock() - t0, obj, bound))
    take_lp()
    if pb.groups and bound < obj - EPS:
        deadline = t0 + order_share * time_limit
        start: list[int] | None = None
        g_obj = math.inf
        if lp is not None:  # the LP is still solving: search from Smith's order till then
            g_seqs, g_obj, start = search_order(
                pb, seed=seed, max_moves=order_moves, clock=clock, deadline=deadline,
                stop=lp.ready)
            if g_obj < obj - EPS:
                seqs, obj, source = g_seqs, g_obj, "group_order"
                history.append((clock() - t0, obj, bound))
            take_lp()
        if relaxed is not None and len(relaxed.group_completion):
            lp_order = [int(g) for g in np.argsort(relaxed.group_completion, kind="stable")]
            lp_obj = evaluate(pb, list_schedule(pb, lp_order)).objective
            stats["lp_order_objective"] = lp_obj + model.constant
            if start is None:  # no search yet: Smith's order, repaired, is the rival
                start, _, g_obj = repair_deadlines(pb, smith_order(pb))
            if lp_obj < g_obj - EPS:
                start = lp_order
        if lp is None and clock() < deadline:
            g_seqs, g_obj, _ = search_order(pb, seed=seed, max_moves=order_moves, clock=clock,
                                            deadline=deadline, initial=start)
            if g_obj < obj - EPS:
                seqs, obj, source = g_seqs, g_obj, "group_order"
                history.append((clock() - t0, obj, bound))
        if math.isfinite(g_obj):
            stats["group_order_objective"] = g_obj + model.constant
    take_lp()
    if bound < obj - EPS:
        share = local_search_share if use_cpsat else 1.0
        res = ils(pb, seqs, seed=seed, deadline=t0 + share * time_limit,
                  stagnation=stagnation, clock=clock)
        stats["ils_kicks"] = res.kicks
        if res.objective < obj - EPS:
            seqs, obj, source = res.sequences, res.objective, "local_search"
            history.append((clock() - t0, obj, bound))
    take_lp()
    proven = bound >= obj - EPS
    remaining = t0 + time_limit - clock()
    if use_cpsat and not proven and remaining > 0.05:
        def progress(o: float, b: float) -> None:
            history.append((clock() - t0, min(o, history[-1][1]), max(b, bound)))

        cp = solve_cpsat(pb, (seqs, evaluate(pb, seqs)), time_limit=remaining, seed=seed,
                         workers=workers, on_solution=progress)
        stats["cpsat_status"] = float(cp.optimal)
        bound = max(bound, cp.bound)
        if cp.sequences is not None:
            cp_obj = evaluate(pb, cp.sequences).objective
            if cp_obj < obj - EPS:
                seqs, obj, source = cp.sequences, cp_obj, "cpsat"
        if cp.optimal:
            bound = max(bound, obj)
        proven = cp.optimal or bound >= obj - EPS
        history.append((clock() - t0, obj, bound))
    take_lp(t0 + time_limit - clock())
    proven = proven or bound >= obj - EPS
    return _plan(model, seqs, obj, bound, proven, source, first, clock() - t0, heuristic,
                 history, stats, start_date)


def seed_sequences(problem: Problem, initial: Mapping[str, Sequence[str]]) -> Sequences:
    """A complete schedule from a partial one given by asset code and job name.

    Jobs keep their asset and order where that asset exists and may do them; the rest
    (unknown asset, ineligible, missing) go, in job order, to the end of the eligible
    asset with the least work so far. The orders of a feasible plan of the same items
    stay deadlock-free, but appended items can in principle wait on each other across
    assets, so callers evaluate the result and drop it when it is not feasible.
    """
    index = {name: j for j, name in enumerate(problem.jobs)}
    seqs: list[list[int]] = [[] for _ in range(problem.n_assets)]
    placed: set[int] = set()
    for a, code in enumerate(problem.assets):
        for name in initial.get(code, ()):
            j = index.get(name)
            if j is not None and j not in placed and np.isfinite(problem.proc[j, a]):
                seqs[a].append(j)
                placed.add(j)
    load = np.array([problem.proc[s, a].sum() if s else 0.0 for a, s in enumerate(seqs)])
    for j in range(problem.n_jobs):
        if j in placed:
            continue
        cost = np.where(np.isfinite(problem.proc[j]), load + problem.proc[j], np.inf)
        a = int(np.argmin(cost))
        seqs[a].append(j)
        load[a] += problem.proc[j, a]
    return tuple(tuple(s) for s in seqs)


def adopt(model: Model, plan: Plan, other: Mapping[str, Sequence[str]], source: str, *,
          start_date: date | None = None) -> Plan:
    """``plan``, or the plan ``other`` gives on ``model`` when that one is better.

    Why: scenario comparisons plan several variants of one district, each search
    stopping on a clock; a good order found for one variant often fits another. Taking
    the better of the two keeps search luck out of the difference between them. The
    bound and statistics of ``plan`` are kept; ``source`` names where the order came
    from.
    """
    pb = model.problem
    seqs = seed_sequences(pb, other)
    timing = evaluate(pb, seqs)
    if not timing.feasible or timing.objective + model.constant >= plan.objective - EPS:
        return plan
    bound = plan.lower_bound - model.constant
    history = [(t, o - model.constant, b - model.constant) for t, o, b in plan.history]
    history.append((plan.elapsed, timing.objective, bound))
    out = _plan(model, seqs, timing.objective, bound, bound >= timing.objective - EPS, source,
                plan.first_plan_seconds, plan.elapsed,
                (plan.heuristic_objective - model.constant, seqs), history, dict(plan.stats),
                start_date)
    return replace(out, heuristic_population_days=plan.heuristic_population_days,
                   warnings=plan.warnings)


def _plan(model: Model, seqs: Sequences, obj: float, bound: float, proven: bool, source: str,
          first: float, elapsed: float, heuristic: tuple[float, Sequences],
          history: list[tuple[float, float, float]], stats: dict[str, float],
          start_date: date | None) -> Plan:
    pb = model.problem
    timing = evaluate(pb, seqs)
    if not timing.feasible:
        raise RuntimeError("engine returned an infeasible schedule")

    def day(t: float) -> date | None:
        return None if start_date is None else start_date + timedelta(days=int(t))

    per_asset: dict[str, tuple[PlannedItem, ...]] = {}
    for a, seq in enumerate(seqs):
        items = []
        for j in seq:
            s, f = int(timing.start[j]), int(timing.finish[j])
            items.append(PlannedItem(pb.jobs[j], model.sites[model.job_site[j]].code,
                                     model.job_kind[j], round(model.job_area[j], 1), s, f,
                                     day(s), day(f)))
        per_asset[model.assets[a].code] = tuple(items)
    release = _release_days(model, timing.finish)
    reopen = reopening_days(model, release)
    late = {s.code: release[s.code] - s.deadline for s in model.sites
            if s.deadline is not None and release[s.code] > s.deadline}
    c = model.constant
    shifted = [(t, o + c, b + c) for t, o, b in history]
    return Plan(
        assets=per_asset, hazard_release_day=release, reopening_day=reopen,
        objective=obj + c,
        population_days=float(sum(st.population * reopen[st.code]
                                  for st in model.settlements)),
        lower_bound=bound + c, proven_optimal=proven, source=source,
        first_plan_seconds=first, elapsed=elapsed,
        heuristic_objective=heuristic[0] + c,
        heuristic_population_days=population_days(model, heuristic[1]),
        warnings=model.warnings, deadline_issues=model.deadline_issues, late=late,
        history=tuple(shifted), stats=stats)

