"""District planning from the record (issue 6): the one place that turns the store into
the scheduler's sites, settlements and assets, and a plan into forecast input.

Kept apart from :mod:`demine.planning` so the scheduler and the forecast stay pure
(testable on hand-made inputs); whatever the record does not hold (terrain, slope,
density, team bases) is filled with stated defaults, and the plan's warnings say so,
because an operations officer must know which figures are guesses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from demine.domain.vocab import AssetType, HazardStatus
from demine.planning.assets import DEFAULT_PRODUCTIVITY, Asset, Rules
from demine.planning.forecast import DEFAULT_RUNS, Forecast, PlanInput, forecast, from_schedule
from demine.planning.priority import load_profile, score_hazards
from demine.planning.problem import Schedule, evaluate
from demine.planning.productivity import (
    ProgressRecord,
    RateChoice,
    choose_rates,
    spread_from_progress,
)
from demine.planning.schedule import (
    Model,
    Plan,
    Settlement,
    Site,
    build_model,
    plan_district,
    sites_from_facts,
)
from demine.planning.uncertainty import Uncertainty
from demine.service.planning_inputs import clearance_progress, hazard_facts
from demine.store import schema as s
from demine.store.repository import Repository

__all__ = ["FleetEdit", "PlanningInputs", "district_forecast", "district_plan",
           "recorded_fleet", "robotic_platforms"]

#: Organisation kinds whose teams clear land; QA bodies' teams inspect (QC is a lag).
CLEARING_KINDS = frozenset({"operator"})


@dataclass(frozen=True)
class PlanningInputs:
    """What a plan was built from, kept so the forecast and the exports match the plan."""

    sites: tuple[Site, ...]
    settlements: tuple[Settlement, ...]
    assets: tuple[Asset, ...]
    rules: Rules
    model: Model
    start_date: date | None
    profile: str
    #: Hazard code -> its remaining area in WGS84 (for GeoJSON export).
    geometry: dict[str, BaseGeometry]
    #: Settlement code -> name.
    names: dict[str, str]
    warnings: tuple[str, ...]
    #: Per planned asset: the productivity used and whether it was learned.
    productivity: tuple[RateChoice, ...] = ()
    #: The reported clearance progress the plan learned from; the forecast fits its
    #: spread on the same records.
    progress: tuple[ProgressRecord, ...] = ()


#: A what-if change to the fleet on record (see :mod:`demine.service.scenarios`): it
#: gets the assets the plan would use and returns the ones it should use.
FleetEdit = Callable[[list[Asset]], list[Asset]]


def robotic_platforms(n: int, *, prefix: str = "EXTRA-RCP") -> list[Asset]:
    """``n`` extra robotic platforms at default productivity (a what-if scenario)."""
    return [Asset(f"{prefix}{i + 1}", AssetType.ROBOTIC_PLATFORM) for i in range(n)]


def district_plan(repo: Repository, *, profile: str = "default", time_limit: float = 20.0,
                  seed: int = 0, start_date: date | None = None,
                  extra_assets: Sequence[Asset] | None = None,
                  fleet: FleetEdit | None = None, learn: bool = True,
                  initial: Mapping[str, Sequence[str]] | None = None,
                  rules: Rules | None = None,
                  ) -> tuple[Plan, PlanningInputs]:
    """Plan the district's unreleased hazards with the teams on record.

    With ``learn`` a team's productivity comes from its reported clearance progress
    where there is enough (:mod:`demine.planning.productivity`), else from the
    register; assets without a figure use the reference default. ``fleet`` edits the
    asset list after that (scenarios), ``initial`` is a plan to start the search from
    (asset code -> work item names, e.g. another scenario's plan). ``rules`` are the
    national rules to plan under (a scenario's what-if), the defaults when omitted.
    Nothing is written.

    Raises ``ValidationError`` (a bad profile names its file) before any solving.
    """
    prof = load_profile(profile)
    facts = hazard_facts(repo)
    notes: list[str] = []
    teams, team_notes = _teams(repo)
    notes += team_notes
    populations, names, geometry, centres = _record(repo)
    centre = _centre(list(centres.values()))
    progress = tuple(clearance_progress(repo)) if learn else ()
    teams, rates = _productivity(teams, progress)
    assets = [*teams, *(extra_assets or ())]
    if fleet is not None:
        assets = fleet(assets)
    assets = [replace(a, base_xy=centre) for a in assets]
    choices = tuple(rates.get(a.code) or _default_choice(a) for a in assets)
    notes += _productivity_notes(choices)
    notes.append("team bases are not in the record: every team mobilises from the "
                 "district centre")
    scores = {p.code: p.score / 100.0 for p in score_hazards(facts, prof)}
    extra = {f.code: {"x": centres.get(f.code, centre)[0], "y": centres.get(f.code, centre)[1],
                      "priority": scores.get(f.code, 0.0)} for f in facts}
    notes.append("terrain, slope and density are not in the record: every hazard is "
                 "planned as open, flat ground with low density")
    sites, settlements = sites_from_facts(facts, extra, populations)
    rules = rules or Rules()
    model = build_model(sites, settlements, assets, rules)
    plan = plan_district(sites, settlements, assets, rules, time_limit=time_limit, seed=seed,
                         start_date=start_date, initial=initial)
    plan = replace(plan, warnings=(*notes, *plan.warnings))
    inputs = PlanningInputs(tuple(sites), tuple(settlements), tuple(assets), rules, model,
                            start_date, prof.name, geometry, names, tuple(notes), choices,
                            progress)
    return plan, inputs


def _productivity(teams: list[Asset], records: Sequence[ProgressRecord],
                  ) -> tuple[list[Asset], dict[str, RateChoice]]:
    """Teams with their learned rate where the record supports one, and every choice."""
    fallback = {a.code: (a.productivity_m2_day, "register") if a.productivity_m2_day
                else (DEFAULT_PRODUCTIVITY.get(a.type, 0.0), "default") for a in teams}
    rates = choose_rates(fallback, records,
                         working_days_per_week={a.code: a.working_days_per_week for a in teams})
    out = [replace(a, productivity_m2_day=rates[a.code].rate_m2_day) if rates[a.code].learned
           else a for a in teams]
    return out, rates


def _default_choice(asset: Asset) -> RateChoice:
    """The choice for an asset the record knows nothing about (a scenario's new asset)."""
    if asset.productivity_m2_day:
        return RateChoice(asset.code, asset.productivity_m2_day, "given",
                          asset.productivity_m2_day, "given")
    rate = DEFAULT_PRODUCTIVITY.get(asset.type, 0.0)
    return RateChoice(asset.code, rate, "default", rate, "default")


def _productivity_notes(choices: Sequence[RateChoice]) -> list[str]:
    """One line per source, so the plan says which figures are the teams' own."""
    notes = []
    learned = [c for c in choices if c.learned]
    if learned:
        notes.append("productivity learned from reported progress (m²/working day) for "
                     + ", ".join(f"{c.asset} {c.rate_m2_day:,.0f} (register "
                                 f"{c.fallback_m2_day:,.0f})" for c in learned))
    kept = [c for c in choices if not c.learned and c.learned_m2_day is not None]
    if kept:
        notes.append("reported progress not used for " + "; ".join(
            f"{c.asset}: {c.reason}" for c in kept))
    defaults = [c for c in choices if c.source == "default"]
    if defaults:
        notes.append("default productivity (m²/working day) used for " + ", ".join(
            f"{c.asset} {c.rate_m2_day:,.0f}" for c in defaults))
    return notes


def recorded_fleet(repo: Repository) -> list[Asset]:
    """The teams a district plan starts from (register productivity, before learning)."""
    return _teams(repo)[0]


def _teams(repo: Repository) -> tuple[list[Asset], list[str]]:
    """Available clearance teams as planning assets; a productivity of 0 means "not set"."""
    t, o = s.teams, s.organisations
    notes: list[str] = []
    out: list[Asset] = []
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(t.c.code, t.c.asset_type, t.c.productivity_m2_day, t.c.available, o.c.kind)
            .join(o, o.c.id == t.c.organisation_id).order_by(t.c.code)).all()
    skipped = []
    for r in rows:
        if not r.available:
            skipped.append(f"{r.code} (unavailable)")
            continue
        if r.kind not in CLEARING_KINDS:
            skipped.append(f"{r.code} ({r.kind}: QC is a fixed lag)")
            continue
        prod = float(r.productivity_m2_day) if r.productivity_m2_day else None
        out.append(Asset(r.code, AssetType(r.asset_type), prod))
    if skipped:
        notes.append("not scheduled: " + ", ".join(skipped))
    return out, notes


def _record(repo: Repository) -> tuple[dict[str, int], dict[str, str],
                                       dict[str, BaseGeometry],
                                       dict[str, tuple[float, float]]]:
    """Settlement populations and names; hazard remainders (WGS84) and metric centres."""
    st, h = s.settlements, s.hazard_areas
    with repo.reader() as uow:
        srows = uow.conn.execute(select(st.c.code, st.c.name, st.c.population)).all()
        hrows = uow.conn.execute(
            select(h.c.code, h.c.geom, h.c.remaining, h.c.remaining_m)
            .where(h.c.status != HazardStatus.RELEASED.value)).all()
    geometry = {r.code: r.remaining if r.remaining is not None else r.geom for r in hrows}
    centres = {}
    for r in hrows:
        if r.remaining_m is not None and not r.remaining_m.is_empty:
            c = shapely.centroid(r.remaining_m)
            centres[r.code] = (float(c.x), float(c.y))
    return ({r.code: int(r.population) for r in srows}, {r.code: r.name for r in srows},
            geometry, centres)


def _centre(points: list[tuple[float, float]]) -> tuple[float, float]:
    if not points:
        return (0.0, 0.0)
    a = np.asarray(points)
    return (float(a[:, 0].mean()), float(a[:, 1].mean()))


def district_forecast(repo: Repository, plan: Plan, inputs: PlanningInputs, *,
                      runs: int = DEFAULT_RUNS, seed: int = 0) -> Forecast:
    """Monte Carlo reopening dates of the plan's closed settlements (the plan's sequences).

    ``repo`` is accepted for symmetry with :func:`district_plan`; everything needed is
    in ``inputs``, so the forecast re-times exactly the plan that was shown. The
    productivity spread of an asset type is fitted on the activities its teams reported
    where there are enough (:func:`demine.planning.productivity.spread_from_progress`);
    elsewhere the named defaults of :mod:`demine.planning.uncertainty` hold. The
    forecast's notes say which, per asset.
    """
    del repo
    types = {a.code: a.type.value for a in inputs.assets}
    spread = spread_from_progress(
        inputs.progress, inputs.productivity, types,
        working_days_per_week={a.code: a.working_days_per_week for a in inputs.assets})
    return forecast(plan_input(plan, inputs), Uncertainty(productivity=spread), runs=runs,
                    seed=seed)


def plan_input(plan: Plan, inputs: PlanningInputs) -> PlanInput:
    """The plan's sequences back on the model's jobs, through forecast's conversion.

    A settlement's blocking items are the clearance chunks of its hazards; the QC lag
    is deterministic, so it is left out of the re-timing and the forecast's days are
    when the last chunk finishes (the plan's reopening day minus the lag).
    """
    model = inputs.model
    pb = model.problem
    index = {name: j for j, name in enumerate(pb.jobs)}
    seqs = tuple(tuple(index[it.item] for it in plan.assets.get(a, ())) for a in pb.assets)
    timing = evaluate(pb, seqs)
    asset = np.full(pb.n_jobs, -1, dtype=np.int64)
    for a, seq in enumerate(seqs):
        asset[list(seq)] = a
    schedule = Schedule(seqs, asset, timing.start, timing.finish, plan.objective,
                        plan.lower_bound, plan.proven_optimal, 0.0, plan.elapsed, plan.source)
    by_site: dict[str, list[str]] = {}
    for j, i in enumerate(model.job_site):
        if model.job_kind[j] == "clearance":
            by_site.setdefault(model.sites[i].code, []).append(pb.jobs[j])
    targets = {}
    for st in model.settlements:
        items = [n for h in st.blockers for n in by_site.get(h, [])]
        if items:
            targets[st.code] = (st.population, items)
    types = [a.type.value for a in model.assets]
    return from_schedule(pb, schedule, asset_types=types, settlements=targets,
                         start=inputs.start_date)
