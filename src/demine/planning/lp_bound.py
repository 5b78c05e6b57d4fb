"""A time-indexed linear relaxation of the district schedule: a stronger lower bound.

The fluid bound (:func:`demine.planning.schedule.fluid_bound`) merges each asset pool
into one machine and charges a settlement by a weighted average of its items'
completions. On the bench district it certifies no better than a 30 % gap, and on
small instances CP-SAT solves to optimality it sits a third below the optimum. This
relaxation keeps three things the fluid bound gives up (it is not stronger in every
case, since it sees an item's completion only through its mean busy time, so the plan
reports the best of all the bounds):

- a settlement reopens at the *latest* of its items (``C_g >= C_j`` for each item),
  not at an average;
- an item is worked by one asset at a time, so no more than one asset's rate flows
  into it per day (``x[j, b] <= c_j / d_j`` per day of bucket ``b``);
- capacity is counted per time bucket, from each asset's first day and without its
  unavailable periods, for every pool of assets an item is confined to (all assets,
  verification teams, machines, and every distinct eligibility set).

Work is measured in pooled units: asset ``a`` does ``r_a`` units a day (its open-ground
rate over its working week) and item ``j`` needs ``c_j = min over eligible a of
proc[j, a] * r_a`` of them, so whichever asset works it, for however long, the units
fit that asset's capacity. An item's completion is at least its mean busy time plus
half its shortest duration (exact for one asset working it without pause), the mean
busy time is bounded below by the start of each bucket its work falls in, and the
last bucket is open-ended, so the relaxation holds for every schedule, however long.
Precedence (ground preparation before verification) adds ``C_j >= C_i + d_j``.

The value is used only when GLOP reports the LP solved to optimality: a primal value
short of the optimum is not a bound. A national plan builds and solves the LP in a
child process (:class:`BackgroundBound`) on the machine's other core while the search
runs.

The LP also says in which order the settlements reopen in its solution. Followed by a
list schedule (:func:`demine.planning.group_order.list_schedule`), that order is a good
plan in its own right: on the bench district 14.77 M people-days at once, against
15.40 M for 60 s of search from Smith's order, so the planner searches on from it.
"""

from __future__ import annotations

import contextlib
import pickle
import select
import subprocess
import sys
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from ortools.linear_solver import pywraplp

from demine.planning.problem import Problem

#: Buckets over the horizon (see :func:`bucket_edges`): fewer means a faster LP and a
#: weaker bound. On the bench district (1,592 items, a 618-day first plan, idle 2-core
#: machine): 48 buckets 12.18 M in 13 s, 64 buckets 12.41 M in 21 s, 96 buckets
#: 12.52 M in 44 s (the best plan found: 15.4 M).
BUCKETS = 64
#: Seconds GLOP took per item-bucket variable there (21 s for 1,592 x 64), to fit the
#: buckets to the time a plan has (:func:`buckets_for`).
SECONDS_PER_VARIABLE = 21.0 / (1_592 * 64)


def buckets_for(n_items: int, seconds: float) -> int:
    """As many buckets (at most :data:`BUCKETS`, at least 16) as should solve in half of
    ``seconds`` on a machine like the bench's; a slower one only loses the LP bound."""
    fit = 0.5 * seconds / (SECONDS_PER_VARIABLE * max(1, n_items))
    return int(min(BUCKETS, max(16, fit)))
#: The LP's value is shaved by this share before it is reported, for GLOP's tolerances.
SAFETY = 1e-6


@dataclass(frozen=True)
class Pools:
    """What the relaxation needs beyond the engine problem: each asset's daily rate in
    pooled units and the asset pools whose capacity is counted."""

    speed: np.ndarray
    pools: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Relaxation:
    """The LP solved: its optimum (the bound) and each group's completion in it, an
    order for the groups that a list schedule can follow (:mod:`group_order`)."""

    bound: float
    group_completion: np.ndarray


def time_indexed_relaxation(pb: Problem, pools: Pools, *, horizon: float,
                            buckets: int = BUCKETS, time_limit: float | None = None
                            ) -> Relaxation | None:
    """The LP solved (its optimum a lower bound on the engine objective), or None if
    GLOP did not prove it optimal in ``time_limit``.

    ``horizon``: where the open-ended last bucket begins (e.g. a known plan's makespan;
    any value is valid, a close one is tight).
    """
    n, m = pb.n_jobs, pb.n_assets
    elig = np.isfinite(pb.proc)
    speed = pools.speed
    work = np.where(elig, pb.proc * speed[None, :], np.inf).min(axis=1)
    dur = np.where(elig, pb.proc, np.inf).min(axis=1)
    avail = np.asarray(pb.available, dtype=float)
    es = np.maximum(pb.release, np.where(elig, avail[None, :], np.inf).min(axis=1))
    for _ in range(n if pb.precedence else 0):  # longest path; stops when settled
        before = es.copy()
        for i, j in pb.precedence:
            es[j] = max(es[j], es[i] + dur[i])
        if np.array_equal(before, es):
            break
    edges = bucket_edges(horizon, buckets)
    lo, hi = edges[:-1], edges[1:]
    end = float(hi[-1])
    capacity = _capacity(pb, speed, avail, lo, hi)

    s = pywraplp.Solver.CreateSolver("GLOP")
    if time_limit is not None:
        s.SetTimeLimit(max(1, int(time_limit * 1000)))
    inf = s.infinity()
    completion = [s.NumVar(float(es[j] + dur[j]), inf, "") for j in range(n)]
    in_bucket: list[list[tuple[int, pywraplp.Variable]]] = [[] for _ in lo]
    for j in range(n):
        if not work[j] > 0:
            continue
        rate = work[j] / dur[j]
        later = s.NumVar(0.0, inf, "")  # work in the open-ended bucket from ``end``
        cols = []
        for b in np.flatnonzero(hi > es[j]):
            start = max(float(lo[b]), float(es[j]))
            v = s.NumVar(0.0, rate * (float(hi[b]) - start), "")
            cols.append((start, v))
            in_bucket[b].append((j, v))
        s.Add(sum(v for _, v in cols) + later == float(work[j]))
        busy = sum(v * (start / work[j]) for start, v in cols) + later * (end / work[j])
        s.Add(completion[j] >= busy + float(dur[j]) / 2)
    for pool in pools.pools:
        inside = np.zeros(m, dtype=bool)
        inside[list(pool)] = True
        confined = ~(elig & ~inside[None, :]).any(axis=1)
        cap = capacity[list(pool)].sum(axis=0)
        for b, column in enumerate(in_bucket):
            terms = [v for j, v in column if confined[j]]
            if terms:
                s.Add(sum(terms) <= float(cap[b]))
    for i, j in pb.precedence:
        s.Add(completion[j] >= completion[i] + float(dur[j]))
    objective = []
    latest_of: list[pywraplp.Variable] = []
    if pb.groups and pb.group_weight is not None:
        for group, w in zip(pb.groups, pb.group_weight, strict=True):
            latest = s.NumVar(0.0, inf, "")
            for j in group:
                s.Add(latest >= completion[j])
            objective.append(float(w) * latest)
            latest_of.append(latest)
    for j in range(n):
        if pb.completion_weight[j]:
            objective.append(float(pb.completion_weight[j]) * completion[j])
        if pb.weight[j] and np.isfinite(pb.due[j]):
            late = s.NumVar(0.0, inf, "")
            s.Add(late >= completion[j] - float(pb.due[j]))
            objective.append(float(pb.weight[j]) * late)
    if not objective:
        return Relaxation(0.0, np.zeros(0))
    s.Minimize(sum(objective))
    if s.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return Relaxation(s.Objective().Value() * (1 - SAFETY),
                      np.array([v.solution_value() for v in latest_of]))


def bucket_edges(horizon: float, buckets: int) -> np.ndarray:
    """Whole-day bucket edges from 0 past ``horizon``, each bucket a fixed share longer
    than the last: the early days, when the heavy settlements reopen, are measured
    finely, the long tail of farmland coarsely."""
    growth = 1.0
    for _ in range(60):  # the growth rate that spans the horizon in ``buckets``
        lengths = np.maximum(1.0, np.round(growth ** np.arange(buckets)))
        if lengths.sum() >= horizon:
            break
        growth *= 1.02
    return np.concatenate([[0.0], np.cumsum(lengths)])


def _capacity(pb: Problem, speed: np.ndarray, avail: np.ndarray, lo: np.ndarray,
              hi: np.ndarray) -> np.ndarray:
    """Pooled units each asset can give each bucket: from its first day, less downtime."""
    days = np.clip(hi[None, :] - np.maximum(lo[None, :], avail[:, None]), 0.0, None)
    for a, periods in enumerate(pb.downtime or ()):
        for start, stop in periods:
            days[a] -= np.clip(np.minimum(hi, stop) - np.maximum(lo, start), 0.0, None)
    return np.clip(days, 0.0, None) * speed[:, None]


def eligibility_pools(pb: Problem, named: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """All assets, the ``named`` pools and every distinct eligibility set, each once."""
    out: list[tuple[int, ...]] = [tuple(range(pb.n_assets))]
    for pool in [*named, *(tuple(np.flatnonzero(row).tolist())
                           for row in np.unique(np.isfinite(pb.proc), axis=0))]:
        key = tuple(sorted(int(a) for a in pool))
        if key and key not in out:
            out.append(key)
    return tuple(out)


class BackgroundBound:
    """:func:`time_indexed_relaxation` in a child process, so the search keeps its core.

    The child is a fresh interpreter running :mod:`demine.planning.lp_child`, fed the
    problem on its stdin (by a thread: the search does not wait for the child to start).
    ``result`` waits at most ``timeout`` seconds, then stops the child; None when the
    LP was not solved to optimality in time (then only the other bounds count).
    """

    def __init__(self, pb: Problem, pools: Pools, *, horizon: float, time_limit: float,
                 buckets: int = BUCKETS) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "demine.planning.lp_child"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE)
        # the LP needs no travel matrix, which can be the problem's largest part
        sent = pickle.dumps((replace(pb, setup=None), pools, horizon, buckets, time_limit))
        threading.Thread(target=_feed, args=(self._process, sent), daemon=True).start()
        self._done = False
        # a plan that fails half-way never asks for the result: the child goes with it
        weakref.finalize(self, _stop, self._process)

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def ready(self) -> bool:
        """Whether the answer is in (never blocks)."""
        return not self._done and _readable(self._process, 0.0)

    def result(self, timeout: float) -> Relaxation | None:
        if self._done:
            return None
        self._done = True
        try:
            if not _readable(self._process, max(0.0, timeout)):
                return None
            answer = self._process.stdout.read()
            return pickle.loads(answer) if answer else None  # empty: died without one
        finally:
            _stop(self._process)


def _feed(process: subprocess.Popen, sent: bytes) -> None:
    with contextlib.suppress(OSError, ValueError), process.stdin:
        process.stdin.write(sent)  # ValueError: stdin closed, the plan stopped it first


def _readable(process: subprocess.Popen, timeout: float) -> bool:
    """Whether the child's answer (or its end) can be read within ``timeout`` seconds."""
    return bool(select.select([process.stdout], [], [], timeout)[0])


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout):
        with contextlib.suppress(OSError):
            pipe.close()
