"""Dynasearch for one asset without release dates, travel or precedence.

Congram, Potts and van de Velde (2002): on one machine, a swap of the jobs at
positions i < j, or moving one of them to the other end of the segment, changes
completion times only inside positions i..j, and the completion time at j stays the
same. So improving moves on disjoint segments are independent and their gains add
up; a dynamic programme over positions picks the best set of such moves in one step
instead of the single best move. Scoring uses the fact that every job inside a
segment is shifted by one constant:

* insertion (job at i moved behind j, or job at j moved in front of i) shifts the
  jobs in between by -p_i or +p_j, constant per moved job, so all O(n^2) moves are
  scored with one (n, n) matrix and prefix sums along the sequence;
* a swap shifts the jobs in between by p_j - p_i, constant per pair, scored with an
  (n, n, n) array: 64 000 entries for n = 40, still cheap in numpy.

Costs are ``wc * C + wt * max(0, C - d)`` per job, i.e. the same objective as the
general engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from demine.planning.problem import EPS


@dataclass(frozen=True)
class Jobs:
    """Job data as arrays indexed by job number."""

    p: np.ndarray
    wt: np.ndarray
    due: np.ndarray
    wc: np.ndarray
    start: float = 0.0

    def cost(self, seq: np.ndarray) -> float:
        c = self.start + np.cumsum(self.p[seq])
        return float(_f(c, self.wt[seq], self.due[seq], self.wc[seq]).sum())


def _f(c: np.ndarray, wt: np.ndarray, due: np.ndarray, wc: np.ndarray) -> np.ndarray:
    # due = inf gives max(c - inf, 0) = 0: no tardiness term, as in problem.job_costs.
    tardy = wt * np.maximum(c - due, 0.0)
    return tardy + wc * c if wc.any() else tardy


@lru_cache(maxsize=8)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment ends i < j and, per segment, which positions lie strictly inside."""
    ii, jj = np.triu_indices(n, 1)
    k = np.arange(n)
    inside = (k[None, :] > ii[:, None]) & (k[None, :] < jj[:, None])
    for a in (ii, jj, inside):
        a.setflags(write=False)
    return ii, jj, inside


def _segment_costs(jobs: Jobs, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Current per-position costs, best new cost and move kind of every segment i..j."""
    n = len(seq)
    p, wt, due, wc = jobs.p[seq], jobs.wt[seq], jobs.due[seq], jobs.wc[seq]
    c = jobs.start + np.cumsum(p)
    c_prev = c - p  # completion before position k (start of k)
    cur = _f(c, wt, due, wc)
    pre = np.concatenate(([0.0], np.cumsum(cur)))  # pre[k] = sum cur[:k]
    ii, jj, inside = _pairs(n)

    # Forward: the job at i moves behind the job at j; i+1..j shift by -p_i.
    minus = _f(c[None, :] - p[:, None], wt, due, wc)  # [i, k]
    cm = np.concatenate((np.zeros((n, 1)), np.cumsum(minus, axis=1)), axis=1)
    fwd = cm[ii, jj + 1] - cm[ii, ii + 1] + _f(c[jj], wt[ii], due[ii], wc[ii])

    # Backward: the job at j moves in front of the job at i; i..j-1 shift by +p_j.
    plus = _f(c[None, :] + p[:, None], wt, due, wc)  # [j, k]
    cp = np.concatenate((np.zeros((n, 1)), np.cumsum(plus, axis=1)), axis=1)
    bwd = cp[jj, jj] - cp[jj, ii] + _f(c_prev[ii] + p[jj], wt[jj], due[jj], wc[jj])

    # Swap: i..j exchanged; i+1..j-1 shift by p_j - p_i.
    delta = p[jj] - p[ii]  # per pair
    shifted = _f(c[None, :] + delta[:, None], wt, due, wc)  # [pair, k]
    mid = (shifted * inside).sum(axis=1)
    swp = (_f(c_prev[ii] + p[jj], wt[jj], due[jj], wc[jj]) + mid
           + _f(c[jj], wt[ii], due[ii], wc[ii]))

    moves = np.stack((swp, fwd, bwd))
    kind = moves.argmin(axis=0)
    best = moves[kind, np.arange(len(ii))]
    seg_old = pre[jj + 1] - pre[ii]
    gain = np.full((n, n), -np.inf)
    gain[ii, jj] = seg_old - best
    kinds = np.zeros((n, n), dtype=np.int8)
    kinds[ii, jj] = kind
    return cur, gain, kinds


def dynasearch_step(jobs: Jobs, seq: np.ndarray) -> tuple[np.ndarray, float]:
    """Apply the best set of independent moves; returns the new order and the gain."""
    n = len(seq)
    if n < 2:
        return seq, 0.0
    _, gain, kinds = _segment_costs(jobs, seq)
    # g[j] = best total gain using positions < j; choice[j] = segment start or -1.
    g = np.zeros(n + 1)
    choice = np.full(n + 1, -1)
    for j in range(1, n):
        cand = g[:j] + gain[:j, j]
        i = int(np.argmax(cand))
        g[j + 1] = g[j]
        if cand[i] > g[j] + EPS:
            g[j + 1] = cand[i]
            choice[j + 1] = i
    total = g[n]
    if total <= EPS:
        return seq, 0.0
    out = seq.copy()
    j = n
    while j > 0:
        i = choice[j]
        if i < 0:
            j -= 1
            continue
        e = j - 1  # segment i..e
        kind = kinds[i, e]
        if kind == 0:
            out[i], out[e] = seq[e], seq[i]
        elif kind == 1:
            out[i:e] = seq[i + 1:e + 1]
            out[e] = seq[i]
        else:
            out[i + 1:e + 1] = seq[i:e]
            out[i] = seq[e]
        j = i
    return out, float(total)


def descend(jobs: Jobs, seq: np.ndarray) -> np.ndarray:
    """Dynasearch steps until no improving move is left (a local optimum)."""
    while True:
        seq, gained = dynasearch_step(jobs, seq)
        if gained <= EPS:
            return seq
