"""How close the planner's lower bounds come to the optimum where the optimum is known.

    python3 bench/lp_tightness.py [--count 24] [--items 5]

``bench/plan_scale.py`` certifies a plan by the gap between its objective and the best
lower bound (the time-indexed LP of ``demine.planning.lp_bound``, the fluid bound,
CP-SAT's own). Its target, a certified gap under 5 %, needs a bound within 5 % of the
optimum. This bench measures that on engine problems small enough to brute-force
(every assignment and order, as the tests do): 2 assets, settlement groups that share
items, precedence, release dates, downtime and deadlines, seeded.

Printed per problem and in aggregate: the optimum and the LP bound as a share of it,
with the buckets the national plan uses at most and with one bucket per day.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "planning"))
from test_schedule import brute_force

from demine.planning.lp_bound import (
    BUCKETS,
    Pools,
    eligibility_pools,
    time_indexed_relaxation,
)
from demine.planning.problem import Problem


def problem(seed: int, n: int) -> Problem:
    rng = np.random.default_rng(seed)
    m = 2
    proc = rng.integers(1, 12, (n, m)).astype(float)
    proc[rng.random((n, m)) < 0.25] = np.inf
    proc[np.isinf(proc).all(axis=1), 0] = 6
    groups = [tuple(sorted(rng.choice(n, int(rng.integers(1, n)), replace=False).tolist()))
              for _ in range(3)]
    return Problem.build(
        proc, groups=groups, group_weight=rng.integers(1, 40, 3), precedence=[(0, n - 1)],
        release=rng.integers(0, 4, n), available=[0, 2], downtime=[[(5, 8)], []],
        due=rng.integers(5, 20, n), weight=rng.integers(0, 3, n),
        completion_weight=rng.integers(0, 2, n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--items", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"LP bound / brute-forced optimum: {args.count} problems of {args.items} items on "
          "2 assets")
    shares: dict[str, list[float]] = {"coarse": [], "daily": []}
    for seed in range(args.count):
        pb = problem(seed, args.items)
        opt = brute_force(pb)
        pools = Pools(np.ones(pb.n_assets), eligibility_pools(pb, ()))
        horizon = float(np.nansum(np.where(np.isfinite(pb.proc), pb.proc, np.nan).max(axis=1)))
        coarse = time_indexed_relaxation(pb, pools, horizon=horizon, buckets=min(BUCKETS, 12))
        daily = time_indexed_relaxation(pb, pools, horizon=horizon,
                                        buckets=int(horizon) + 10)
        if coarse is None or daily is None or opt <= 0:
            continue
        shares["coarse"].append(coarse.bound / opt)
        shares["daily"].append(daily.bound / opt)
        print(f"  seed {seed:3d}  optimum {opt:8.0f}  LP 12 buckets {coarse.bound / opt:6.3f}"
              f"  LP daily {daily.bound / opt:6.3f}")
    for key, values in shares.items():
        print(f"{key:>6}: LP / optimum mean {statistics.mean(values):.3f}, min "
              f"{min(values):.3f}, max {max(values):.3f}; within 5 % of the optimum on "
              f"{sum(v >= 0.95 for v in values)} of {len(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
