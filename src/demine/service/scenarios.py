"""Scenario comparison on the record (issue 6, item 4): plan and forecast each what-if.

Every scenario is planned and forecast on the same record, which is only read: a
scenario's assets and stand-downs exist in the comparison and nowhere else.

Why scenarios share their plans: the search stops on a clock, so two runs of the
same district can differ by a few percent, which is the size of the effect many
what-ifs have. So each later scenario starts from the first scenario's plan (same
work items; its assets where they still exist), and a scenario that only adds
capacity cannot come out worse than the reference because the clock ran out. Then
every scenario keeps the best of its own plan and the others' plans adapted to it
(:func:`demine.planning.schedule.adopt`), so that an order found in one scenario's
extra search time that fits another equally is not reported as the scenario's effect.
What is left between them is what the change made possible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from demine.domain.errors import ValidationError
from demine.planning.assets import Asset, Rules
from demine.planning.forecast import Forecast
from demine.planning.scenarios import (
    Scenario,
    ScenarioOutcome,
    apply_to_fleet,
    checkpoints_of,
    compare_outcomes,
    load_scenario,
    outcome,
    rules_for,
)
from demine.planning.schedule import Plan, adopt
from demine.service.planning import (
    CLEARING_KINDS,
    PlanningInputs,
    district_forecast,
    district_plan,
    recorded_fleet,
)
from demine.store import schema as s
from demine.store.repository import Repository

__all__ = ["Comparison", "ScenarioRun", "compare_files", "compare_scenarios"]

#: Forecast runs per scenario unless asked otherwise: P50/P90 settle to about a day.
DEFAULT_RUNS = 2_000


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario's full answer, for doors that want more than the comparison."""

    scenario: Scenario
    plan: Plan
    inputs: PlanningInputs
    forecast: Forecast


@dataclass(frozen=True)
class Comparison:
    """Scenarios side by side; ``outcomes[0]`` is the reference for "avoided"."""

    start: date
    checkpoints: tuple[int, ...]
    outcomes: tuple[ScenarioOutcome, ...]
    runs: tuple[ScenarioRun, ...]
    forecast_runs: int


def compare_files(repo: Repository, sources: Sequence[str | Path], *, start: date,
                  time_limit: float = 10.0, runs: int = DEFAULT_RUNS) -> Comparison:
    """Load every scenario first (so a bad file fails before minutes of solving), then compare."""
    return compare_scenarios(repo, [load_scenario(src) for src in sources], start=start,
                             time_limit=time_limit, runs=runs)


def compare_scenarios(repo: Repository, scenarios: Sequence[Scenario], *, start: date,
                      time_limit: float = 10.0, runs: int = DEFAULT_RUNS) -> Comparison:
    """Plan and forecast each scenario from ``start`` (day 0); nothing is written.

    Raises ``ValidationError`` naming the scenario file and key when a scenario does not
    fit the record (an asset it stands down is not planned, an unknown organisation).
    """
    if len(scenarios) < 1:
        raise ValidationError("scenario compare", "scenarios", "give at least one file")
    organisations = _operators(repo)
    for sc in scenarios:  # every file checked against the record before any solving
        _check_codes(repo, sc, start, organisations)
    planned: list[tuple[Scenario, Plan, PlanningInputs, list[str]]] = []
    initial = None
    for sc in scenarios:
        rules, notes = rules_for(sc, Rules())

        def edit(assets: list[Asset], sc: Scenario = sc, notes: list[str] = notes
                 ) -> list[Asset]:
            fleet, why = apply_to_fleet(sc, assets, start, organisations=organisations)
            notes.extend(why)
            return fleet

        plan, inputs = district_plan(repo, profile=sc.priority_profile, time_limit=time_limit,
                                     seed=sc.seed, start_date=start, fleet=edit,
                                     initial=initial, rules=rules)
        if initial is None:
            initial = _orders(plan)
        planned.append((sc, plan, inputs, notes))
    planned = _pool(planned, start)
    done: list[ScenarioRun] = []
    outcomes: list[ScenarioOutcome] = []
    for sc, plan, inputs, notes in planned:
        fc = district_forecast(repo, plan, inputs, runs=runs, seed=sc.seed)
        done.append(ScenarioRun(sc, plan, inputs, fc))
        outcomes.append(outcome(sc, plan, fc, qc_lag_days=inputs.rules.qc_lag_days,
                                assets=len(inputs.model.assets), notes=notes,
                                profile=inputs.profile))
    return Comparison(start, checkpoints_of(scenarios), compare_outcomes(outcomes),
                      tuple(done), runs)


def _orders(plan: Plan) -> dict[str, list[str]]:
    """A plan as asset code -> work item names in order: what another scenario can reuse."""
    return {code: [it.item for it in items] for code, items in plan.assets.items()}


def _pool(planned: list[tuple[Scenario, Plan, PlanningInputs, list[str]]], start: date,
          ) -> list[tuple[Scenario, Plan, PlanningInputs, list[str]]]:
    """Each scenario keeps the best of its own plan and every other scenario's, adapted.

    A later scenario had the first one's plan to start from and its own clock; without
    this, an order it found that fits the first scenario equally would show up as the
    scenario's effect. Orders are compared as found by the first round (no chains).
    """
    orders = [_orders(plan) for _, plan, _, _ in planned]
    out = []
    for i, (sc, plan, inputs, notes) in enumerate(planned):
        best, taken = plan, ""
        for k, (other, *_rest) in enumerate(planned):
            if k != i:
                better = adopt(inputs.model, best, orders[k], f"order of {other.name}",
                               start_date=start)
                best, taken = (better, other.name) if better is not best else (best, taken)
        if taken:
            notes.append(f"plan: the order found for {taken!r}, adapted, was better here "
                         "and is used")
        out.append((sc, best, inputs, notes))
    return out


def _operators(repo: Repository) -> list[str]:
    """Codes of the organisations whose teams clear land (new assets may belong to them)."""
    o = s.organisations
    with repo.reader() as uow:
        return [r.code for r in uow.conn.execute(
            select(o.c.code).where(o.c.kind.in_(sorted(CLEARING_KINDS))).order_by(o.c.code))]


def _check_codes(repo: Repository, sc: Scenario, start: date,
                 organisations: Sequence[str]) -> None:
    """Apply the scenario to the teams on record once, for its errors only (fast, no solve)."""
    apply_to_fleet(sc, recorded_fleet(repo), start, organisations=organisations)
