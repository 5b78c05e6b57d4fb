"""Schedules built group by group: finish one settlement's hazards before starting the next.

Why: with a ``W_g * max C_j`` objective, work on a settlement only pays once *all*
its hazards are released, so a job-by-job rule (ATC) that spreads teams over many
half-cleared settlements wastes effort. Here a priority order of the groups is
fixed, their jobs are list-scheduled in that order (each to the asset that finishes
it first), and a search over the group order (moving one group earlier or later) is
cheap: one pass is ``O(n m)`` with numpy over the assets. Smith's rule on the groups'
pooled work gives the starting order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from demine.planning.problem import EPS, Problem, Sequences, evaluate, group_costs, job_costs


def list_schedule(problem: Problem, order: Sequence[int]) -> Sequences:
    """Jobs of the groups in ``order`` (then any others), each on its earliest-finish asset.

    A job is placed only after its predecessors; jobs a group shares with an earlier
    group are already placed. Every asset's jobs run in placement order, so
    ``evaluate`` reproduces the times computed here.
    """
    n, m = problem.n_jobs, problem.n_assets
    placed = np.zeros(n, dtype=bool)
    finish = np.zeros(n)
    free = problem.available.astype(float).copy()
    seqs: list[list[int]] = [[] for _ in range(m)]
    proc, preds = problem.proc, problem.preds
    sequence: list[int] = []
    seen = np.zeros(n, dtype=bool)
    for g in order:
        for j in problem.groups[g]:
            if not seen[j]:
                seen[j] = True
                sequence.append(j)
    sequence.extend(int(j) for j in np.flatnonzero(~seen))
    lo, hi = _downtime_arrays(problem)
    pending = list(sequence)
    while pending:
        waiting = []
        for j in pending:
            if any(not placed[i] for i in preds[j]):
                waiting.append(j)
                continue
            ready = max([problem.release[j], *(finish[i] for i in preds[j])])
            start = np.maximum(free, ready)
            for k in range(lo.shape[1]):  # periods sorted and disjoint: one pass
                start = np.where((start < hi[:, k]) & (start + proc[j] > lo[:, k]),
                                 hi[:, k], start)
            end = start + proc[j]
            a = int(np.argmin(end))
            finish[j] = end[a]
            free[a] = end[a]
            seqs[a].append(j)
            placed[j] = True
        if len(waiting) == len(pending):
            raise ValueError("precedence cycle")
        pending = waiting
    return tuple(tuple(s) for s in seqs)


def _downtime_arrays(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Downtime as (assets x periods) arrays, padded with empty periods at infinity."""
    m = problem.n_assets
    k = max((len(d) for d in problem.downtime), default=0)
    lo = np.full((m, k), np.inf)
    hi = np.full((m, k), np.inf)
    for a, periods in enumerate(problem.downtime):
        for i, (x, y) in enumerate(periods):
            lo[a, i], hi[a, i] = x, y
    return lo, hi


def smith_order(problem: Problem) -> list[int]:
    """Groups by weight over pooled work (shortest duration of each job, shared jobs split).

    Groups holding jobs with weighted due dates are then moved to the latest place at
    which, with all assets pooled, they would still finish by their earliest due date
    (a rough fluid estimate, hence a 20 % margin), so sowing deadlines are not left to
    the end of the season just because the land feeds few people.
    """
    assert problem.group_weight is not None
    pmin = np.where(problem.eligible, problem.proc, np.inf).min(axis=1)
    mult = np.zeros(problem.n_jobs)
    for g in problem.groups:
        mult[list(g)] += 1
    work = np.array([(pmin[list(g)] / mult[list(g)]).sum() for g in problem.groups])
    ratio = problem.group_weight / np.maximum(work, 1e-9)
    order = [int(g) for g in np.argsort(-ratio, kind="stable")]
    due = np.array([min((problem.due[j] for j in g if problem.weight[j] > 0), default=np.inf)
                    for g in problem.groups])
    urgent = [g for g in order if np.isfinite(due[g])]
    if not urgent:
        return order
    rest = [g for g in order if not np.isfinite(due[g])]
    scale = 1.0 / problem.n_assets
    for g in sorted(urgent, key=lambda g: due[g]):
        elapsed = np.concatenate([[0.0], np.cumsum(work[rest]) * scale])
        fits = np.flatnonzero(elapsed + work[g] * scale <= 0.8 * due[g])
        rest.insert(int(fits[-1]) if len(fits) else 0, g)
    return rest


def repair_deadlines(problem: Problem, order: list[int], rounds: int = 6
                     ) -> tuple[list[int], Sequences, float]:
    """Move groups that finish after their due date ahead of the groups they waited for.

    A late group goes just before the first group in the order that completes after
    its due date less its own duration; repeated a few rounds, keeping the best order.
    The fluid estimate in :func:`smith_order` places deadlines roughly; this uses the
    real list schedule.
    """
    due = np.array([min((problem.due[j] for j in g if problem.weight[j] > 0), default=np.inf)
                    for g in problem.groups])
    pmin = np.where(problem.eligible, problem.proc, np.inf).min(axis=1)
    span = np.array([pmin[list(g)].max() for g in problem.groups])
    seqs = list_schedule(problem, order)
    best = evaluate(problem, seqs)
    best_order = order
    for _ in range(rounds if np.isfinite(due).any() else 0):
        done = np.array([best.finish[list(g)].max() for g in problem.groups])
        late = [g for g in best_order if done[g] > due[g]]
        if not late:
            break
        cand = best_order[:]
        for g in late:
            pos = cand.index(g)
            target = next((p for p, h in enumerate(cand)
                           if done[h] > due[g] - span[g] - 1), pos)
            if target < pos:
                cand.insert(target, cand.pop(pos))
        cs = list_schedule(problem, cand)
        t = evaluate(problem, cs)
        if t.objective < best.objective - EPS:
            best, seqs, best_order = t, cs, cand
        else:
            break
    return best_order, seqs, best.objective


class _Incremental:
    """List schedules that restart from the first group whose position changed.

    A state snapshot (asset free times, finish times, placed jobs, sequence lengths) is
    kept at every group boundary of the accepted order, so a move near the end of the
    order costs little. Used only when every job's predecessors come earlier in the
    job sequence (true for the district model, where preparation precedes the chunks
    of the same hazard); otherwise the caller falls back to :func:`list_schedule`.
    """

    def __init__(self, problem: Problem, order: list[int]) -> None:
        self.pb = problem
        self.lo, self.hi = _downtime_arrays(problem)
        grouped = np.zeros(problem.n_jobs, dtype=bool)
        for g in problem.groups:
            grouped[list(g)] = True
        self.loose = [int(j) for j in np.flatnonzero(~grouped)]
        free = problem.available.astype(float).copy()
        self.snaps = [(free, np.zeros(problem.n_jobs), np.zeros(problem.n_jobs, dtype=bool),
                       (0,) * problem.n_assets)]
        self.seqs: list[list[int]] = [[] for _ in range(problem.n_assets)]
        self.order: list[int] = []
        res = self.run(order, 0)
        if res is None:
            raise ValueError("job sequence breaks precedence")
        self.accept(order, 0, res)

    def run(self, order: list[int], p: int):
        """Schedule ``order`` from group position ``p``; None if precedence is broken."""
        pb = self.pb
        free, finish, placed, lens = self.snaps[p]
        free, finish, placed = free.copy(), finish.copy(), placed.copy()
        seqs = [s[:n] for s, n in zip(self.seqs, lens, strict=True)]
        snaps = []
        proc, preds, lo, hi = pb.proc, pb.preds, self.lo, self.hi
        blocks = [pb.groups[g] for g in order[p:]] + [tuple(self.loose)]
        for block in blocks:
            for j in block:
                if placed[j]:
                    continue
                ready = pb.release[j]
                for i in preds[j]:
                    if not placed[i]:
                        return None
                    ready = max(ready, finish[i])
                start = np.maximum(free, ready)
                for k in range(lo.shape[1]):
                    start = np.where((start < hi[:, k]) & (start + proc[j] > lo[:, k]),
                                     hi[:, k], start)
                end = start + proc[j]
                a = int(np.argmin(end))
                finish[j] = free[a] = end[a]
                seqs[a].append(j)
                placed[j] = True
            snaps.append((free.copy(), finish.copy(), placed.copy(), tuple(map(len, seqs))))
        obj = float(job_costs(pb, finish).sum()) + group_costs(pb, finish)
        return obj, seqs, snaps

    def accept(self, order: list[int], p: int, res) -> None:
        _, seqs, snaps = res
        self.order = order
        self.seqs = seqs
        self.snaps = self.snaps[: p + 1] + snaps[:-1]


def search_order(
    problem: Problem, *, seed: int = 0, deadline: float | None = None,
    max_moves: int = 2_000, clock: Callable[[], float] = time.perf_counter,
    initial: Sequence[int] | None = None, stop: Callable[[], bool] | None = None,
) -> tuple[Sequences, float, list[int]]:
    """Smith's order (or ``initial``) improved by moving single groups; stops at
    ``max_moves``, ``deadline`` or when ``stop()`` says so (checked every 50 moves).

    A move takes a random group and re-inserts it a random distance earlier or later;
    it is kept when the evaluated objective does not get worse. Deterministic for a
    seed when ``max_moves``, not the clock, ends it.
    """
    if not problem.groups:
        raise ValueError("no groups to order")
    rng = np.random.default_rng(seed)
    start = list(initial) if initial is not None else smith_order(problem)
    order, seqs, best = repair_deadlines(problem, start)
    try:
        inc: _Incremental | None = _Incremental(problem, order)
    except ValueError:
        inc = None
    k = len(order)
    for move in range(max_moves if k > 1 else 0):
        if deadline is not None and clock() >= deadline:
            break
        if stop is not None and move % 50 == 0 and stop():
            break
        i = int(rng.integers(k))
        span = max(1, k // 10)
        dest = min(k - 1, max(0, i + int(rng.integers(-span, span + 1))))
        if dest == i:
            continue
        cand = order[:]
        g = cand.pop(i)
        cand.insert(dest, g)
        res = None if inc is None else inc.run(cand, min(i, dest))
        if res is None:
            cs = list_schedule(problem, cand)
            obj = evaluate(problem, cs).objective
        else:
            obj = res[0]
        if obj <= best + EPS:
            order, best = cand, obj
            if res is None:
                seqs, inc = cs, None
            else:
                assert inc is not None
                inc.accept(cand, min(i, dest), res)
                seqs = tuple(tuple(x) for x in res[1])
    return seqs, best, order
