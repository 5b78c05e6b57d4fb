"""The floor under ``bench/import.py``'s target: the least an import with demine's
semantics costs in PostGIS, beside ogr2ogr loading the same file, in one run.

    python3 bench/import_floor.py [--hazards 200000]

Not demine's code path but the fewest steps that give what demine's import gives,
each written as directly as the libraries allow:
  - every geocheck rule, vectorised (shapely, numpy, pyarrow): valid polygon, >= 3
    distinct vertices, consecutive vertices <= 5 km apart, coordinate range,
    duplicate shapes, duplicate codes, codes with stray spaces;
  - the draft report's entries: one binary COPY;
  - each polygon's area measured on edges densified to 1e-4 degrees (as demine
    measures hazards, see ``demine.geo.crs``), with pyproj on numpy arrays;
  - the approval inside the server as INSERT ... SELECT: each hazard row with its
    WGS84, remaining and metric geometries, two spatial indexes, and an audit row
    holding the new version as JSON.
Printed: each step's seconds and the ratio floor / ogr2ogr. The ratio is what no
implementation of these semantics can beat on this machine; bench/import.py's target
is 2 (demine's whole import against ogr2ogr).
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyogrio
import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
spec = importlib.util.spec_from_file_location("bimport", ROOT / "bench/import.py")
bi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bi)
from national_set import DEFAULT_SEED, generate  # noqa: E402
from pg_cluster import ThrowawayPostgis  # noqa: E402

SCHEMA = """
CREATE TABLE entries (id bigserial PRIMARY KEY, report_id int, row_no int, code text,
  name text, classification text, eo text, blockages text, area float8,
  geom geometry(Polygon, 4326));
CREATE TABLE hazards (id bigserial PRIMARY KEY, code text UNIQUE, name text,
  classification text, declared_classification text, eo_suspected json, eo_confirmed json,
  blockages json, geom geometry(Polygon, 4326), remaining geometry(Geometry, 4326),
  remaining_m geometry(Geometry, 32635), original_m2 float8, remaining_m2 float8,
  status text, report_id int, version int, created_at timestamptz, updated_at timestamptz);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, entity text, entity_id bigint,
  entity_code text, version int, author text, at timestamptz, action text, reason text,
  report_id int, before json, after json);
"""

APPROVE = """
INSERT INTO hazards (code, name, classification, declared_classification, eo_suspected,
  eo_confirmed, blockages, geom, remaining, remaining_m, original_m2, remaining_m2, status,
  report_id, version, created_at, updated_at)
SELECT code, name, classification, classification, to_json(string_to_array(eo, ',')),
  '[]'::json, to_json(string_to_array(blockages, ',')), geom, geom,
  ST_Transform(geom, 32635), area, area, 'open', report_id, 1, now(), now()
FROM entries;
CREATE INDEX ON hazards USING gist (geom);
CREATE INDEX ON hazards USING gist (remaining_m);
INSERT INTO audit_log (entity, entity_id, entity_code, version, author, at, action, reason,
  report_id, before, after)
SELECT 'hazard_area', id, code, 1, 'bench', now(), 'create', 'import', report_id, 'null',
  json_build_object('code', code, 'name', name, 'classification', classification,
    'eo_suspected', eo_suspected, 'blockages', blockages, 'geom', ST_AsText(geom),
    'original_m2', original_m2, 'status', status, 'id', id)
FROM hazards;
"""


def checks(path: Path):
    """Every geocheck rule, vectorised; returns the columns to store."""
    meta, table = pyogrio.read_arrow(path)
    wkb = table.column(meta["geometry_name"] or "geom").to_numpy(zero_copy_only=False)
    g = shapely.from_wkb(wkb)
    bad = ~shapely.is_valid(g)
    coords, owner = shapely.get_coordinates(g, return_index=True)
    # >= 3 distinct vertices (a ring repeats its first vertex)
    bad |= np.bincount(owner, minlength=len(g)) < 4
    # consecutive vertices more than 5 km apart (haversine)
    same = owner[1:] == owner[:-1]
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    h = (np.sin(np.diff(lat) / 2) ** 2
         + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2)
    far = same & (2 * 6_371_000 * np.arcsin(np.sqrt(h)) > 5_000)
    bad[owner[1:][far]] = True
    # extent
    b = shapely.bounds(g)
    bad |= (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
    # duplicate shapes
    keys = shapely.to_wkb(shapely.normalize(g))
    _, counts = np.unique(keys, return_counts=True)
    dup = counts > 1
    # codes: stray spaces, duplicates
    code = table.column("code")
    stray = pc.not_equal(pc.utf8_trim_whitespace(code), code).to_numpy(zero_copy_only=False)
    codes = code.to_numpy(zero_copy_only=False)
    dup_code = len(np.unique(codes)) < len(codes)
    if bad.any() or dup.any() or stray.any() or dup_code:
        raise SystemExit("the bench file should pass every check")
    return table, wkb


def areas_m2(wkb) -> list[float]:
    """Each polygon's area in UTM 35N on edges densified to 1e-4 degrees, as demine
    measures hazards (pyproj on numpy arrays: faster here than PostGIS's ST_Transform)."""
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32635", always_xy=True)
    out: list[float] = []
    for at in range(0, len(wkb), 20_000):
        dense = shapely.segmentize(shapely.from_wkb(wkb[at:at + 20_000]), 1e-4)
        metric = shapely.transform(dense, lambda xy: np.column_stack(
            to_utm.transform(xy[:, 0], xy[:, 1])))
        out.extend(shapely.area(metric).tolist())
    return out


def copy_entries(conn, table, wkb, areas) -> None:
    cols = [table.column(c).to_pylist() for c in
            ("code", "name", "classification", "eo_suspected", "blockages")]
    with conn.cursor().copy("COPY entries (report_id, row_no, code, name, classification, "
                            "eo, blockages, area, geom) FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types(["int4", "int4", "text", "text", "text", "text", "text", "float8",
                      "bytea"])
        for i, row in enumerate(zip(*cols, areas, wkb, strict=True)):
            cp.write_row((1, i, *row))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hazards", type=int, default=200_000)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    pg = ThrowawayPostgis()
    pg.start()
    try:
        _, hz, _ = generate(args.hazards, 0, DEFAULT_SEED)
        path = tmp / "h.gpkg"
        bi.write_gpkg(path, hz)
        n = len(hz)
        del hz
        pg.create_database("ogr")
        t_ogr = bi.ogr2ogr_import(pg, "ogr", path, n)
        pg.create_database("floor")
        with pg.connect("floor") as conn:
            conn.execute(SCHEMA)
            conn.commit()
            steps: list[tuple[str, float]] = []
            t0 = time.perf_counter()
            table, wkb = checks(path)
            t1 = time.perf_counter()
            areas = areas_m2(wkb)
            t_area = time.perf_counter() - t1
            copy_entries(conn, table, wkb, areas)
            conn.commit()
            t2 = time.perf_counter()
            for stmt in [x for x in APPROVE.split(";") if x.strip()]:
                ta = time.perf_counter()
                conn.execute(stmt)
                conn.commit()
                steps.append((stmt.split("(")[0].strip(), time.perf_counter() - ta))
            t3 = time.perf_counter()
            stored = conn.execute("SELECT count(*), sum(original_m2) FROM hazards").fetchone()
            audited = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        assert stored[0] == n and audited == n
        total = t3 - t0
        print(f"import floor bench: {n:,} hazard polygons, seed {DEFAULT_SEED}")
        for label, seconds in steps:
            print(f"  approval step {seconds:6.2f} s  {' '.join(label.split())}")
        print(f"ogr2ogr {t_ogr:.2f} s; floor {total:.2f} s (checks {t1 - t0:.2f}, areas "
              f"{t_area:.2f}, entries COPY {t2 - t1 - t_area:.2f}, approval in SQL "
              f"{t3 - t2:.2f}); ratio {total / t_ogr:.2f} (bench/import.py's target: 2)")
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
