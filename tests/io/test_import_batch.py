"""The national-import fast paths store what the general paths store.

A hazard import drafts its entries already parsed (``reports.new_hazard_entries``), the
approval takes them from the draft instead of parsing the stored JSON, and rows go to
the store through ``demine.store.batch`` (COPY on PostGIS, the driver's executemany on
SQLite). Each test holds one of these against the path it replaces, on both stores.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import select

from demine.domain.entities import Organisation
from demine.domain.vocab import OrganisationKind
from demine.io import import_rows
from demine.io.imports import import_file, single_parts
from demine.service import reference, reports
from demine.store import Repository, batch
from demine.store import schema as s

X0, Y0 = 27.0, 49.0


def _setup(repo: Repository) -> None:
    with repo.unit("im.test", "setup") as uow:
        reference.add_organisation(uow, Organisation("MAC", "Centre", OrganisationKind.NMAA))


def _polygons() -> list:
    holed = box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01).difference(
        box(X0 + 0.012, Y0 + 0.002, X0 + 0.014, Y0 + 0.004))
    two_parts = MultiPolygon([box(X0 + 0.03, Y0, X0 + 0.031, Y0 + 0.001),
                              box(X0 + 0.035, Y0, X0 + 0.036, Y0 + 0.001)])
    odd = Polygon([(X0 + 0.1 / 3, Y0 + 0.2 / 7), (X0 + 0.05, Y0 + 0.031),
                   (X0 + 0.047, Y0 + 0.04 / 3)])
    return [box(X0, Y0, X0 + 0.002, Y0 + 0.002), holed, two_parts, odd]


def _file(tmp_path: Path, prefix: str) -> Path:
    frame = gpd.GeoDataFrame(
        {"code": [f"{prefix}-{i}" for i in range(1, 5)],
         "name": ["North field", "Hole \"quoted\" — é", "", "Tab\tname"],
         "classification": ["SHA", "cha", "CHA", "SHA"],
         "eo_suspected": ["ap_mine; uxo", "at_mine", "", "uxo,ap_mine,uxo"],
         "blockages": ["agriculture", "", "road", "agriculture"]},
        geometry=_polygons(), crs=4326)
    path = tmp_path / f"{prefix}.gpkg"
    frame.to_file(path, driver="GPKG")
    return path


_VARYING = frozenset({"id", "code", "report_id", "created_at", "updated_at", "entity_id",
                      "entity_code", "at", "name"})


def _recorded(repo: Repository, report_code: str) -> list[dict[str, Any]]:
    """Each hazard a report recorded, its audit row and its report entry, by seq."""
    out = []
    with repo.reader() as uow:
        report = uow.require(s.reports, report_code)
        for seq, kind, payload, hazard_code in uow.conn.execute(
                select(s.report_entries.c.seq, s.report_entries.c.kind,
                       s.report_entries.c.payload, s.report_entries.c.hazard_code)
                .where(s.report_entries.c.report_id == report["id"])
                .order_by(s.report_entries.c.seq)):
            row = uow.require(s.hazard_areas, hazard_code)
            audit = uow.conn.execute(select(s.audit_log).where(
                s.audit_log.c.entity == "hazard_area",
                s.audit_log.c.entity_id == row["id"])).mappings().one()
            assert audit["report_id"] == report["id"] and audit["entity_code"] == hazard_code
            assert audit["reason"].startswith(f"report {report_code} ")
            assert audit["before"] is None and audit["after"]["id"] == row["id"]
            out.append({
                "seq": seq, "kind": kind,
                "payload": {k: v for k, v in payload.items() if k not in _VARYING},
                "row": {k: (shapely.to_wkb(v), shapely.get_srid(v))
                        if isinstance(v, shapely.Geometry) else v
                        for k, v in row.items() if k not in _VARYING},
                "audit": {k: v for k, v in audit.items()
                          if k not in _VARYING | {"after", "reason"}},
                "after": {k: v for k, v in audit["after"].items() if k not in _VARYING}})
    return out


def test_an_import_records_what_a_report_of_parsed_entries_records(
        repo: Repository, tmp_path: Path) -> None:
    _setup(repo)
    summary = import_file(repo, _file(tmp_path, "HA"), "hazards", author="im",
                          organisation_code="MAC", approve=True, info_date=date(2026, 5, 1))
    assert summary.created == 4 and not summary.rejected
    # the same hazards through the general door: entries as a client sends them,
    # parsed at the draft and parsed again, from the stored JSON, at approval
    frame = gpd.read_file(_file(tmp_path, "HB"))
    polygons = single_parts(np.asarray(frame.geometry.to_numpy(), dtype=object))
    entries = []
    for row, polygon in zip(frame.itertuples(), polygons, strict=True):
        cells = {"code": row.code, "name": row.name, "classification": row.classification,
                 "eo_suspected": row.eo_suspected, "blockages": row.blockages}
        candidate, problems = import_rows.hazard(cells, polygon, "x")
        assert candidate is not None and not problems
        v = candidate.values
        entries.append(("new_hazard", {
            "code": candidate.code, "name": v.get("name", candidate.code),
            "classification": v.get("classification", "SHA"),
            "eo_suspected": v.get("eo_suspected", []), "blockages": v.get("blockages", []),
            "synthetic": False, "geometry": candidate.geometry}))
    code = reports.create_draft(repo, author="im", organisation_code="MAC",
                                info_date=date(2026, 5, 1), entries=entries,
                                summary="import HB.gpkg")
    reports.submit(repo, code, "im")
    reports.approve(repo, code, "im")

    fast, general = _recorded(repo, summary.report_code), _recorded(repo, code)
    assert len(fast) == len(general) == 4
    assert fast == general
    with repo.reader() as uow:
        names = {c: uow.require(s.hazard_areas, c)["name"] for c in ("HA-2", "HA-3", "HA-4")}
    assert names == {"HA-2": "Hole \"quoted\" — é", "HA-3": "HA-3", "HA-4": "Tab\tname"}
    # a later reader parses the stored entries into the hazards that were recorded
    with repo.reader() as uow:
        report = uow.require(s.reports, summary.report_code)
        stored = reports._entries(uow, report)
        for (_, change), polygon in zip(stored, _polygons(), strict=True):
            row = uow.require(s.hazard_areas, change.hazard.code)
            assert shapely.equals_exact(change.hazard.polygon, row["geom"], tolerance=0)
            assert shapely.equals_exact(change.hazard.polygon, polygon, tolerance=0)


def test_an_approval_takes_the_parsed_entries_of_that_draft_only(repo: Repository) -> None:
    _setup(repo)

    def entry(code: str, x: float) -> tuple[str, dict]:
        return ("new_hazard", {"code": code, "geometry": box(X0 + x, Y0, X0 + x + 0.001,
                                                              Y0 + 0.001)})

    first = reports.draft(repo, author="im", organisation_code="MAC",
                          info_date=date(2026, 5, 1), entries=[entry("HZ-1", 0.0)])
    second = reports.draft(repo, author="im", organisation_code="MAC",
                           info_date=date(2026, 5, 1),
                           entries=[entry("HZ-2", 0.01), entry("HZ-3", 0.02)])
    assert [(seq, c.hazard.code) for seq, c in second.entries] == [(1, "HZ-2"), (2, "HZ-3")]
    reports.submit(repo, second.code, "im")
    # the wrong report's draft is not taken: the stored entries are applied
    result = reports.approve(repo, second.code, "im", drafted=first)
    assert sorted(h.code for h in result.hazards) == ["HZ-2", "HZ-3"]
    with repo.reader() as uow:
        assert uow.row(s.hazard_areas, code="HZ-1") is None
    reports.submit(repo, first.code, "im")
    # nor a draft whose entries are not all the stored ones
    partial = reports.Draft(first.code, first.report_id, ())
    assert [h.code for h in reports.approve(repo, first.code, "im",
                                            drafted=partial).hazards] == ["HZ-1"]


def test_ewkb_is_what_shapely_writes_with_the_srid() -> None:
    geoms = np.array([*_polygons(), Point(X0, Y0), shapely.from_wkt(
        "POLYGON Z ((27 49 1, 27.1 49 2, 27.1 49.1 3, 27 49 1))"), None], dtype=object)
    expected = [None if g is None else shapely.to_wkb(shapely.set_srid(g, 4326),
                                                      include_srid=True) for g in geoms]
    assert batch.geometry_values("postgresql", geoms, 4326) == expected
    own = shapely.set_srid(geoms, np.array([32635] + [0] * (len(geoms) - 1)))
    got = batch.geometry_values("postgresql", own, 4326)
    assert shapely.get_srid(shapely.from_wkb(got[0])) == 32635
    assert got[1:] == expected[1:]
    assert batch.geometry_values("sqlite", geoms, 4326) == [
        None if g is None else shapely.to_wkb(g) for g in geoms]


def test_reserved_ids_are_new_increasing_and_drawn_from_the_sequence(
        repo: Repository) -> None:
    _setup(repo)
    with repo.unit("im", "ids") as uow:
        first = batch.reserve_ids(uow.conn, repo.dialect, s.hazard_areas, 5)
        assert first == list(range(first[0], first[0] + 5))
        assert batch.reserve_ids(uow.conn, repo.dialect, s.hazard_areas, 0) == []
        if repo.dialect == "postgresql":
            # ids that are not one run (here: a sequence stepping by 3) come one by one
            uow.conn.exec_driver_sql(
                "ALTER SEQUENCE hazard_areas_id_seq INCREMENT BY 3")
            spread = batch.reserve_ids(uow.conn, repo.dialect, s.hazard_areas, 4)
            assert spread == [first[-1] + 3 * k for k in range(1, 5)]
            after = batch.reserve_ids(uow.conn, repo.dialect, s.hazard_areas, 2)
            assert after == [spread[-1] + 3, spread[-1] + 6]
            uow.conn.exec_driver_sql("ALTER SEQUENCE hazard_areas_id_seq INCREMENT BY 1")


def test_one_of_finds_any_text_and_numbers(repo: Repository) -> None:
    odd = ['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "", "é ü", "'", "i\\\"j", "k}l{"]
    with repo.unit("im", "names") as uow:
        ids = batch.reserve_ids(uow.conn, repo.dialect, s.organisations, len(odd))
        batch.insert_rows(uow.conn, repo.dialect, s.organisations,
                          ("id", "code", "name", "kind", "version", "created_at",
                           "updated_at", "synthetic"),
                          [(i, f"ORG-{i}", name, OrganisationKind.OPERATOR.value, 1, uow.now,
                            uow.now, False) for i, name in zip(ids, odd, strict=True)])
    column = s.organisations.c.name
    with repo.reader() as uow:
        for wanted in ([odd[0]], odd[:6], odd, ["NULL"], [""], ["nothing", 'a"b '], []):
            found = set(uow.conn.execute(select(column).where(
                batch.one_of(repo.dialect, column, wanted))).scalars())
            assert found == set(wanted) & set(odd)
        found = set(uow.conn.execute(select(s.organisations.c.id).where(
            batch.one_of(repo.dialect, s.organisations.c.id, [ids[1], ids[3], -5]))).scalars())
        assert found == {ids[1], ids[3]}


@pytest.mark.parametrize("count", [0, 1, 12_000])
def test_one_of_finds_what_in_finds(repo: Repository, count: int) -> None:
    _setup(repo)
    with repo.unit("im", "codes") as uow:
        ids = batch.reserve_ids(uow.conn, repo.dialect, s.organisations, 3)
        assert len(set(ids)) == 3
        batch.insert_rows(uow.conn, repo.dialect, s.organisations,
                          ("id", "code", "name", "kind", "version", "created_at",
                           "updated_at", "synthetic"),
                          [(i, f"ORG-{i}", "x", OrganisationKind.OPERATOR.value, 1, uow.now,
                            uow.now, False)
                           for i in ids])
    with repo.reader() as uow:
        stored = dict(uow.conn.execute(select(s.organisations.c.code,
                                              s.organisations.c.id)).all())
        wanted = [f"ORG-{i}" for i in range(count)] + (["MAC"] if count else [])
        by_code = set(uow.conn.execute(select(s.organisations.c.code).where(
            batch.one_of(repo.dialect, s.organisations.c.code, wanted))).scalars())
        assert by_code == {c for c in wanted if c in stored}
        some_ids = list(range(count))
        by_id = set(uow.conn.execute(select(s.organisations.c.id).where(
            batch.one_of(repo.dialect, s.organisations.c.id, some_ids))).scalars())
        assert by_id == {i for i in stored.values() if i in set(some_ids)}


def test_index_many_writes_the_boxes_index_writes(repo: Repository) -> None:
    geoms = np.array([*_polygons(), Polygon(), None], dtype=object)
    ids = np.arange(1, len(geoms) + 1, dtype=np.int64)
    boxes = {}
    for name, write in (
            ("one", lambda uow: uow.spatial.index(uow.conn, "roads", "geom",
                                                  zip(ids.tolist(), geoms, strict=True))),
            ("many", lambda uow: uow.spatial.index_many(uow.conn, "roads", "geom", ids,
                                                        geoms))):
        with repo.unit("im", "boxes") as uow:
            write(uow)
            if repo.dialect == "sqlite":
                boxes[name] = uow.conn.exec_driver_sql(
                    "SELECT * FROM rtree_roads_geom ORDER BY id").all()
                uow.conn.exec_driver_sql("DELETE FROM rtree_roads_geom")
    if repo.dialect == "sqlite":
        assert boxes["one"] == boxes["many"] and len(boxes["one"]) == 4


def test_list_cells_are_parsed_once_each_and_keep_their_own_message() -> None:
    seen = []
    for cell in ("ap_mine; nonsense", 1, 1.0, True, "ap_mine; nonsense"):
        candidate, problems = import_rows.hazard(
            {"code": "HZ-1", "eo_suspected": cell}, box(X0, Y0, X0 + 0.001, Y0 + 0.001), "x")
        assert candidate is None and [f for f, _ in problems] == ["eo_suspected"]
        seen.append(problems[0][1])
    assert [p.split(";")[0] for p in seen] == [
        "unknown value 'nonsense'", "unknown value '1'", "unknown value '1.0'",
        "unknown value 'True'", "unknown value 'nonsense'"]
    candidate, _ = import_rows.hazard({"code": "HZ-2", "eo_suspected": "uxo, uxo; ap_mine"},
                                      box(X0, Y0, X0 + 0.001, Y0 + 0.001), "x")
    assert candidate is not None and candidate.values["eo_suspected"] == ["uxo", "ap_mine"]
    assert json.dumps(candidate.values["eo_suspected"]) == '["uxo", "ap_mine"]'



# --- duplicate shapes: the key of shapely.set_precision(geom, 1e-9), snapped fast -------

def _snapped_key(geom: Any) -> bytes:
    """The duplicate-shape key as the full snap rounding gives it."""
    return shapely.to_wkb(shapely.normalize(shapely.set_precision(geom, 1e-9)))


def _spiked() -> tuple[Polygon, Polygon]:
    """A square with a spike 0.8e-9° high on its top edge, and the square without it.

    Rounding each vertex to the 1e-9° grid leaves the spike as a zero-width spike (an
    invalid polygon); snap rounding collapses it, leaving its foot as a vertex."""
    x, y = X0 + 0.001, Y0 + 0.002
    spiked = Polygon([(X0, Y0), (X0 + 0.002, Y0), (X0 + 0.002, y), (x + 4e-10, y),
                      (x + 3e-10, y + 8e-10), (x + 2e-10, y), (X0, y)])
    plain = Polygon([(X0, Y0), (X0 + 0.002, Y0), (X0 + 0.002, y), (x, y), (X0, y)])
    return spiked, plain


def _hole_near_shell() -> tuple[Polygon, Polygon]:
    """A hole whose apex is a third of a grid cell inside the slanted shell edge, and
    the same polygon with the hole touching the shell at that apex.

    Rounded vertex by vertex the first stays valid with its hole clear of the shell;
    snap rounding nodes the shell edge at the apex (the edge crosses the apex's grid
    cell), so both are the same shape to 1e-9°."""
    apex = (X0 + 0.0015 + 2e-9, Y0 + (0.0015 + 2e-9) / 3)
    on_grid = (apex[0], Y0 + 0.0005 + 1e-9)
    hole = [(X0 + 0.0017, Y0 + 0.002), (X0 + 0.0013, Y0 + 0.002)]
    near = Polygon([(X0, Y0), (X0 + 0.003, Y0 + 0.001), (X0 + 0.003, Y0 + 0.003),
                    (X0, Y0 + 0.003)], [[apex, *hole]])
    touching = Polygon([(X0, Y0), on_grid, (X0 + 0.003, Y0 + 0.001),
                        (X0 + 0.003, Y0 + 0.003), (X0, Y0 + 0.003)], [[on_grid, *hole]])
    return near, touching


def test_shape_keys_are_the_keys_of_the_full_snap_rounding() -> None:
    spiked, plain = _spiked()
    near, touching = _hole_near_shell()
    assert spiked.is_valid and plain.is_valid and near.is_valid and touching.is_valid
    sliver = Polygon([(X0, Y0), (X0 + 0.001, Y0), (X0 + 0.0005, Y0 + 3e-10)])
    geoms = [*_polygons(), spiked, plain, near, touching, sliver, Point(X0 + 1e-10, Y0),
             box(X0, Y0, X0 + 0.001, Y0 + 0.001).buffer(0.0001),
             MultiPolygon([box(X0, Y0, X0 + 0.001, Y0 + 0.001),
                           box(X0 + 0.001 + 3e-10, Y0, X0 + 0.002, Y0 + 0.001)])]
    keys = import_rows.shape_keys(geoms)
    assert keys == [_snapped_key(g) for g in geoms]
    assert [import_rows.shape_key(g) for g in geoms] == keys


def test_a_spike_under_the_tolerance_is_a_duplicate_and_another_shape_is_not() -> None:
    spiked, plain = _spiked()
    near, touching = _hole_near_shell()
    moved = Polygon([(X0, Y0), (X0 + 0.002, Y0), (X0 + 0.002, Y0 + 0.002),
                     (X0 + 0.001, Y0 + 0.002 + 1e-6), (X0, Y0 + 0.002)])
    keys = import_rows.shape_keys([spiked, plain, near, touching, moved])
    assert keys[0] == keys[1] == import_rows.shape_key(spiked) == import_rows.shape_key(plain)
    assert keys[2] == keys[3] == import_rows.shape_key(near)
    assert keys[4] not in (keys[0], keys[2]) and keys[0] != keys[2]


def test_an_import_refuses_both_rows_of_a_shape_repeated_under_the_tolerance(
        repo: Repository, tmp_path: Path) -> None:
    _setup(repo)
    spiked, plain = _spiked()
    other = box(X0 + 0.01, Y0, X0 + 0.012, Y0 + 0.002)
    path = tmp_path / "spiked.gpkg"
    gpd.GeoDataFrame({"code": ["HZ-1", "HZ-2", "HZ-3"], "classification": ["SHA"] * 3},
                     geometry=[spiked, plain, other], crs=4326).to_file(path, driver="GPKG")
    summary = import_file(repo, path, "hazards", author="im.test", organisation_code="MAC",
                          dry_run=True)
    assert [(r.row, r.field) for r in summary.rejected] == [(1, "geometry"), (2, "geometry")]
    assert "duplicate shape: the same shape as row(s) 2" in summary.rejected[0].problem
