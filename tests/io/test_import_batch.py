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

