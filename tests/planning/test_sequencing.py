"""The sequencing engine against brute force, independent recomputation and its own promises."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from demine.planning.dispatch import atc, atc_best
from demine.planning.dynasearch import Jobs, _segment_costs, dynasearch_step
from demine.planning.problem import Problem, evaluate
from demine.planning.sequencing import schedule_of, solve

#: The first wt40 instance, vendored (MIT licence) so the test never depends on a
#: checkout beside this one.
WT40_FIRST = Path(__file__).resolve().parent / "data" / "wt40_instance1.txt"


# --- helpers -------------------------------------------------------------------------


def recomputed_objective(pb: Problem, sched) -> float:
    """Check the schedule's times with plain Python and recompute its objective."""
    total = 0.0
    for a, seq in enumerate(sched.sequences):
        prev_end, prev_job = float(pb.available[a]), None
        for j in seq:
            p = float(pb.proc[j, a])
            assert math.isfinite(p), f"job {j} on ineligible asset {a}"
            travel = 0.0 if pb.setup is None or prev_job is None else pb.setup[a, prev_job, j]
            assert sched.start[j] >= prev_end + travel - 1e-9, "overlap or travel skipped"
            assert sched.start[j] >= pb.release[j] - 1e-9, "started before release"
            assert sched.finish[j] == pytest.approx(sched.start[j] + p)
            assert sched.asset[j] == a
            prev_end, prev_job = sched.finish[j], j
    for i, j in pb.precedence:
        assert sched.finish[i] <= sched.start[j] + 1e-9, f"precedence {i}->{j} broken"
    for j in range(pb.n_jobs):
        c = sched.finish[j]
        total += pb.completion_weight[j] * c
        if math.isfinite(pb.due[j]):
            total += pb.weight[j] * max(0.0, c - pb.due[j])
    assert sorted(j for s in sched.sequences for j in s) == list(range(pb.n_jobs))
    return total


def brute_force(pb: Problem) -> float:
    """Best objective over every assignment and order (left-shifted schedules dominate)."""
    n, m = pb.n_jobs, pb.n_assets
    best = math.inf
    for perm in itertools.permutations(range(n)):
        for assign in itertools.product(range(m), repeat=n):
            seqs = tuple(tuple(j for j, a in zip(perm, assign, strict=True) if a == k)
                         for k in range(m))
            t = evaluate(pb, seqs)
            if t.feasible:
                best = min(best, t.objective)
    return best


def random_single(rng: np.random.Generator, n: int, with_wc: bool = False) -> Problem:
    p = rng.integers(1, 10, n)
    total = int(p.sum())
    return Problem.build(
        p, weight=rng.integers(0, 10, n), due=rng.integers(0, total, n),
        completion_weight=rng.integers(0, 3, n) if with_wc else None,
    )


def random_two_asset(rng: np.random.Generator, n: int, *, release: bool = True,
                     setup: bool = False, precedence: bool = False) -> Problem:
    proc = rng.integers(1, 9, (n, 2)).astype(float)
    proc[rng.random((n, 2)) < 0.2] = np.inf
    proc[~np.isfinite(proc).any(axis=1), 0] = 5.0
    prec = []
    if precedence:
        prec = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.25]
    return Problem.build(
        proc, weight=rng.integers(0, 6, n), due=rng.integers(2, 20, n),
        completion_weight=rng.integers(0, 2, n),
        release=rng.integers(0, 10, n) if release else None,
        available=[0, 3],
        setup=rng.integers(0, 4, (n, n)) if setup else None,
        precedence=prec,
    )


# --- the evaluator and the problem --------------------------------------------------


def test_evaluate_matches_hand_computation() -> None:
    pb = Problem.build([[3], [2], [4]], weight=[1, 2, 1], due=[2, 4, 9],
                       release=[0, 5, 0], completion_weight=[0, 0, 1])
    t = evaluate(pb, ((0, 1, 2),))
    # job 0: 0-3 (1 late), job 1 waits for its release: 5-7 (3 late x2), job 2: 7-11
    assert list(t.start) == [0, 5, 7]
    assert list(t.finish) == [3, 7, 11]
    assert t.objective == 1 + 6 + 2 + 11


def test_evaluate_detects_deadlock_and_bad_assignment() -> None:
    pb = Problem.build([[1, 1], [1, 1]], weight=[1, 1], due=[0, 0], precedence=[(0, 1)])
    assert not evaluate(pb, ((1, 0), ())).feasible
    assert evaluate(pb, ((0, 1), ())).feasible
    assert not evaluate(pb, ((0,), ())).feasible  # job 1 missing
    pb2 = Problem.build([[1, np.inf], [1, 1]], weight=[1, 1], due=[0, 0])
    assert not evaluate(pb2, ((1,), (0,))).feasible  # job 0 cannot go on asset 1


def test_problem_rejects_cycles_and_orphans() -> None:
    with pytest.raises(ValueError, match="cycle"):
        Problem.build([[1], [1], [1]], precedence=[(0, 1), (1, 2), (2, 0)])
    with pytest.raises(ValueError, match="eligible"):
        Problem.build([[1, 1], [np.inf, np.inf]])


# --- dispatching -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_atc_gives_a_valid_schedule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pb = random_two_asset(rng, 12, setup=True, precedence=True)
    for k in (0.5, 2.0):
        seqs = atc(pb, k)
        assert sorted(j for s in seqs for j in s) == list(range(12))
        for a, s in enumerate(seqs):
            assert np.isfinite(pb.proc[list(s), a]).all()
        assert evaluate(pb, seqs).feasible


def test_atc_orders_by_the_classic_index_on_one_machine() -> None:
    # Same due dates far away: ATC reduces to WSPT (w/p descending).
    pb = Problem.single_machine([4, 1, 2], [1, 1, 4], [1000, 1000, 1000])
    assert atc(pb, 2.0) == ((2, 1, 0),)


# --- dynasearch ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_dynasearch_move_scores_match_recomputation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    jobs = Jobs(rng.integers(1, 10, n).astype(float), rng.integers(0, 5, n).astype(float),
                rng.integers(0, 30, n).astype(float), rng.integers(0, 3, n).astype(float),
                float(rng.integers(0, 5)))
    seq = rng.permutation(n)
    _, gain, _ = _segment_costs(jobs, seq)
    base = jobs.cost(seq)
    for i, j in itertools.combinations(range(n), 2):
        best = -math.inf
        for kind in range(3):
            s = list(seq)
            if kind == 0:
                s[i], s[j] = s[j], s[i]
            elif kind == 1:
                s.insert(j, s.pop(i))
            else:
                s.insert(i, s.pop(j))
            best = max(best, base - jobs.cost(np.array(s)))
        assert gain[i, j] == pytest.approx(best)
    new, gained = dynasearch_step(jobs, seq)
    assert sorted(new) == list(range(n))
    assert base - jobs.cost(new) == pytest.approx(gained)
    assert gained >= 0


# --- the engine against brute force ----------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_single_machine_local_search_finds_brute_force_optimum(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    pb = random_single(rng, int(rng.integers(4, 8)), with_wc=seed % 2 == 1)
    opt = brute_force(pb)
    sched = solve(pb, use_cpsat=False, stagnation=100, seed=seed, time_limit=30)
    assert sched.objective == pytest.approx(opt)
    assert recomputed_objective(pb, sched) == pytest.approx(sched.objective)


@pytest.mark.parametrize("seed", range(6))
def test_two_assets_with_release_dates_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    pb = random_two_asset(rng, 5)
    opt = brute_force(pb)
    ls = solve(pb, use_cpsat=False, stagnation=100, seed=seed, time_limit=30)
    assert ls.objective == pytest.approx(opt)
    assert recomputed_objective(pb, ls) == pytest.approx(ls.objective)
    cp = solve(pb, use_cpsat=True, stagnation=20, seed=seed, time_limit=30)
    assert cp.proven_optimal
    assert cp.objective == pytest.approx(opt)
    assert cp.lower_bound == pytest.approx(opt)


@pytest.mark.parametrize("seed", range(4))
def test_travel_times_and_precedence_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    pb = random_two_asset(rng, 5, setup=True, precedence=True)
    assert pb.precedence or seed != 0  # the generator does produce precedence pairs
    opt = brute_force(pb)
    ls = solve(pb, use_cpsat=False, stagnation=100, seed=seed, time_limit=30)
    assert ls.objective == pytest.approx(opt)
    assert recomputed_objective(pb, ls) == pytest.approx(ls.objective)
    cp = solve(pb, use_cpsat=True, stagnation=1, seed=seed, time_limit=30)
    assert cp.proven_optimal
    assert cp.objective == pytest.approx(opt)


def test_precedence_is_respected_even_when_it_costs() -> None:
    # Job 1 is urgent and heavy, but the machine preparation (0) must finish first,
    # on another asset; QC (2) follows the clearance (1).
    pb = Problem.build(
        [[np.inf, 5], [2, np.inf], [1, 1]], weight=[0, 10, 1], due=[100, 1, 100],
        precedence=[(0, 1), (1, 2)],
    )
    sched = solve(pb, use_cpsat=False, stagnation=50)
    assert sched.finish[0] <= sched.start[1]
    assert sched.finish[1] <= sched.start[2]
    assert sched.objective == pytest.approx(brute_force(pb)) == pytest.approx(10 * (7 - 1))
    assert recomputed_objective(pb, sched) == pytest.approx(sched.objective)


def test_release_dates_are_respected() -> None:
    rng = np.random.default_rng(7)
    pb = random_two_asset(rng, 14, release=True)
    sched = solve(pb, use_cpsat=False, stagnation=30, seed=1)
    assert (sched.start >= pb.release).all()
    assert (sched.start[list(sched.sequences[1])] >= 3).all()  # asset 1 available from t=3
    assert recomputed_objective(pb, sched) == pytest.approx(sched.objective)
    assert sched.objective <= evaluate(pb, atc_best(pb)[0]).objective


# --- determinism and honesty ------------------------------------------------------------


def test_same_seed_same_schedule() -> None:
    rng = np.random.default_rng(11)
    pb1 = random_single(rng, 30)
    pb2 = random_two_asset(rng, 16, setup=True)
    for pb in (pb1, pb2):
        a = solve(pb, use_cpsat=False, stagnation=40, seed=5, time_limit=60)
        b = solve(pb, use_cpsat=False, stagnation=40, seed=5, time_limit=60)
        assert a.sequences == b.sequences
        assert a.objective == b.objective
        assert a.stats["ils_kicks"] == b.stats["ils_kicks"]


def test_not_claimed_optimal_without_proof() -> None:
    rng = np.random.default_rng(3)
    pb = random_single(rng, 6)
    opt = brute_force(pb)
    assert opt > 0
    sched = solve(pb, use_cpsat=False, stagnation=100)
    assert sched.objective == pytest.approx(opt)  # optimal, but nothing proves it
    assert not sched.proven_optimal
    assert sched.lower_bound is not None and sched.lower_bound < sched.objective
    assert sched.gap is not None and sched.gap > 0
    proven = solve(pb, use_cpsat=True, stagnation=10)
    assert proven.proven_optimal and proven.objective == pytest.approx(opt)
    assert proven.gap == pytest.approx(0.0)


def test_zero_objective_is_proven_by_the_trivial_bound() -> None:
    pb = Problem.single_machine([1, 2, 3], [5, 5, 5], [100, 100, 100])
    sched = solve(pb, use_cpsat=False)
    assert sched.objective == 0 and sched.proven_optimal


def test_schedule_of_flags_only_what_the_bound_proves() -> None:
    pb = Problem.single_machine([2, 1], [1, 1], [0, 0])  # best is (1, 0): 1 + 3 = 4
    worse = schedule_of(pb, ((0, 1),), lower_bound=4.0)
    assert worse.objective == 5 and not worse.proven_optimal
    assert worse.gap == pytest.approx(1 / 5)
    best = schedule_of(pb, ((1, 0),), lower_bound=4.0)
    assert best.objective == 4 and best.proven_optimal


def test_first_orlib_instance_reaches_its_optimum_unproven() -> None:
    lines = [ln for ln in WT40_FIRST.read_text().splitlines() if not ln.startswith("#")]
    p, w, d = np.array(" ".join(lines).split(), dtype=float).reshape(3, 40)
    pb = Problem.single_machine(p, w, d)
    sched = solve(pb, stagnation=200, seed=0, time_limit=60, use_cpsat=True,
                  cpsat_time_limit=0.5)
    assert sched.objective == 913  # wtopt40.txt, first line
    assert recomputed_objective(pb, sched) == pytest.approx(913)
    # Half a second of CP-SAT does not prove a 40-job tardiness optimum.
    assert sched.lower_bound is not None
    assert sched.proven_optimal == (sched.lower_bound >= 913)


def test_fractional_data_skips_cpsat_and_claims_nothing() -> None:
    pb = Problem.single_machine([1.5, 2.25, 0.5], [1, 2, 1], [0, 0, 0])
    assert not pb.is_integral()
    sched = solve(pb, use_cpsat=True, stagnation=20)
    assert "cpsat_seconds" not in sched.stats
    assert sched.objective == pytest.approx(brute_force(pb))
    assert not sched.proven_optimal


@pytest.mark.parametrize("seed", range(3))
def test_cpsat_bound_never_exceeds_the_optimum(seed: int) -> None:
    rng = np.random.default_rng(400 + seed)
    pb = random_two_asset(rng, 5, setup=seed == 1, precedence=seed == 2)
    opt = brute_force(pb)
    sched = solve(pb, stagnation=5, seed=seed, time_limit=30, cpsat_time_limit=0.1)
    assert sched.lower_bound is not None
    assert sched.lower_bound <= opt + 1e-9 <= sched.objective + 1e-9
    assert sched.proven_optimal == (sched.lower_bound >= sched.objective - 1e-9)
