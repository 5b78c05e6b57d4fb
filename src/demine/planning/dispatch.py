"""Apparent Tardiness Cost (ATC) dispatching: a fast, sensible first schedule.

ATC (Vepsalainen and Morton) ranks waiting jobs by weight/duration discounted
exponentially by their slack, so urgent heavy short jobs go first and far-off ones
wait. On several assets with release dates and precedence it is used as a list
scheduler in the Giffler-Thompson way: only (job, asset) pairs that could start
before the earliest possible finish compete, which keeps assets from idling for a
job that is not there yet. The result seeds local search; it is not meant to be good
on its own (on OR-Library wt40 it is a few percent off the optimum).

Group terms (a settlement reopens when its last blocker is done) add to each job's
priority ``sum(W_g / remaining work of g)`` over its groups: the group-level
weighted-shortest-processing-time rule, which finishes heavy groups with little work
left first instead of spreading effort over many half-cleared settlements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from demine.planning.problem import Problem, Sequences, evaluate

#: Look-ahead parameters tried by :func:`atc_best`; the best on the instance wins.
#: No single K suits every due-date tightness, and each run costs O(n^2 m).
K_GRID = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def atc(problem: Problem, k: float = 2.0) -> Sequences:
    """One ATC list-scheduling pass with look-ahead ``k``; always feasible."""
    n, m = problem.n_jobs, problem.n_assets
    proc, elig = problem.proc, problem.eligible
    p_bar = float(np.mean(np.where(elig, proc, np.nan)[elig])) or 1.0
    free = problem.available.astype(float).copy()
    last = np.full(m, -1)
    finish = np.zeros(n)
    n_preds = np.array([len(p) for p in problem.preds])
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, j in problem.precedence:
        succ[i].append(j)
    pred_ready = problem.release.astype(float).copy()
    waiting = np.ones(n, dtype=bool)
    seqs: list[list[int]] = [[] for _ in range(m)]
    wt, wc, due = problem.weight, problem.completion_weight, problem.due
    gscore, update_groups = _group_scores(problem)
    for _ in range(n):
        cand = np.flatnonzero(waiting & (n_preds == 0))
        est = np.maximum(free[None, :], pred_ready[cand, None])
        if problem.setup is not None:
            travel = np.zeros((len(cand), m))
            for a in range(m):
                if last[a] >= 0:
                    travel[:, a] = problem.setup[a, last[a], cand]
            est = np.maximum(free[None, :] + travel, pred_ready[cand, None])
        p = proc[cand]
        eft = np.where(elig[cand], est + p, np.inf)
        t_star = eft.min()
        conflict = elig[cand] & (est < t_star)
        if not conflict.any():  # zero-duration jobs: est == eft
            conflict = eft == t_star
        with np.errstate(invalid="ignore"):  # inf - inf on ineligible pairs; masked below
            slack = np.maximum(due[cand, None] - p - est, 0.0)
        urgency = np.exp(-np.where(np.isfinite(slack), slack, np.inf) / (k * p_bar))
        prio = (wt[cand, None] * urgency + wc[cand, None]) / np.maximum(p, 1e-9)
        prio = prio + gscore[cand, None]
        prio = np.where(conflict, prio, -np.inf)
        # Ties (e.g. all weights zero) go to the earliest finish, then the lowest index.
        flat = _best_pair(prio.ravel(), eft.ravel())
        ci, a = divmod(int(flat), m)
        j = int(cand[ci])
        finish[j] = est[ci, a] + proc[j, a]
        free[a] = finish[j]
        last[a] = j
        waiting[j] = False
        seqs[a].append(j)
        update_groups(j)
        for s in succ[j]:
            n_preds[s] -= 1
            pred_ready[s] = max(pred_ready[s], finish[j])
    return tuple(tuple(s) for s in seqs)


def _best_pair(prio: np.ndarray, eft: np.ndarray) -> int:
    """Index of the highest priority, ties to the earliest finish, then the lowest index.

    Same answer as a three-key lexsort, without sorting the whole (jobs x assets) array.
    """
    top = np.flatnonzero(prio == prio.max())
    if len(top) == 1:
        return int(top[0])
    e = eft[top]
    return int(top[np.flatnonzero(e == e.min())[0]])


def _group_scores(problem: Problem) -> tuple[np.ndarray, Callable[[int], None]]:
    """Per-job ``sum(W_g / remaining work of g)`` and the update to call once a job is placed.

    A job's work is its shortest duration on any asset, a fair proxy before it is placed.
    """
    n = problem.n_jobs
    score = np.zeros(n)
    if not problem.groups or problem.group_weight is None:
        return score, lambda j: None
    pmin = np.where(problem.eligible, problem.proc, np.inf).min(axis=1)
    pmin = np.maximum(pmin, 1e-9)
    member_of: list[list[int]] = [[] for _ in range(n)]
    rem = np.zeros(len(problem.groups))
    for g, members in enumerate(problem.groups):
        rem[g] = pmin[list(members)].sum()
        for j in members:
            member_of[j].append(g)
    weights = problem.group_weight
    for g, members in enumerate(problem.groups):
        score[list(members)] += weights[g] / rem[g]

    def update(j: int) -> None:
        for g in member_of[j]:
            old = weights[g] / rem[g]
            rem[g] = max(rem[g] - pmin[j], 1e-9)
            score[list(problem.groups[g])] += weights[g] / rem[g] - old

    return score, update


def atc_best(problem: Problem, ks: Iterable[float] = K_GRID) -> tuple[Sequences, float]:
    """The best ATC schedule over a grid of look-ahead values, with its objective.

    Without weighted due dates the look-ahead changes nothing, so one pass is run.
    """
    if not (np.isfinite(problem.due) & (problem.weight > 0)).any():
        ks = list(ks)[:1]
    best: tuple[Sequences, float] | None = None
    for k in ks:
        seqs = atc(problem, k)
        obj = evaluate(problem, seqs).objective
        if best is None or obj < best[1]:
            best = (seqs, obj)
    assert best is not None
    return best
