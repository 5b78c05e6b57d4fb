"""Settlement status at national scale: demine's store against in-memory geopandas.

    python3 bench/status.py [--hazards 200000 --settlements 30000 --db PATH] [--seed N]

Generates the deterministic synthetic country of ``national_set.py`` (numpy, fixed
seed): hazard polygons of 0.1-20 ha, irregular (star-shaped, 5-12 vertices), 60 % of
them in clusters and 40 % spread over a 600 x 400 km area centred on 27° E 49° N (UTM
zone 35N); settlements spread the same way, half of them near clusters, a tenth with a
footprint polygon.
Everything is stored in a fresh SQLite database through ``Repository.open`` and
``demine.service.bulk``; then ~20 % of the hazards are marked released.

Releasing is done in plain SQL as bench setup (status 'released', no remainder,
the polygon counted as cancelled, R*Tree entry of the remainder dropped, exactly what
``rebuild_hazard`` leaves for a fully released hazard). ``bulk.load_hazards`` has on
purpose no ``status`` parameter: a hazard's status is only ever refolded from approved
outcome polygons, so a hazard loaded as "released" without outcomes would reopen at
its next rebuild.

Timed, in one run:
  (a)  the full recompute of every settlement's status from the store, in one unit of
       work (``service.status.refresh``), once the statuses are current; also
       (a1) ``spatial.closure_pairs`` alone (read + parse + STRtree query) and
       (a0) the first full refresh after the load, which writes every status;
  (b)  ``gpd.sjoin(settlements, hazards, predicate="dwithin", distance=500)`` on the
       same metric geometries in memory, as the reference (and, for scale only,
       (b2) the same after reading both layers from a GeoPackage with pyogrio);
  (c)  the incremental recompute after one hazard is released by a real report
       (create, submit; only ``reports.approve`` is timed; median of 3 reports, each
       clearing a hazard that alone keeps a settlement closed), and
       ``status.refresh_after_hazards`` alone after another release.
(a), (a1) and (b) are the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
from shapely.geometry import mapping

from demine.domain.entities import Organisation
from demine.domain.vocab import OrganisationKind
from demine.service import bulk, reference, reports, status
from demine.store import schema as s
from demine.store.repository import Repository
from national_set import DEFAULT_SEED, generate

TARGET_RATIO_A_B = 2.0
TARGET_INCREMENTAL_S = 0.050
TARGET_PEAK_BYTES = 2 * 1024**3
#: Reports approved for (c); the median approval time is reported.
C_REPORTS = 3


# --- helpers -----------------------------------------------------------------------------

def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _median_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t, result = _timed(fn)
        times.append(t)
    return statistics.median(times), result


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mark_released(repo: Repository, hazard_ids: list[int]) -> None:
    """Bench setup: what rebuild_hazard stores for a hazard released in full."""
    with repo.unit("bench", "bench setup: historical releases") as uow:
        raw = uow.conn.connection.driver_connection
        raw.executemany(
            "UPDATE hazard_areas SET status = 'released', remaining = NULL, "
            "remaining_m = NULL, cancelled_m2 = original_m2, remaining_m2 = 0, "
            "version = version + 1 WHERE id = ?", [(h,) for h in hazard_ids])
        raw.executemany("DELETE FROM rtree_hazard_areas_remaining_m WHERE id = ?",
                        [(h,) for h in hazard_ids])


def _write_gpkg(path: Path, s_ids: np.ndarray, s_geoms: np.ndarray, h_ids: np.ndarray,
                h_geoms: np.ndarray, epsg: int) -> None:
    import geopandas as gpd

    gpd.GeoDataFrame({"sid": s_ids}, geometry=s_geoms, crs=epsg).to_file(
        path, layer="settlements", engine="pyogrio")
    gpd.GeoDataFrame({"hid": h_ids}, geometry=h_geoms, crs=epsg).to_file(
        path, layer="hazards", engine="pyogrio")


def _store_state(repo: Repository) -> tuple[set[int], set[tuple[int, int]]]:
    with repo.reader() as uow:
        closed = {r[0] for r in uow.conn.exec_driver_sql(
            "SELECT id FROM settlements WHERE status = 'closed'")}
        pairs = {(r[0], r[1]) for r in uow.conn.exec_driver_sql(
            "SELECT settlement_id, hazard_id FROM settlement_blockers")}
    return closed, pairs


def _single_blocker_hazards(repo: Repository, count: int) -> list[tuple[int, str, str]]:
    """(hazard id, hazard code, settlement code): closed settlements with one blocker."""
    with repo.reader() as uow:
        rows = uow.conn.exec_driver_sql(
            "SELECT b.hazard_id, h.code, s.code FROM settlement_blockers b "
            "JOIN hazard_areas h ON h.id = b.hazard_id "
            "JOIN settlements s ON s.id = b.settlement_id "
            "WHERE b.settlement_id IN (SELECT settlement_id FROM settlement_blockers "
            "  GROUP BY settlement_id HAVING count(*) = 1) "
            "ORDER BY b.settlement_id").fetchall()
    chosen, seen = [], set()
    for hid, hcode, scode in rows:
        if hid not in seen:
            seen.add(hid)
            chosen.append((hid, hcode, scode))
        if len(chosen) == count:
            break
    return chosen


def _release_by_report(repo: Repository, hazard_code: str) -> tuple[float, object]:
    """A real clearance report that clears the whole hazard; only approval is timed."""
    with repo.reader() as uow:
        polygon = uow.require(s.hazard_areas, hazard_code)["geom"]
    code = reports.create_draft(
        repo, author="bench-operator", organisation_code="ORG-BENCH",
        info_date=date(2025, 6, 1), summary="bench: clearance completed",
        entries=[("activity", {
            "code": f"ACT-{hazard_code}", "hazard_code": hazard_code, "type": "clearance",
            "status": "completed", "actual_start": "2025-05-01", "actual_end": "2025-05-30",
            "outcomes": [{"method": "cleared", "geometry": mapping(polygon)}]})])
    reports.submit(repo, code, "bench-operator")
    return _timed(lambda: reports.approve(repo, code, "bench-approver"))


# --- the benchmark -----------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hazards", type=int, default=200_000)
    parser.add_argument("--settlements", type=int, default=30_000)
    parser.add_argument("--db", help="SQLite file to create (default: a temporary file)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import geopandas as gpd  # the reference; only the bench needs it
    import pyogrio

    t_run = time.perf_counter()
    tmp = None
    if args.db:
        db_path = Path(args.db)
        if db_path.exists():
            print(f"error: {db_path} exists; the bench needs a new database", file=sys.stderr)
            return 2
    else:
        tmp = tempfile.TemporaryDirectory(prefix="demine-bench-")
        db_path = Path(tmp.name) / "bench.sqlite"
    print(f"demine status bench: {args.hazards} hazards, {args.settlements} settlements, "
          f"seed {args.seed}, db {db_path}")

    # setup ------------------------------------------------------------------------------
    t_gen, (settlements, hazards, released_mask) = _timed(
        lambda: generate(args.hazards, args.settlements, args.seed))
    repo = Repository.open(str(db_path))
    with repo.unit("bench", "bench setup: reference data") as uow:
        reference.add_organisation(uow, Organisation("ORG-BENCH", "Bench operator",
                                                     OrganisationKind.OPERATOR))
    start = time.perf_counter()
    with repo.unit("bench", "bench setup: national import") as uow:
        t_load_s, settlement_ids = _timed(lambda: bulk.load_settlements(uow, settlements))
        t_load_h, hazard_ids = _timed(lambda: bulk.load_hazards(uow, hazards))
    t_load = time.perf_counter() - start
    released = [h for h, r in zip(hazard_ids, released_mask.tolist(), strict=True) if r]
    t_release, _ = _timed(lambda: _mark_released(repo, released))
    print(f"setup: generate {_fmt_s(t_gen)}; load {_fmt_s(t_load)} (settlements "
          f"{_fmt_s(t_load_s)}, hazards {_fmt_s(t_load_h)}, commit included); mark "
          f"{len(released)} released {_fmt_s(t_release)}; peak so far "
          f"{_peak_bytes() / 1024**2:.0f} MiB")

    def full_refresh():
        with repo.unit("bench", "status refresh") as uow:
            return status.refresh(uow)

    t_first, first = _timed(full_refresh)
    print(f"(a0) first full refresh after load (writes every status): {_fmt_s(t_first)}; "
          f"{len(first.closed)} closed, {first.checked} checked")

    # (a) demine, from the store ---------------------------------------------------------
    distance = repo.settings().closure_distance_m

    def pairs_only():
        with repo.reader() as uow:
            return uow.spatial.closure_pairs(uow.conn, distance)

    t_pairs, store_pairs = _median_time(pairs_only, args.repeat)
    t_a, steady = _median_time(full_refresh, args.repeat)
    assert not steady.closed and not steady.reopened, "a second refresh changes nothing"
    closed_a, pairs_a = _store_state(repo)
    assert set(store_pairs) == pairs_a

    # (b) geopandas in memory on the same metric geometries ------------------------------
    frame = repo.settings().frame
    s_metric = frame.to_metric(np.array(
        [x.footprint if x.footprint is not None else x.point for x in settlements],
        dtype=object))
    open_mask = ~released_mask
    h_metric = frame.to_metric(np.array([h.polygon for h in hazards], dtype=object)[open_mask])
    s_ids = np.asarray(settlement_ids)
    h_ids = np.asarray(hazard_ids)[open_mask]
    epsg = frame.epsg

    def sjoin():
        left = gpd.GeoDataFrame({"sid": s_ids}, geometry=s_metric, crs=epsg)
        right = gpd.GeoDataFrame({"hid": h_ids}, geometry=h_metric, crs=epsg)
        start = time.perf_counter()
        joined = gpd.sjoin(left, right, predicate="dwithin", distance=distance)
        return time.perf_counter() - start, joined

    runs = [sjoin() for _ in range(args.repeat)]
    t_b = statistics.median(t for t, _ in runs)
    joined = runs[-1][1]
    pairs_b = set(zip(joined["sid"].tolist(), joined["hid"].tolist(), strict=True))
    closed_b = set(joined["sid"].tolist())
    del runs, joined

    # (b2) for scale: geopandas reading the same metric layers from a GeoPackage first
    gpkg = db_path.with_suffix(".gpkg")
    t_gpkg, _ = _timed(lambda: _write_gpkg(gpkg, s_ids, s_metric, h_ids, h_metric, epsg))

    def gpkg_sjoin():
        left = pyogrio.read_dataframe(gpkg, layer="settlements")
        right = pyogrio.read_dataframe(gpkg, layer="hazards")
        return gpd.sjoin(left, right, predicate="dwithin", distance=distance)

    t_b2, joined2 = _median_time(gpkg_sjoin, args.repeat)
    assert set(zip(joined2["sid"].tolist(), joined2["hid"].tolist(), strict=True)) == pairs_b
    del joined2
    if args.db:
        gpkg.unlink()
    print(f"setup: wrote the metric layers to {gpkg.name} for (b2) in {_fmt_s(t_gpkg)}")

    # (c) incremental, after one release -------------------------------------------------
    # Each of C_REPORTS reports clears one hazard that alone keeps a settlement closed.
    picks = _single_blocker_hazards(repo, C_REPORTS + 1)
    if len(picks) < 2:
        print("error: no two settlements closed by a single hazard; use more data",
              file=sys.stderr)
        return 2
    *by_report, (hid_d, _, scode_d) = picks
    approvals, ok_c = [], True
    for _, hcode, scode in by_report:
        t_one, result = _release_by_report(repo, hcode)
        approvals.append(t_one)
        with repo.reader() as uow:
            hz = uow.require(s.hazard_areas, hcode)
        print(f"(c) report {result.report_code} clears {hcode}: hazard now {hz['status']}; "
              f"reopened {result.reopened}, closed {result.closed}; approval {_fmt_s(t_one)}")
        ok_c = ok_c and hz["status"] == "released" and scode in result.reopened
    t_c = statistics.median(approvals)
    with repo.unit("bench", "bench: another release") as uow:
        uow.update(s.hazard_areas, hid_d, {"status": "released", "remaining": None,
                                           "remaining_m": None, "remaining_m2": 0.0})
        uow.spatial.index(uow.conn, "hazard_areas", "remaining_m", [(hid_d, None)])
        t_inc, inc = _timed(lambda: status.refresh_after_hazards(uow, [hid_d]))
    ok_c = ok_c and scode_d in inc.reopened
    repo.close()

    # report -----------------------------------------------------------------------------
    peak = _peak_bytes()
    agree_closed = closed_a == closed_b
    agree_pairs = pairs_a == pairs_b
    n_open = int(open_mask.sum())
    print()
    print(f"data: {args.hazards} hazards ({n_open} not released), {args.settlements} "
          f"settlements ({sum(x.footprint is not None for x in settlements)} with footprint), "
          f"closure distance {distance:g} m, metric CRS {frame.crs}")
    print(f"(a)  demine full refresh from the store (steady)  {_fmt_s(t_a):>10}")
    print(f"(a1)   closure_pairs alone (read+compute)         {_fmt_s(t_pairs):>10}")
    print(f"(a0) demine first full refresh after the load     {_fmt_s(t_first):>10}")
    print(f"(b)  geopandas sjoin dwithin in memory            {_fmt_s(t_b):>10}")
    print(f"(b2)   scale only: GeoPackage read (pyogrio) + (b) {_fmt_s(t_b2):>8}")
    print(f"(c)  approve a report releasing one hazard (med) {_fmt_s(t_c):>10}   "
          f"target < {TARGET_INCREMENTAL_S * 1000:.0f} ms  "
          f"{'OK' if t_c < TARGET_INCREMENTAL_S else 'MISSED'}")
    print(f"(c1)   refresh_after_hazards alone                {_fmt_s(t_inc):>10}   "
          f"target < {TARGET_INCREMENTAL_S * 1000:.0f} ms  "
          f"{'OK' if t_inc < TARGET_INCREMENTAL_S else 'MISSED'}")
    print(f"a/b  {t_a / t_b:8.2f}   target <= {TARGET_RATIO_A_B:g}  "
          f"{'OK' if t_a / t_b <= TARGET_RATIO_A_B else 'MISSED'}   "
          f"(a1/b {t_pairs / t_b:.2f}, a0/b {t_first / t_b:.2f})")
    print(f"c/b  {t_c / t_b:8.4f}   (a/b2 {t_a / t_b2:.2f})")
    print(f"peak memory (ru_maxrss, whole run incl. setup) {peak / 1024**3:.2f} GiB   "
          f"target < 2 GiB  {'OK' if peak < TARGET_PEAK_BYTES else 'MISSED'}")
    print(f"(a) and (b) agree: closed settlements {'yes' if agree_closed else 'NO'} "
          f"({len(closed_a)} vs {len(closed_b)}), blocker pairs "
          f"{'yes' if agree_pairs else 'NO'} ({len(pairs_a)} vs {len(pairs_b)})")
    print(f"(c) each release reopened the settlement it alone kept closed: "
          f"{'yes' if ok_c else 'NO'}")
    print(f"whole run {_fmt_s(time.perf_counter() - t_run)}")
    if tmp is not None:
        tmp.cleanup()
    return 0 if agree_closed and agree_pairs and ok_c else 1


if __name__ == "__main__":
    sys.exit(main())
