"""Problem and result types of the sequencing engine, and the one schedule evaluator.

Every stage (dispatching, local search, CP-SAT) hands back an order of jobs per
asset; times are always recomputed here by left-shifting (each job starts as early
as its asset, its release date, its predecessors and the travel from the previous
job allow). For a regular objective such as weighted completion plus weighted
tardiness, some left-shifted schedule is optimal, so searching over orders loses
nothing and no stage can report times the evaluator would not reproduce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

Sequences = tuple[tuple[int, ...], ...]

#: Tolerance for comparing objectives computed in floating point.
EPS = 1e-9


@dataclass(frozen=True, eq=False)
class Problem:
    """Jobs on unrelated parallel assets; build it with :meth:`build`.

    ``proc[j, a]`` is the duration of job ``j`` on asset ``a`` (``inf`` where the
    asset cannot do the job). The objective is
    ``sum(completion_weight * C) + sum(weight * max(0, C - due))``.
    ``setup[a, i, j]`` is the travel/setup time on asset ``a`` between job ``i`` and
    job ``j``; ``precedence`` pairs ``(i, j)`` mean ``j`` starts after ``i`` ends,
    whatever assets they are on.

    Group terms add ``sum(group_weight[g] * max(C_j for j in groups[g]))``: a
    settlement reopens when the last hazard keeping it closed is released, so its cost
    is a maximum, not a sum. ``downtime[a]`` lists half-open ``(from, to)`` periods
    in which asset ``a`` may not work; a job never straddles one (it waits until the
    period ends), which is how leave, maintenance and rotations are modelled.
    """

    proc: np.ndarray
    weight: np.ndarray
    due: np.ndarray
    release: np.ndarray
    completion_weight: np.ndarray
    available: np.ndarray
    precedence: tuple[tuple[int, int], ...] = ()
    setup: np.ndarray | None = None
    jobs: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    groups: tuple[tuple[int, ...], ...] = ()
    group_weight: np.ndarray | None = None
    downtime: tuple[tuple[tuple[float, float], ...], ...] = ()

    @property
    def n_jobs(self) -> int:
        return self.proc.shape[0]

    @property
    def n_assets(self) -> int:
        return self.proc.shape[1]

    @cached_property
    def preds(self) -> tuple[tuple[int, ...], ...]:
        """Direct predecessors per job, cached: evaluation asks for them constantly."""
        out: list[list[int]] = [[] for _ in range(self.n_jobs)]
        for i, j in self.precedence:
            out[j].append(i)
        return tuple(map(tuple, out))

    @property
    def eligible(self) -> np.ndarray:
        return np.isfinite(self.proc)

    @classmethod
    def build(
        cls,
        proc: Sequence[Sequence[float]] | np.ndarray,
        *,
        weight: Sequence[float] | np.ndarray | None = None,
        due: Sequence[float] | np.ndarray | None = None,
        release: Sequence[float] | np.ndarray | None = None,
        completion_weight: Sequence[float] | np.ndarray | None = None,
        available: Sequence[float] | np.ndarray | None = None,
        precedence: Sequence[tuple[int, int]] = (),
        setup: np.ndarray | None = None,
        jobs: Sequence[str] | None = None,
        assets: Sequence[str] | None = None,
        groups: Sequence[Sequence[int]] = (),
        group_weight: Sequence[float] | np.ndarray | None = None,
        downtime: Sequence[Sequence[tuple[float, float]]] | None = None,
    ) -> Problem:
        """Validate and normalise; a 1-D ``proc`` is a single asset.

        Missing weights default to 0 (no tardiness cost), missing due dates to
        ``inf``; ``setup`` may be ``(n, n)`` (same travel for every asset) or
        ``(m, n, n)``. ``groups`` are non-empty job index lists with one
        ``group_weight`` each (default 1); ``downtime`` has one list of
        ``(from, to)`` periods per asset.
        """
        p = np.asarray(proc, dtype=float)
        if p.ndim == 1:
            p = p[:, None]
        if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
            raise ValueError("proc must be (n_jobs, n_assets) with at least one of each")
        n, m = p.shape
        p = np.where(np.isnan(p), np.inf, p)
        if (p < 0).any():
            raise ValueError("processing times must be >= 0")
        if not np.isfinite(p).any(axis=1).all():
            raise ValueError("every job needs at least one eligible asset")

        def vec(x: object, default: float, name: str) -> np.ndarray:
            v = np.full(n, default) if x is None else np.asarray(x, dtype=float)
            if v.shape != (n,):
                raise ValueError(f"{name} must have one value per job")
            return v

        w = vec(weight, 0.0, "weight")
        wc = vec(completion_weight, 0.0, "completion_weight")
        if (w < 0).any() or (wc < 0).any():
            raise ValueError("weights must be >= 0")
        d = vec(due, np.inf, "due")
        r = vec(release, 0.0, "release")
        av = np.zeros(m) if available is None else np.asarray(available, dtype=float)
        if av.shape != (m,):
            raise ValueError("available must have one value per asset")
        s = None
        if setup is not None:
            s = np.asarray(setup, dtype=float)
            if s.shape == (n, n):
                s = np.broadcast_to(s, (m, n, n)).copy()
            if s.shape != (m, n, n) or (s < 0).any() or not np.isfinite(s).all():
                raise ValueError("setup must be finite, >= 0, (n, n) or (m, n, n)")
            if not s.any():
                s = None
        prec = tuple(sorted({(int(i), int(j)) for i, j in precedence}))
        preds: list[list[int]] = [[] for _ in range(n)]
        for i, j in prec:
            if not (0 <= i < n and 0 <= j < n) or i == j:
                raise ValueError(f"bad precedence pair {(i, j)}")
            preds[j].append(i)
        _check_acyclic(preds)
        names = tuple(jobs) if jobs is not None else tuple(f"J{j}" for j in range(n))
        anames = tuple(assets) if assets is not None else tuple(f"A{a}" for a in range(m))
        if len(names) != n or len(anames) != m:
            raise ValueError("one name per job and per asset")
        grp = tuple(tuple(sorted({int(j) for j in g})) for g in groups)
        if any(not g or g[0] < 0 or g[-1] >= n for g in grp):
            raise ValueError("groups must be non-empty lists of job indices")
        gw = None
        if grp:
            gw = np.ones(len(grp)) if group_weight is None else np.asarray(
                group_weight, dtype=float)
            if gw.shape != (len(grp),) or (gw < 0).any():
                raise ValueError("group_weight must be >= 0, one per group")
        down: tuple[tuple[tuple[float, float], ...], ...] = ()
        if downtime is not None and any(len(d) for d in downtime):
            if len(downtime) != m:
                raise ValueError("downtime must have one list per asset")
            down = tuple(_merge_periods(d) for d in downtime)
        return cls(p, w, d, r, wc, av, prec, s, names, anames, grp, gw, down)

    @classmethod
    def single_machine(
        cls, proc: Sequence[float] | np.ndarray, weight: Sequence[float] | np.ndarray,
        due: Sequence[float] | np.ndarray,
    ) -> Problem:
        """1||sum w_j T_j: one asset, due dates, tardiness weights."""
        return cls.build(np.asarray(proc, dtype=float)[:, None], weight=weight, due=due)

    def is_plain_single_machine(self) -> bool:
        """One asset, nothing that breaks 'completion = prefix sum of durations'.

        Then moves can be scored by shifting completion times, which is what the
        vectorised dynasearch relies on.
        """
        return (
            self.n_assets == 1
            and not self.precedence
            and self.setup is None
            and bool((self.release <= self.available[0]).all())
            and not self.groups
            and not self.downtime
        )

    def is_integral(self) -> bool:
        """CP-SAT needs integer data; the planner should pass minutes, not hours."""
        parts = [self.proc[self.eligible], self.weight, self.completion_weight,
                 self.release, self.available, self.due[np.isfinite(self.due)]]
        if self.setup is not None:
            parts.append(self.setup.ravel())
        if self.group_weight is not None:
            parts.append(self.group_weight)
        parts.extend(np.asarray(d, dtype=float).ravel() for d in self.downtime)
        return all(np.array_equal(x, np.round(x)) for x in parts)

    def trivial_lower_bound(self) -> float:
        """Each job alone on its fastest asset: a bound any schedule respects."""
        first = np.maximum(self.release[:, None], self.available[None, :]) + self.proc
        c = first.min(axis=1)
        return float(job_costs(self, c).sum() + group_costs(self, c))


def _merge_periods(periods: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Sorted, non-overlapping, non-empty periods: what the left-shift push relies on."""
    out: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in periods):
        if b < a:
            raise ValueError(f"downtime period {(a, b)} ends before it starts")
        if b == a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def fit_start(t: float, p: float, periods: Sequence[tuple[float, float]]) -> float:
    """Earliest start >= ``t`` at which a job of length ``p`` meets no downtime period."""
    for a, b in periods:
        if t < b and t + p > a:
            t = b
    return t


def _check_acyclic(preds: list[list[int]]) -> None:
    n = len(preds)
    indeg = [len(p) for p in preds]
    succ: list[list[int]] = [[] for _ in range(n)]
    for j, ps in enumerate(preds):
        for i in ps:
            succ[i].append(j)
    stack = [j for j in range(n) if indeg[j] == 0]
    seen = 0
    while stack:
        i = stack.pop()
        seen += 1
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                stack.append(j)
    if seen != n:
        raise ValueError("precedence pairs contain a cycle")


def job_costs(problem: Problem, finish: np.ndarray) -> np.ndarray:
    """Per-job objective terms; ``due = inf`` gives no tardiness."""
    tardy = np.maximum(finish - problem.due, 0.0)
    tardy = np.where(np.isfinite(tardy), tardy, 0.0)
    return problem.completion_weight * finish + problem.weight * tardy


def group_costs(problem: Problem, finish: np.ndarray) -> float:
    """``sum(W_g * max C_j over g)``: zero when the problem has no groups."""
    if not problem.groups or problem.group_weight is None:
        return 0.0
    return float(sum(w * finish[list(g)].max()
                     for g, w in zip(problem.groups, problem.group_weight, strict=True)))


@dataclass(frozen=True)
class Timing:
    """Start and finish per job of a left-shifted schedule, or why there is none."""

    start: np.ndarray
    finish: np.ndarray
    objective: float
    feasible: bool


def evaluate(problem: Problem, sequences: Sequences | Sequence[Sequence[int]]) -> Timing:
    """Left-shift the given orders; ``feasible`` is False on a bad assignment or deadlock.

    A deadlock happens when the asset orders and the precedence pairs wait on each
    other in a cycle (``j`` before ``i`` on one asset while ``i`` precedes ``j``).
    """
    n, m = problem.n_jobs, problem.n_assets
    start = np.full(n, np.nan)
    finish = np.full(n, np.nan)
    bad = Timing(start, finish, np.inf, False)
    if len(sequences) != m:
        return bad
    flat = [j for seq in sequences for j in seq]
    if len(flat) != n or set(flat) != set(range(n)):
        return bad
    for a, seq in enumerate(sequences):
        if not np.isfinite(problem.proc[list(seq), a]).all():
            return bad
    proc, rel, setup, preds = problem.proc, problem.release, problem.setup, problem.preds
    ptr = [0] * m
    free = problem.available.astype(float).copy()
    last = [-1] * m
    done = 0
    while done < n:
        progress = False
        for a in range(m):
            seq = sequences[a]
            while ptr[a] < len(seq):
                j = seq[ptr[a]]
                ready = rel[j]
                blocked = False
                for i in preds[j]:
                    if np.isnan(finish[i]):
                        blocked = True
                        break
                    ready = max(ready, finish[i])
                if blocked:
                    break
                t = free[a]
                if setup is not None and last[a] >= 0:
                    t += setup[a, last[a], j]
                s = max(t, ready)
                if problem.downtime:
                    s = fit_start(s, proc[j, a], problem.downtime[a])
                start[j] = s
                finish[j] = s + proc[j, a]
                free[a] = finish[j]
                last[a] = j
                ptr[a] += 1
                done += 1
                progress = True
        if not progress:
            return bad
    obj = float(job_costs(problem, finish).sum()) + group_costs(problem, finish)
    return Timing(start, finish, obj, True)


@dataclass(frozen=True)
class Schedule:
    """The engine's answer.

    ``proven_optimal`` is True only when CP-SAT proved it or a lower bound equals
    the objective; ``lower_bound`` is the best bound known (the trivial one when
    CP-SAT did not run), so ``gap`` can be large for a schedule that is in fact optimal.
    """

    sequences: Sequences
    asset: np.ndarray
    start: np.ndarray
    finish: np.ndarray
    objective: float
    lower_bound: float | None
    proven_optimal: bool
    time_to_best: float
    elapsed: float
    source: str
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap to the lower bound, CP-SAT's convention: /max(1, |objective|)."""
        if self.lower_bound is None:
            return None
        return max(0.0, self.objective - self.lower_bound) / max(1.0, abs(self.objective))
