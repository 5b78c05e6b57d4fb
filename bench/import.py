"""Import of a national hazard GeoPackage: demine (SQLite, PostGIS) beside ogr2ogr.

    python3 bench/import.py [--hazards 200000] [--seed N] [--only sqlite postgis ogr2ogr]
                            [--profile OUT.prof]

Needs GDAL's command-line tools for the reference: ``apt-get install gdal-bin`` (Debian's
package; ``ogr2ogr`` on PATH), and PostgreSQL + PostGIS, which a throwaway cluster is
started from (``tests/pg_cluster.py``, as ``bench/api_load.py`` does; ``scripts/test``
installs the packages).

The file: the deterministic synthetic country of ``national_set.py`` (irregular hazard
polygons of 0.1-20 ha, 5-12 vertices, around 27° E 49° N), written once with pyogrio as
a GeoPackage layer ``hazard_areas`` in WGS84 with demine's own column names (code, name,
classification, eo_suspected, blockages), as a national centre would send it.

Timed, in one run, each into a fresh database:
  (a) ``demine import FILE --layer hazards --org MAC --approve`` through
      :func:`demine.io.imports.import_file` into a new SQLite store (the default);
  (b) the same into a PostGIS database on the throwaway cluster;
  (c) ``ogr2ogr -f PostgreSQL`` loading the same file into another database of the
      same cluster (GDAL's defaults: COPY, a GiST index on the geometry).
demine's time is the whole import: reading, column mapping, every geocheck rule (valid
polygon, >= 3 distinct vertices, vertex spacing, duplicates in the file, codes, extent),
the comparison with the store, the report (drafted, submitted, approved: every hazard
checked again, projected, measured, indexed, and audited with the import as reason) and
the settlement-status refresh. ogr2ogr validates nothing and writes no audit.
Printed: rows/s of each and the ratio demine-on-PostGIS / ogr2ogr (target: <= 2).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from sqlalchemy import func, select

from demine.domain.entities import HazardArea, Organisation
from demine.domain.vocab import OrganisationKind
from demine.io.imports import import_file
from demine.service import reference
from demine.store import schema as s
from demine.store.repository import Repository
from national_set import DEFAULT_SEED, generate

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0


def write_gpkg(path: Path, hazards: list[HazardArea]) -> None:
    """The national file: demine's column names, WGS84, one layer ``hazard_areas``."""
    frame = gpd.GeoDataFrame({
        "code": [h.code for h in hazards],
        "name": [h.name for h in hazards],
        "classification": [h.classification.value for h in hazards],
        "eo_suspected": [",".join(e.value for e in h.eo_suspected) for h in hazards],
        "blockages": [",".join(b.value for b in h.blockages) for h in hazards],
    }, geometry=np.asarray([h.polygon for h in hazards], dtype=object), crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path, layer="hazard_areas", driver="GPKG")


def demine_import(url: str, path: Path, expected: int, profile: Path | None) -> float:
    """Seconds for demine's whole import of ``path`` into the fresh store at ``url``."""
    repo = Repository.open(url)
    try:
        with repo.unit("bench", "bench set-up") as uow:
            reference.add_organisation(uow, Organisation("MAC", "Mine action centre",
                                                         OrganisationKind.NMAA))
        profiler = cProfile.Profile() if profile is not None else None
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        summary = import_file(repo, path, "hazards", author="bench", organisation_code="MAC",
                              approve=True)
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - start
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)
        if summary.rejected or summary.created != expected:
            raise SystemExit(f"demine import: created {summary.created} of {expected}, "
                             f"{len(summary.rejected)} rejected: {summary.rejected[:3]}")
        with repo.reader() as uow:
            stored = uow.conn.execute(select(func.count()).select_from(s.hazard_areas)).scalar()
            audited = uow.conn.execute(select(func.count()).select_from(s.audit_log).where(
                s.audit_log.c.entity == "hazard_area")).scalar()
        if stored != expected or audited < expected:
            raise SystemExit(f"demine import: {stored} hazards stored, {audited} audit rows; "
                             f"expected {expected}")
        return elapsed
    finally:
        repo.close()


def ogr2ogr_import(pg, dbname: str, path: Path, expected: int) -> float:
    """Seconds for ``ogr2ogr`` loading ``path`` into the fresh database ``dbname``."""
    target = f"PG:{pg.conninfo(dbname)}"
    start = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", target, str(path), "hazard_areas",
                    "-nln", "hazard_areas"], check=True)
    elapsed = time.perf_counter() - start
    with pg.connect(dbname) as conn:
        stored = conn.execute("SELECT count(*) FROM hazard_areas").fetchone()[0]
    if stored != expected:
        raise SystemExit(f"ogr2ogr: {stored} rows stored, expected {expected}")
    return elapsed


def _line(label: str, seconds: float, rows: int) -> None:
    print(f"{label:<28} {seconds:9.2f} s  {rows / seconds:10,.0f} rows/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hazards", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--only", nargs="+", choices=["sqlite", "postgis", "ogr2ogr"],
                        help="time only these loads")
    parser.add_argument("--profile", type=Path,
                        help="write cProfile stats of demine's PostGIS import (SQLite's when "
                             "PostGIS is not timed) to this file")
    args = parser.parse_args(argv)
    wanted = set(args.only or ["sqlite", "postgis", "ogr2ogr"])
    if "ogr2ogr" in wanted and shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr not found: apt-get install gdal-bin")
    sys.path.insert(0, str(ROOT / "tests"))
    from pg_cluster import ThrowawayPostgis

    tmp = Path(tempfile.mkdtemp(prefix="demine-import-bench-"))
    pg = ThrowawayPostgis() if wanted & {"postgis", "ogr2ogr"} else None
    try:
        if pg is not None:
            pg.start()
        t0 = time.perf_counter()
        _, hazards, _ = generate(args.hazards, 0, args.seed)
        path = tmp / "national_hazards.gpkg"
        write_gpkg(path, hazards)
        n = len(hazards)
        del hazards
        features = int(pyogrio.read_info(path)["features"])
        print(f"demine import bench: {n:,} hazard polygons, seed {args.seed}; "
              f"{path.stat().st_size / 2**20:.1f} MiB GeoPackage written in "
              f"{time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs; "
              f"GDAL {pyogrio.__gdal_version_string__}")
        assert features == n
        results: dict[str, float] = {}
        profile_target = "postgis" if "postgis" in wanted else "sqlite"
        runs: list[tuple[str, str, Callable[[], float]]] = []
        if "sqlite" in wanted:
            runs.append(("sqlite", "demine -> SQLite", lambda: demine_import(
                f"sqlite:///{tmp / 'bench.sqlite'}", path, n,
                args.profile if profile_target == "sqlite" else None)))
        if "postgis" in wanted:
            runs.append(("postgis", "demine -> PostGIS", lambda: demine_import(
                pg.create_database("demine_import"), path, n,
                args.profile if profile_target == "postgis" else None)))
        if "ogr2ogr" in wanted:
            runs.append(("ogr2ogr", "ogr2ogr -> PostGIS", lambda: ogr2ogr_import(
                pg, pg.create_database("ogr_import") and "ogr_import", path, n)))
        for key, label, run in runs:
            results[key] = run()
            _line(label, results[key], n)
        if "postgis" in results and "ogr2ogr" in results:
            ratio = results["postgis"] / results["ogr2ogr"]
            verdict = "meets" if ratio <= TARGET_RATIO else "misses"
            print(f"ratio demine-PostGIS / ogr2ogr: {ratio:.2f} ({verdict} the target of "
                  f"{TARGET_RATIO:g}x)")
        if "sqlite" in results and "ogr2ogr" in results:
            print(f"ratio demine-SQLite / ogr2ogr: {results['sqlite'] / results['ogr2ogr']:.2f}")
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
