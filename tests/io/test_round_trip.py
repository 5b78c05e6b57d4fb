"""Export then import reproduces the same records: demo district -> GeoPackage -> new store.

Settlements and hazard areas go out through ``demine export``'s layers and come back
through ``demine import``; codes, names, populations, classes and shapes must match
(shapes within 1e-7 degrees, the issue's bound for formats that keep coordinates).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from sqlalchemy import select

from demine.domain.entities import Organisation
from demine.domain.vocab import OrganisationKind
from demine.io.export import export_project
from demine.io.imports import import_file
from demine.scenario.district import load_demo
from demine.service import reference
from demine.store import Repository
from demine.store import schema as s

TOLERANCE_DEG = 1e-7


def _records(repo: Repository, table, columns: tuple[str, ...]) -> dict[str, dict]:
    with repo.reader() as uow:
        rows = uow.conn.execute(table.select()).mappings().all()
    return {r["code"]: {c: r[c] for c in columns} for r in rows}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Repository]:
    tmp = tmp_path_factory.mktemp("roundtrip")
    source = Repository.open(f"sqlite:///{tmp}/demo.sqlite")
    load_demo(source)
    out = tmp / "project.gpkg"
    export_project(source, out, "gpkg", layers=["settlements", "hazard_areas"])
    return out, source


def test_settlements_and_hazards_come_back_the_same(exported, db_url: str) -> None:
    gpkg, source = exported
    target = Repository.open(db_url)
    try:
        with target.unit("im.test", "set-up") as uow:
            reference.add_organisation(uow, Organisation("MAC", "Mine action centre",
                                                         OrganisationKind.NMAA))
        got = import_file(target, gpkg, "settlements", author="im.test")
        assert not got.rejected and got.created == 64
        got = import_file(target, gpkg, "hazards", author="im.test", organisation_code="MAC",
                          approve=True)
        assert not got.rejected and got.created == 78

        cols = ("name", "admin_area", "population", "geom")
        want, have = _records(source, s.settlements, cols), _records(target, s.settlements, cols)
        assert want.keys() == have.keys()
        for code, row in want.items():
            other = have[code]
            assert {k: row[k] for k in cols[:3]} == {k: other[k] for k in cols[:3]}, code
            assert shapely.hausdorff_distance(row["geom"], other["geom"]) <= TOLERANCE_DEG

        cols = ("name", "declared_classification", "geom", "original_m2")
        want, have = _records(source, s.hazard_areas, cols), _records(target, s.hazard_areas, cols)
        assert want.keys() == have.keys()
        for code, row in want.items():
            other = have[code]
            assert (row["name"], row["declared_classification"]) == (
                other["name"], other["declared_classification"]), code
            assert shapely.hausdorff_distance(row["geom"], other["geom"]) <= TOLERANCE_DEG, code
            assert other["original_m2"] == pytest.approx(row["original_m2"], rel=1e-6), code

        # importing the same file again changes nothing
        again = import_file(target, gpkg, "settlements", author="im.test")
        assert (again.created, again.updated, again.unchanged) == (0, 0, 64)
    finally:
        target.close()


@pytest.fixture(scope="module")
def exported_all(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Repository]:
    """The demo district's operational layers too, personal data included."""
    tmp = tmp_path_factory.mktemp("roundtrip_all")
    source = Repository.open(f"sqlite:///{tmp}/demo.sqlite")
    load_demo(source)
    out = tmp / "project.gpkg"
    export_project(source, out, "gpkg", include_sensitive=True, layers=[
        "settlements", "hazard_areas", "teams", "activities", "findings", "accidents",
        "victims"])
    return out, source


def _organisations(repo: Repository) -> list[Organisation]:
    with repo.reader() as uow:
        return [Organisation(r["code"], r["name"], OrganisationKind(r["kind"]))
                for r in uow.conn.execute(s.organisations.select()).mappings()]


def _activities(repo: Repository) -> dict[str, tuple]:
    a, h, t = s.activities, s.hazard_areas, s.teams
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(a.c.code, a.c.type, h.c.code, t.c.code, a.c.planned_start, a.c.planned_end,
                   a.c.actual_start, a.c.actual_end, a.c.status, a.c.suspension_reason,
                   a.c.clearance_depth_mm)
            .join(h, h.c.id == a.c.hazard_id).outerjoin(t, t.c.id == a.c.team_id)).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _findings(repo: Repository) -> list[tuple]:
    f, a = s.findings, s.activities
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(a.c.code, f.c.eo_category, f.c.found_on, f.c.model, f.c.condition,
                   f.c.depth_mm, f.c.disposal, f.c.geom)
            .join(a, a.c.id == f.c.activity_id).where(f.c.void.is_(False))).all()
    return sorted((*r[:7], round(r[7].x, 7), round(r[7].y, 7)) for r in rows)


def _accidents(repo: Repository) -> dict[str, tuple]:
    t, a, v = s.accidents, s.activities, s.victims
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(t.c.id, t.c.code, t.c.accident_date, t.c.type, t.c.device_category,
                   a.c.code, t.c.narrative, t.c.geom)
            .outerjoin(a, a.c.id == t.c.activity_id).where(t.c.void.is_(False))).all()
        victims = uow.conn.execute(select(v.c.accident_id, v.c.outcome, v.c.role, v.c.sex,
                                          v.c.age, v.c.activity_at_time)).all()
    by_accident: dict[int, list] = {}
    for r in victims:
        by_accident.setdefault(r[0], []).append(tuple(r[1:]))
    return {r[1]: (*r[2:7], round(r[7].x, 7), round(r[7].y, 7),
                   sorted(by_accident.get(r[0], []), key=str)) for r in rows}


def test_activities_findings_accidents_come_back_the_same(exported_all, db_url: str) -> None:
    gpkg, source = exported_all
    target = Repository.open(db_url)
    try:
        with target.unit("im.test", "set-up") as uow:
            for org in _organisations(source):
                reference.add_organisation(uow, org)
        for layer in ("settlements", "teams"):
            got = import_file(target, gpkg, layer, author="im.test")
            assert not got.rejected, got.rejected[:3]
        for layer in ("hazards", "activities", "findings", "accidents"):
            got = import_file(target, gpkg, layer, author="im.test", organisation_code="MAC",
                              approve=True)
            assert not got.rejected and got.created > 0, (layer, got.rejected[:3])
        assert _activities(target) == _activities(source)
        assert _findings(target) == _findings(source)
        assert _accidents(target) == _accidents(source)
        for layer in ("activities", "findings", "accidents"):
            again = import_file(target, gpkg, layer, author="im.test", organisation_code="MAC")
            assert (again.created, again.updated, again.report_code) == (0, 0, None), layer
    finally:
        target.close()
