"""Iterated local search (ILS): descend, kick, descend again, keep the better.

Why ILS: for 1||sum w_j T_j, iterated dynasearch (Congram, Potts and van de Velde
2002) finds the known optima of the OR-Library instances within fractions of a
second, where a CP model alone stalls at a few percent. The same loop drives a
general neighbourhood (re-inserting a job anywhere on any eligible asset) for the
planner's multi-asset problems.

Stopping: the engine does not know the optimum, so a run ends at the time limit or
after ``stagnation`` consecutive kicks that did not improve the best schedule,
whichever comes first. The stagnation count makes a run deterministic for a seed
whenever it, not the clock, ends the search.

Acceptance: a kicked-and-descended schedule replaces the current one when it is not
worse (sideways moves let the walk cross plateaus); after ``restart`` kicks without
a new best the walk goes back to the best schedule, so it does not drift away.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from demine.planning import dynasearch
from demine.planning.problem import EPS, Problem, Sequences, evaluate

#: Default number of non-improving kicks before a run stops.
STAGNATION = 1000
#: Kicks without a new best before the walk returns to the best schedule.
RESTART = 50


@dataclass(frozen=True)
class SearchResult:
    sequences: Sequences
    objective: float
    time_to_best: float
    kicks: int
    kicks_to_best: int


def ils(
    problem: Problem,
    initial: Sequences,
    *,
    seed: int = 0,
    deadline: float | None = None,
    stagnation: int = STAGNATION,
    clock: Callable[[], float] = time.perf_counter,
) -> SearchResult:
    """Improve ``initial`` until ``deadline`` (a ``clock()`` value) or stagnation.

    ``time_to_best`` is measured from this call's start.
    """
    if problem.is_plain_single_machine():
        return _ils_single(problem, initial, seed, deadline, stagnation, clock)
    return _ils_general(problem, initial, seed, deadline, stagnation, clock)


def _ils_single(
    problem: Problem, initial: Sequences, seed: int, deadline: float | None,
    stagnation: int, clock: Callable[[], float],
) -> SearchResult:
    t0 = clock()
    rng = np.random.default_rng(seed)
    jobs = dynasearch.Jobs(problem.proc[:, 0], problem.weight, problem.due,
                           problem.completion_weight, float(problem.available[0]))
    n = problem.n_jobs
    cur = dynasearch.descend(jobs, np.asarray(initial[0], dtype=np.intp))
    cur_cost = jobs.cost(cur)
    best, best_cost, t_best = cur.copy(), cur_cost, clock() - t0
    kicks = since_best = k_best = 0
    while n > 2 and since_best < stagnation and best_cost > EPS:
        if deadline is not None and clock() >= deadline:
            break
        cand = _kick_swaps(cur, rng)
        cand = dynasearch.descend(jobs, cand)
        cost = jobs.cost(cand)
        kicks += 1
        since_best += 1
        if cost <= cur_cost + EPS:
            cur, cur_cost = cand, cost
        if cost < best_cost - EPS:
            best, best_cost, t_best = cand.copy(), cost, clock() - t0
            since_best, k_best = 0, kicks
        elif since_best % RESTART == 0:
            cur, cur_cost = best.copy(), best_cost
    return SearchResult((tuple(int(j) for j in best),), best_cost, t_best, kicks, k_best)


def _kick_swaps(seq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few random swaps of nearby jobs: large enough to leave the basin, local
    enough that most of the good order survives."""
    out = seq.copy()
    n = len(out)
    span = max(2, n // 5)
    for _ in range(int(rng.integers(2, 6))):
        i = int(rng.integers(0, n))
        j = min(n - 1, max(0, i + int(rng.integers(-span, span + 1))))
        out[i], out[j] = out[j], out[i]
    return out


# --- general problems: several assets, release dates, travel, precedence -----------


def _ils_general(
    problem: Problem, initial: Sequences, seed: int, deadline: float | None,
    stagnation: int, clock: Callable[[], float],
) -> SearchResult:
    t0 = clock()
    rng = np.random.default_rng(seed)
    ev = _Evaluator(problem)
    cur = [list(s) for s in initial]
    cur_cost = ev.total(cur)
    if not np.isfinite(cur_cost):
        raise ValueError("initial schedule is infeasible")
    cur, cur_cost = _descend_general(ev, cur, cur_cost, rng, deadline, clock)
    best, best_cost, t_best = [s[:] for s in cur], cur_cost, clock() - t0
    kicks = since_best = k_best = 0
    while since_best < stagnation and best_cost > EPS and problem.n_jobs > 1:
        if deadline is not None and clock() >= deadline:
            break
        cand = _kick_general(problem, cur, rng)
        cost = ev.total(cand)
        kicks += 1
        since_best += 1
        if np.isfinite(cost):
            cand, cost = _descend_general(ev, cand, cost, rng, deadline, clock)
            if cost <= cur_cost + EPS:
                cur, cur_cost = cand, cost
            if cost < best_cost - EPS:
                best, best_cost, t_best = [s[:] for s in cand], cost, clock() - t0
                since_best, k_best = 0, kicks
        if since_best and since_best % RESTART == 0:
            cur, cur_cost = [s[:] for s in best], best_cost
    return SearchResult(tuple(tuple(s) for s in best), best_cost, t_best, kicks, k_best)


#: With precedence, how many of the best screened insertions are timed exactly.
EXACT_CHECKS = 4


class _Evaluator:
    """Scores re-insertions of one job on one asset, all positions at once.

    Without precedence pairs the objective is a sum over assets, so moving a job only
    changes the two touched assets, and all insertion positions on one asset are
    timed together: the recurrence ``C_k = max(C_{k-1} + travel, ready_k) + p_k``
    runs position by position over a (positions x sequence) array. With precedence
    the assets interact: the same batch, with each job's ready time taken from its
    predecessors' current finish, only screens the moves, and the few best are then
    timed whole by ``evaluate`` before one is accepted.

    Group terms (``W_g * max C_j``) also couple assets. For screening, each group's
    weight is charged to its currently last-finishing member as an extra completion
    weight (the member whose delay would move the maximum); the exact check then
    scores the true objective.
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.separable = not problem.precedence and not problem.groups
        self.ready = problem.release.astype(float).copy()
        self.extra_wc = np.zeros(problem.n_jobs)
        self.cols = [
            (problem.proc[:, a].copy(),
             None if problem.setup is None else problem.setup[a])
            for a in range(problem.n_assets)
        ]

    def total(self, seqs: list[list[int]]) -> float:
        return evaluate(self.problem, seqs).objective

    def refresh(self, seqs: list[list[int]]) -> None:
        """Ready times for screening: release, or later if a predecessor ends later."""
        if self.separable:
            return
        pb = self.problem
        finish = evaluate(pb, seqs).finish
        ready = pb.release.astype(float).copy()
        for i, j in pb.precedence:
            ready[j] = max(ready[j], finish[i])
        self.ready = ready
        if pb.groups and pb.group_weight is not None:
            extra = np.zeros(pb.n_jobs)
            for g, w in zip(pb.groups, pb.group_weight, strict=True):
                idx = np.asarray(g)
                extra[idx[int(np.argmax(finish[idx]))]] += w
            self.extra_wc = extra

    def batch(self, a: int, cands: np.ndarray) -> np.ndarray:
        """Cost of each row of ``cands`` (equal-length orders) run on asset ``a``."""
        pb = self.problem
        rows, length = cands.shape
        cost = np.zeros(rows)
        proc, setup = self.cols[a]
        ready, due, wt = self.ready, pb.due, pb.weight
        wc = pb.completion_weight + self.extra_wc
        down = pb.downtime[a] if pb.downtime else ()
        t = np.full(rows, float(pb.available[a]))
        prev = None
        for k in range(length):
            j = cands[:, k]
            if setup is not None and prev is not None:
                t = t + setup[prev, j]
            t = np.maximum(t, ready[j])
            for lo, hi in down:  # periods are sorted and disjoint: one pass suffices
                t = np.where((t < hi) & (t + proc[j] > lo), hi, t)
            t = t + proc[j]
            cost += wt[j] * np.maximum(t - due[j], 0.0)
            cost += wc[j] * t
            prev = j
        return cost

    def one(self, a: int, seq: list[int]) -> float:
        return float(self.batch(a, np.asarray([seq], dtype=np.intp).reshape(1, -1))[0])


def _insertions(seq: list[int], job: int) -> np.ndarray:
    """Every order obtained by inserting ``job`` into ``seq``: row q is seq[:q], job, seq[q:]."""
    length = len(seq) + 1
    if length == 1:
        return np.full((1, 1), job, dtype=np.intp)
    pos = np.arange(length)
    src = np.where(pos[None, :] > pos[:, None], pos[None, :] - 1, pos[None, :])
    out = np.asarray(seq, dtype=np.intp)[np.minimum(src, length - 2)]
    out[pos, pos] = job
    return out


def _descend_general(
    ev: _Evaluator, seqs: list[list[int]], cost: float, rng: np.random.Generator,
    deadline: float | None, clock: Callable[[], float],
) -> tuple[list[list[int]], float]:
    """Best re-insertion of each job in turn (random order) until none improves."""
    pb = ev.problem
    seqs = [s[:] for s in seqs]
    where = {j: a for a, s in enumerate(seqs) for j in s}
    ev.refresh(seqs)
    asset_cost = [ev.one(a, s) for a, s in enumerate(seqs)]
    improved = True
    while improved:
        improved = False
        for job in rng.permutation(pb.n_jobs):
            if deadline is not None and clock() >= deadline:
                return seqs, cost
            job = int(job)
            a0 = where[job]
            without = [j for j in seqs[a0] if j != job]
            rest = ev.one(a0, without)
            screened: list[tuple[float, int, np.ndarray]] = []
            for a in np.flatnonzero(pb.eligible[job]):
                a = int(a)
                cands = _insertions(without if a == a0 else seqs[a], job)
                new = ev.batch(a, cands)
                if a == a0:
                    delta = new - asset_cost[a0]
                else:
                    delta = new - asset_cost[a] + rest - asset_cost[a0]
                order = np.argsort(delta, kind="stable")[:EXACT_CHECKS]
                screened.extend((float(delta[r]), a, cands[r]) for r in order)
            screened.sort(key=lambda x: x[0])
            best_delta, best_move = -EPS, None
            if ev.separable:
                if screened and screened[0][0] < best_delta:
                    best_delta, best_move = screened[0][0], screened[0][1:]
            else:
                for _, a, row in screened[:EXACT_CHECKS]:
                    trial = list(seqs)
                    trial[a0] = without
                    trial[a] = [int(x) for x in row]
                    delta = ev.total(trial) - cost
                    if delta < best_delta:
                        best_delta, best_move = delta, (a, row)
            if best_move is not None:
                a, row = best_move
                seqs[a0] = without
                seqs[a] = [int(x) for x in row]
                where[job] = a
                cost = ev.total(seqs)
                ev.refresh(seqs)
                asset_cost[a0] = ev.one(a0, seqs[a0])
                asset_cost[a] = ev.one(a, seqs[a])
                improved = True
    return seqs, cost


def _kick_general(problem: Problem, seqs: list[list[int]],
                  rng: np.random.Generator) -> list[list[int]]:
    """A few random moves: swap two jobs on one asset, or move a job to another asset."""
    out = [s[:] for s in seqs]
    for _ in range(int(rng.integers(2, 5))):
        job = int(rng.integers(problem.n_jobs))
        a0 = next(a for a, s in enumerate(out) if job in s)
        assets = np.flatnonzero(problem.eligible[job])
        if len(assets) > 1 and rng.random() < 0.5:
            a = int(rng.choice(assets[assets != a0]))
            out[a0].remove(job)
            out[a].insert(int(rng.integers(len(out[a]) + 1)), job)
        elif len(out[a0]) > 1:
            i = out[a0].index(job)
            j = int(rng.integers(len(out[a0])))
            out[a0][i], out[a0][j] = out[a0][j], out[a0][i]
    return out
