"""The sequencing engine: ATC first schedule, iterated local search, then CP-SAT.

Why three stages: dispatching is instant but a few percent off; local search closes
that gap quickly (on one machine it reaches the known optima) but cannot prove
anything; CP-SAT proves optimality on small problems and otherwise supplies a lower
bound, and may still improve a schedule local search got stuck on. Local search
stops at its stagnation limit (see ``local_search``) or at ``local_search_share`` of
the time limit, and CP-SAT gets the rest. ``proven_optimal`` is only set when CP-SAT
says OPTIMAL or the best known bound meets the objective; a schedule that happens to
be optimal but was not proven stays ``False``.

Determinism: for a given seed the answer is reproducible when the stagnation limit
(an iteration count), not the wall clock, ends local search and CP-SAT either proves
optimality or is off (``use_cpsat=False``); a CP-SAT run cut by its time limit may
stop at a different incumbent or bound from run to run.
"""

from __future__ import annotations

import time

import numpy as np

from demine.planning.cpsat_model import solve_cpsat
from demine.planning.dispatch import atc_best
from demine.planning.local_search import STAGNATION, ils
from demine.planning.problem import EPS, Problem, Schedule, Sequences, evaluate

__all__ = ["Problem", "Schedule", "schedule_of", "solve"]


def schedule_of(
    problem: Problem,
    sequences: Sequences,
    *,
    lower_bound: float | None = None,
    proven_optimal: bool = False,
    time_to_best: float = 0.0,
    elapsed: float = 0.0,
    source: str = "given",
    stats: dict[str, float] | None = None,
) -> Schedule:
    """Time ``sequences`` and wrap them; raises on an infeasible order."""
    timing = evaluate(problem, sequences)
    if not timing.feasible:
        raise ValueError("infeasible sequences")
    asset = np.empty(problem.n_jobs, dtype=int)
    for a, seq in enumerate(sequences):
        asset[list(seq)] = a
    if lower_bound is not None and lower_bound >= timing.objective - EPS:
        proven_optimal = True
    return Schedule(
        sequences=tuple(tuple(int(j) for j in s) for s in sequences),
        asset=asset, start=timing.start, finish=timing.finish,
        objective=timing.objective, lower_bound=lower_bound,
        proven_optimal=proven_optimal, time_to_best=time_to_best, elapsed=elapsed,
        source=source, stats=dict(stats or {}),
    )


def solve(
    problem: Problem,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    stagnation: int = STAGNATION,
    use_cpsat: bool = True,
    cpsat_time_limit: float | None = None,
    cpsat_workers: int = 1,
    local_search_share: float = 0.7,
) -> Schedule:
    """Best schedule found within ``time_limit`` seconds.

    ``cpsat_time_limit`` caps the CP-SAT stage (default: whatever local search left
    of ``time_limit``). CP-SAT runs only on integral data. ``cpsat_workers`` is 1 by
    default: on a shared machine one worker is predictable, more workers give a
    better bound. With CP-SAT on, local search may use at most
    ``local_search_share`` of the time limit, so a large problem whose local search
    never stagnates still gets a bound.
    """
    clock = time.perf_counter
    t0 = clock()
    deadline = t0 + time_limit
    seqs, obj = atc_best(problem)
    stats: dict[str, float] = {"atc_objective": obj}
    source, t_best = "atc", clock() - t0
    bound = problem.trivial_lower_bound()
    if bound < obj - EPS:
        share = local_search_share if use_cpsat else 1.0
        res = ils(problem, seqs, seed=seed, deadline=t0 + share * time_limit,
                  stagnation=stagnation, clock=clock)
        stats["ils_kicks"] = res.kicks
        stats["ils_kicks_to_best"] = res.kicks_to_best
        if res.objective < obj - EPS:
            seqs, obj, source = res.sequences, res.objective, "local_search"
            t_best = t_best + res.time_to_best
    stats["ils_seconds"] = clock() - t0
    proven = bound >= obj - EPS
    remaining = deadline - clock()
    if cpsat_time_limit is not None:
        remaining = min(remaining, cpsat_time_limit)
    if use_cpsat and not proven and remaining > 0.05 and problem.is_integral():
        t_cp = clock()
        cp = solve_cpsat(problem, (seqs, evaluate(problem, seqs)), time_limit=remaining,
                         seed=seed, workers=cpsat_workers)
        stats["cpsat_seconds"] = clock() - t_cp
        bound = max(bound, cp.bound)
        if cp.sequences is not None:
            cp_obj = evaluate(problem, cp.sequences).objective
            if cp_obj < obj - EPS:
                seqs, obj, source = cp.sequences, cp_obj, "cpsat"
                t_best = clock() - t0  # upper estimate: CP-SAT does not say when
        proven = cp.optimal or bound >= obj - EPS
        if cp.optimal:
            bound = max(bound, obj)
    return schedule_of(problem, seqs, lower_bound=bound, proven_optimal=proven,
                       time_to_best=t_best, elapsed=clock() - t0, source=source,
                       stats=stats)
