"""Apparent Tardiness Cost (ATC) dispatching: a fast, sensible first schedule.

ATC (Vepsalainen and Morton) ranks waiting jobs by weight/duration discounted
exponentially by their slack, so urgent heavy short jobs go first and far-off ones
wait. On several assets with release dates and precedence it is used as a list
scheduler in the Giffler-Thompson way: only (job, asset) pairs that could start
before the earliest possible finish compete, which keeps assets from idling for a
job that is not there yet. The result seeds local search; it is not meant to be good
on its own (on OR-Library wt40 it is a few percent off the optimum).
"""

from __future__ import annotations

from collections.abc import Iterable

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
        slack = np.maximum(due[cand, None] - p - est, 0.0)
        urgency = np.exp(-np.where(np.isfinite(slack), slack, np.inf) / (k * p_bar))
        prio = (wt[cand, None] * urgency + wc[cand, None]) / np.maximum(p, 1e-9)
        prio = np.where(conflict, prio, -np.inf)
        # Ties (e.g. all weights zero) go to the earliest finish, then the lowest index.
        flat = np.lexsort((np.arange(prio.size), eft.ravel(), -prio.ravel()))[0]
        ci, a = divmod(int(flat), m)
        j = int(cand[ci])
        finish[j] = est[ci, a] + proc[j, a]
        free[a] = finish[j]
        last[a] = j
        waiting[j] = False
        seqs[a].append(j)
        for s in succ[j]:
            n_preds[s] -= 1
            pred_ready[s] = max(pred_ready[s], finish[j])
    return tuple(tuple(s) for s in seqs)


def atc_best(problem: Problem, ks: Iterable[float] = K_GRID) -> tuple[Sequences, float]:
    """The best ATC schedule over a grid of look-ahead values, with its objective."""
    best: tuple[Sequences, float] | None = None
    for k in ks:
        seqs = atc(problem, k)
        obj = evaluate(problem, seqs).objective
        if best is None or obj < best[1]:
            best = (seqs, obj)
    assert best is not None
    return best
