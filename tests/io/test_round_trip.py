"""Export then import reproduces the same records: demo district -> GeoPackage -> new store.

Settlements and hazard areas go out through ``demine export``'s layers and come back
through ``demine import``; codes, names, populations, classes and shapes must match
(shapes within 1e-7 degrees, the issue's bound for formats that keep coordinates).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

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
