"""CP-SAT model of the same problem: proves optimality on small cases, bounds large ones.

One optional interval per (job, eligible asset) sharing the job's start, exactly one
present, no-overlap per asset; precedence as end <= start; travel times through a
circuit per asset (arc i -> j forces start_j >= end_i + travel) added only when
there is travel, since circuits are costly. Tardiness is ``T_j >= C_j - d_j``,
``T_j >= 0``, tight at the minimum. The model is warm-started (AddHint) from the
local-search schedule so CP-SAT starts with a good incumbent and spends its time on
the bound. On one machine with due dates its bound is weak (LP relaxations of
tardiness are); the engine reports it as is.

Group terms ``W_g * max C_j`` get one variable per group bounded below by each
member's end (minimisation makes it the maximum; plain ``>=`` rows give the LP
relaxation more to work with than an AddMaxEquality). Asset downtime periods are
fixed intervals in the asset's no-overlap, so no job straddles one.

CP-SAT needs integers: the problem must be integral (``Problem.is_integral``);
pass minutes rather than fractional hours.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from demine.planning.problem import Problem, Sequences, Timing


@dataclass(frozen=True)
class CpResult:
    sequences: Sequences | None
    bound: float
    optimal: bool
    status: str


def solve_cpsat(
    problem: Problem,
    hint: tuple[Sequences, Timing] | None,
    *,
    time_limit: float,
    seed: int = 0,
    workers: int = 1,
    on_solution: Callable[[float, float], None] | None = None,
) -> CpResult:
    """Run CP-SAT for ``time_limit`` seconds; ``bound`` is a valid lower bound.

    ``on_solution(objective, bound)`` is called at each improving solution, so a
    caller (the benchmark) can tell when the gap first fell below a threshold.
    """
    if not problem.is_integral():
        raise ValueError("CP-SAT needs integer data")
    n, m = problem.n_jobs, problem.n_assets
    proc, elig = problem.proc, problem.eligible
    rel = problem.release.astype(int)
    maxp = np.where(elig, proc, 0).max(axis=1)
    travel_in = problem.setup.max(axis=(0, 1)) if problem.setup is not None else np.zeros(n)
    horizon = int(max(rel.max(), problem.available.max()) + maxp.sum() + travel_in.sum())
    if problem.downtime:
        horizon += int(max(sum(b - a for a, b in d) for d in problem.downtime))
        horizon = max(horizon, int(max((d[-1][1] for d in problem.downtime if d), default=0)))

    md = cp_model.CpModel()
    start = [md.new_int_var(int(rel[j]), horizon, f"s{j}") for j in range(n)]
    end = [md.new_int_var(0, horizon, f"e{j}") for j in range(n)]
    pres: dict[tuple[int, int], cp_model.IntVar] = {}
    per_asset: list[list[cp_model.IntervalVar]] = [[] for _ in range(m)]
    for j in range(n):
        assets = [int(a) for a in np.flatnonzero(elig[j])]
        lits = []
        for a in assets:
            x = md.new_bool_var(f"x{j}_{a}")
            pres[j, a] = x
            lits.append(x)
            per_asset[a].append(
                md.new_optional_fixed_size_interval_var(start[j], int(proc[j, a]), x, f"i{j}_{a}")
            )
            if problem.available[a] > rel[j]:
                md.add(start[j] >= int(problem.available[a])).only_enforce_if(x)
        md.add_exactly_one(lits)
        md.add(end[j] == start[j] + sum(int(proc[j, a]) * pres[j, a] for a in assets))
    for a, periods in enumerate(problem.downtime):
        for k, (lo, hi) in enumerate(periods):
            lo_i, hi_i = int(lo), min(int(hi), horizon)
            if lo_i < hi_i:
                per_asset[a].append(md.new_fixed_size_interval_var(lo_i, hi_i - lo_i,
                                                                   f"down{a}_{k}"))
    for a in range(m):
        md.add_no_overlap(per_asset[a])
    for i, j in problem.precedence:
        md.add(start[j] >= end[i])

    arcs: dict[tuple[int, int, int], cp_model.IntVar] = {}
    if problem.setup is not None:
        for a in range(m):
            jobs_a = [j for j in range(n) if (j, a) in pres]
            circuit = []
            for j in jobs_a:  # node 0 is the asset's base, job j is node j + 1
                circuit.append((j + 1, j + 1, ~pres[j, a]))
                for key, (u, v) in (((a, -1, j), (0, j + 1)), ((a, j, -1), (j + 1, 0))):
                    lit = md.new_bool_var(f"arc{key}")
                    arcs[key] = lit
                    circuit.append((u, v, lit))
                for k in jobs_a:
                    if k != j:
                        lit = md.new_bool_var(f"arc{a}_{j}_{k}")
                        arcs[a, j, k] = lit
                        circuit.append((j + 1, k + 1, lit))
                        md.add(start[k] >= end[j] + int(problem.setup[a, j, k])
                               ).only_enforce_if(lit)
            circuit.append((0, 0, md.new_bool_var(f"idle{a}")))
            md.add_circuit(circuit)

    terms = []
    tardy: dict[int, cp_model.IntVar] = {}
    for j in range(n):
        if problem.weight[j] > 0 and np.isfinite(problem.due[j]):
            t = md.new_int_var(0, horizon, f"t{j}")
            md.add(t >= end[j] - int(problem.due[j]))
            tardy[j] = t
            terms.append(int(problem.weight[j]) * t)
        if problem.completion_weight[j] > 0:
            terms.append(int(problem.completion_weight[j]) * end[j])
    gvars: list[cp_model.IntVar] = []
    if problem.groups and problem.group_weight is not None:
        for g, (members, w) in enumerate(zip(problem.groups, problem.group_weight,
                                             strict=True)):
            gv = md.new_int_var(0, horizon, f"g{g}")
            for j in members:
                md.add(gv >= end[j])
            gvars.append(gv)
            if w > 0:
                terms.append(int(w) * gv)
    md.minimize(sum(terms))

    if hint is not None:
        seqs, timing = hint
        on = {j: a for a, s in enumerate(seqs) for j in s}
        for j in range(n):
            md.add_hint(start[j], int(timing.start[j]))
            md.add_hint(end[j], int(timing.finish[j]))
            for a in range(m):
                if (j, a) in pres:
                    md.add_hint(pres[j, a], on[j] == a)
            if j in tardy:
                md.add_hint(tardy[j], int(max(0.0, timing.finish[j] - problem.due[j])))
        for gv, members in zip(gvars, problem.groups, strict=False):
            md.add_hint(gv, int(max(timing.finish[j] for j in members)))
        if arcs:
            used = set()
            for a, s in enumerate(seqs):
                chain = [-1, *s, -1] if s else []
                used.update((a, u, v) for u, v in itertools.pairwise(chain))
            for key, lit in arcs.items():
                md.add_hint(lit, key in used)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, float(time_limit))
    solver.parameters.num_workers = max(1, int(workers))
    solver.parameters.random_seed = int(seed)
    callback = None
    if on_solution is not None:
        callback = _Progress(on_solution)
    status = solver.solve(md, callback)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpResult(None, float(solver.best_objective_bound) if terms else 0.0, False, name)
    on_asset: list[list[tuple[int, int, int]]] = [[] for _ in range(m)]
    for (j, a), x in pres.items():
        if solver.boolean_value(x):
            on_asset[a].append((solver.value(start[j]), solver.value(end[j]), j))
    seqs_out = tuple(tuple(j for _, _, j in sorted(lst)) for lst in on_asset)
    bound = float(solver.best_objective_bound) if terms else 0.0
    return CpResult(seqs_out, bound, status == cp_model.OPTIMAL, name)


class _Progress(cp_model.CpSolverSolutionCallback):
    """Reports (objective, bound) at each solution CP-SAT finds."""

    def __init__(self, report: Callable[[float, float], None]) -> None:
        super().__init__()
        self._report = report

    def on_solution_callback(self) -> None:
        self._report(float(self.objective_value), float(self.best_objective_bound))
