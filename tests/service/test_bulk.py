"""Bulk loading stores what the one-by-one doors store, or nothing at all."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import func, select

from demine.domain.changes import NewHazard
from demine.domain.entities import EvidenceItem, HazardArea, Organisation, Settlement
from demine.domain.errors import ValidationError
from demine.domain.vocab import (
    Blockage,
    EOCategory,
    EvidenceKind,
    EvidenceType,
    HazardClass,
)
from demine.geo.checks import check_point, check_polygon
from demine.service import bulk, reference, reports, status
from demine.store import schema as s
from demine.store.repository import Repository, UnitOfWork

LON, LAT = 27.0, 49.0
M_LON = 1 / (111_320 * 0.656)  # degrees of longitude per metre near 49° N
M_LAT = 1 / 110_540


def _square(x_m: float, y_m: float, side_m: float, *, z: bool = False) -> Polygon:
    x0, y0 = LON + x_m * M_LON, LAT + y_m * M_LAT
    dx, dy = side_m * M_LON, side_m * M_LAT
    ring = [(x0, y0), (x0 + dx, y0), (x0 + dx, y0 + dy), (x0, y0 + dy)]
    return Polygon([(*p, 5.0) for p in ring] if z else ring)


def _point(x_m: float, y_m: float) -> Point:
    return Point(LON + x_m * M_LON, LAT + y_m * M_LAT)


def _settlements() -> list[Settlement]:
    return [
        Settlement("S-1", "Near one", "North", _point(0, 0), 120),
        Settlement("S-2", "Footprint near", "North", _point(3000, 0), 800,
                   footprint=_square(2800, -200, 400)),
        Settlement("S-3", "Far away", "South", _point(30_000, 30_000), 50),
        Settlement("S-4", "Near two", "South", _point(6000, 6000), 0, synthetic=True),
        Settlement("S-5", "Footprint far", "South", _point(-20_000, 9000), 10,
                   footprint=_square(-20_300, 8700, 600)),
    ]


def _hazards() -> list[HazardArea]:
    hole = Polygon(_square(6300, 6000, 300).exterior.coords,
                   [_square(6400, 6100, 50).exterior.coords])
    return [
        HazardArea("HZ-1", "Field by S-1", HazardClass.SHA, _square(300, 0, 100),
                   eo_suspected=(EOCategory.AP_MINE, EOCategory.UXO),
                   blockages=(Blockage.AGRICULTURE,),
                   evidence=(EvidenceItem(EvidenceKind.DIRECT, EvidenceType.VISUAL_SIGHTING,
                                          "seen by the farmer"),
                             EvidenceItem(EvidenceKind.INDIRECT,
                                          EvidenceType.ACCIDENT_KNOWN_PLACE))),
        HazardArea("HZ-2", "Beyond 500 m of S-1", HazardClass.CHA, _square(-800, 0, 150)),
        HazardArea("HZ-3", "By S-2's footprint", HazardClass.SHA, _square(3300, 0, 80),
                   synthetic=True),
        HazardArea("HZ-4", "Two parts by S-4", HazardClass.CHA, MultiPolygon(
            [_square(6200, 6200, 60), _square(6100, 5600, 40)])),
        HazardArea("HZ-5", "With a hole, by S-4", HazardClass.SHA, hole,
                   evidence=(EvidenceItem(EvidenceKind.INDIRECT, EvidenceType.HEARSAY),)),
        HazardArea("HZ-6", "3-D polygon by S-1", HazardClass.SHA, _square(0, 350, 50, z=True)),
    ]


def _setup_report(uow: UnitOfWork) -> dict:
    reference.add_organisation(uow, Organisation("ORG-1", "Survey org", "operator"))
    report_id = uow.insert(s.reports, {
        "code": "RPT-000001", "status": "approved", "info_date": date(2024, 5, 1),
        "author": "im", "organisation_id": uow.id_of(s.organisations, "ORG-1")})
    report = uow.row(s.reports, id=report_id)
    assert report is not None
    return report


_IDS = frozenset({"id", "report_id", "hazard_id", "organisation_id"})


class _Rollback(Exception):
    pass


def _capture(uow: UnitOfWork) -> dict[str, Any]:
    """Everything the loads wrote, keyed by code (ids differ between the two runs)."""
    conn = uow.conn
    codes = {
        "settlement": dict(conn.execute(select(s.settlements.c.id, s.settlements.c.code)).all()),
        "hazard_area": dict(conn.execute(
            select(s.hazard_areas.c.id, s.hazard_areas.c.code)).all()),
    }

    def rows(table) -> dict[str, dict]:
        out = {}
        for row in conn.execute(select(table)).mappings():
            row = dict(row)
            for key in ("id", "created_at", "updated_at", "report_id"):
                row.pop(key, None)
            for key, value in list(row.items()):
                if isinstance(value, shapely.Geometry):
                    row[key] = (shapely.to_wkb(value), shapely.get_srid(value))
            out[row["code"]] = row
        return out

    audit: dict[tuple, dict] = {}
    for row in conn.execute(select(s.audit_log)).mappings():
        # ids differ between the two runs on PostGIS (sequences are not rolled back)
        before, after = ({k: v for k, v in (snapshot or {}).items() if k not in _IDS}
                         for snapshot in (row["before"], row["after"]))
        if row["entity"] == "evidence_item":
            hazard_id = conn.execute(select(s.evidence_items.c.hazard_id).where(
                s.evidence_items.c.id == row["entity_id"])).scalar_one()
            key = ("evidence_item", codes["hazard_area"][hazard_id], after["type"])
        elif row["entity"] in codes:
            assert codes[row["entity"]][row["entity_id"]] == row["entity_code"]
            key = (row["entity"], row["entity_code"], row["action"])
        else:
            key = (row["entity"], row["entity_code"], row["action"])
        assert key not in audit
        audit[key] = {"version": row["version"], "author": row["author"],
                      "action": row["action"], "before": before, "after": after,
                      "with_report": row["report_id"] is not None}
    blockers = {(codes["settlement"][sid], codes["hazard_area"][hid]) for sid, hid in
                conn.execute(select(s.settlement_blockers))}
    return {"settlements": rows(s.settlements), "hazards": rows(s.hazard_areas),
            "audit": audit, "blockers": blockers,
            "metric_crs": uow.settings().metric_crs}


def _one_by_one(repo: Repository) -> dict[str, Any]:
    captured: dict[str, Any] = {}
    with pytest.raises(_Rollback), repo.unit("im", "import") as uow:
        report = _setup_report(uow)
        for x in _settlements():
            reference.add_settlement(uow, x)
        for seq, hz in enumerate(_hazards(), start=1):
            label = f"report RPT-000001 entry {seq}"
            # as parse_change does before a new-hazard entry is stored
            hz = replace(hz, polygon=check_polygon(hz.polygon, record=label, field="geometry"))
            reports._apply_change(uow, report, label, NewHazard(hz))
        status.refresh(uow)
        captured = _capture(uow)
        raise _Rollback
    return captured


def _bulk(repo: Repository) -> tuple[dict[str, Any], list[int], list[int]]:
    with repo.unit("im", "import") as uow:
        report = _setup_report(uow)
        sids = bulk.load_settlements(uow, _settlements())
        hids = bulk.load_hazards(uow, _hazards(), report_id=report["id"])
        status.refresh(uow)
        return _capture(uow), sids, hids


def _count(repo: Repository, table) -> int:
    with repo.reader() as uow:
        return uow.conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def repo(db_url: str):
    repo = Repository.open(db_url)
    yield repo
    repo.close()


def test_bulk_stores_what_the_one_by_one_paths_store(repo: Repository) -> None:
    expected = _one_by_one(repo)
    assert _count(repo, s.settlements) == 0, "the one-by-one run was rolled back"
    got, sids, hids = _bulk(repo)

    assert got["metric_crs"] == expected["metric_crs"] == "EPSG:32635"
    assert got["settlements"] == expected["settlements"]
    assert got["hazards"] == expected["hazards"]
    assert got["blockers"] == expected["blockers"]
    assert got["audit"] == expected["audit"]
    # the sample does exercise what it should
    statuses = {code: row["status"] for code, row in got["settlements"].items()}
    assert statuses == {"S-1": "closed", "S-2": "closed", "S-3": "open", "S-4": "closed",
                        "S-5": "open"}
    assert ("S-1", "HZ-2") not in got["blockers"] and ("S-1", "HZ-6") in got["blockers"]
    assert {k for k in got["audit"] if k[0] == "evidence_item"} == {
        ("evidence_item", "HZ-1", "visual_sighting"),
        ("evidence_item", "HZ-1", "accident_known_place"),
        ("evidence_item", "HZ-5", "hearsay")}
    hz1 = got["hazards"]["HZ-1"]
    assert hz1["original_m2"] == hz1["remaining_m2"] == pytest.approx(100 * 100, rel=0.01)

    with repo.reader() as uow:
        assert [uow.id_of(s.settlements, x.code) for x in _settlements()] == sids
        assert [uow.id_of(s.hazard_areas, h.code) for h in _hazards()] == hids
        # the spatial index answers for the bulk-loaded rows
        frame = uow.settings().frame
        near_s1 = frame.to_metric(_point(0, 0)).buffer(600).bounds
        found = set(uow.spatial.ids_intersecting_bbox(
            uow.conn, "hazard_areas", "remaining_m", near_s1))
        assert {hids[0], hids[5]} <= found and hids[2] not in found
        assert sids[1] in uow.spatial.ids_intersecting_bbox(
            uow.conn, "settlements", "closure_m", frame.to_metric(_point(3000, 0)).bounds)
        assert sids[0] in uow.spatial.ids_intersecting_bbox(
            uow.conn, "settlements", "geom", _point(0, 0).buffer(1e-6).bounds)


def test_incremental_refresh_works_on_bulk_loaded_records(repo: Repository) -> None:
    _bulk(repo)
    with repo.unit("im", "release") as uow:
        hid = uow.id_of(s.hazard_areas, "HZ-3")
        uow.update(s.hazard_areas, hid, {"status": "released", "remaining_m": None,
                                         "remaining": None, "remaining_m2": 0.0})
        changes = status.refresh_after_hazards(uow, [hid])
    assert changes.reopened == ["S-2"]


def _nan_polygon() -> Polygon:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return Polygon([(LON, LAT), (float("nan"), LAT), (LON, LAT + 0.001)])


BOW_TIE = Polygon([(LON, LAT), (LON + 0.01, LAT + 0.01), (LON + 0.01, LAT), (LON, LAT + 0.01)])
FAR_VERTEX = Polygon([(LON, LAT), (LON + 0.001, LAT), (LON + 0.8, LAT + 0.001)])
BAD_GEOMETRIES = {
    "bow-tie": BOW_TIE,
    "vertex 50 km off": FAR_VERTEX,
    "latitude out of range": Polygon([(LON, 95), (LON + 0.001, 95), (LON, 95.001)]),
    "not finite": _nan_polygon(),
    "a point": Point(LON, LAT),
    "empty": Polygon(),
    "two distinct vertices": Polygon([(LON, LAT), (LON + 0.001, LAT), (LON + 0.001, LAT),
                                      (LON, LAT)]),
    "valid but 2 distinct vertices at 1e-9°": Polygon(
        [(LON, LAT), (LON + 1e-10, LAT + 1e-10), (LON + 0.001, LAT)]),
    "hole with a far vertex": Polygon(_square(0, 0, 10_000).exterior.coords,
                                      [_square(100, 100, 7_000).exterior.coords]),
    "bad part of a multipolygon": MultiPolygon([_square(0, 0, 10), BOW_TIE]),
    "text that is no geometry": "POLYGON ((1 2, 3",
}


@pytest.mark.parametrize("bad", list(BAD_GEOMETRIES), ids=list(BAD_GEOMETRIES))
def test_bad_polygon_is_named_and_nothing_is_stored(repo: Repository, bad: str) -> None:
    polygon = BAD_GEOMETRIES[bad]
    hazards = _hazards()
    hazards.insert(3, HazardArea("HZ-BAD", "bad", HazardClass.SHA, polygon))
    hazards.append(HazardArea("HZ-BAD-2", "later bad", HazardClass.SHA, BOW_TIE))
    with pytest.raises(ValidationError) as caught, repo.unit("im", "import") as uow:
        bulk.load_settlements(uow, _settlements())
        bulk.load_hazards(uow, hazards)
    err = caught.value
    assert err.record == "hazard area 'HZ-BAD'" and err.field == "geometry"
    with pytest.raises(ValidationError) as one:
        check_polygon(polygon, record="hazard area 'HZ-BAD'", field="geometry")
    assert str(err) == str(one.value), "same message as the one-by-one check"
    for table in (s.settlements, s.hazard_areas, s.audit_log, s.settings, s.evidence_items):
        assert _count(repo, table) == 0, table.name
    if repo.dialect == "sqlite":
        with repo.reader() as uow:
            assert uow.conn.exec_driver_sql(
                "SELECT count(*) FROM rtree_settlements_closure_m").scalar_one() == 0


@pytest.mark.parametrize(("field", "value"), [
    ("point", Point(LON, 91)), ("point", _square(0, 0, 10)), ("footprint", BOW_TIE),
    ("footprint", FAR_VERTEX), ("population", -3), ("population", 2.5), ("code", "S 7"),
])
def test_bad_settlement_is_named(repo: Repository, field: str, value: Any) -> None:
    settlements = _settlements()
    bad = Settlement("S-BAD", "bad", "North", _point(10, 10), 5)
    setattr(bad, field, value)
    settlements.insert(2, bad)
    label = f"settlement {bad.code!r}"
    with pytest.raises(ValidationError) as caught, repo.unit("im", "import") as uow:
        bulk.load_settlements(uow, settlements)
    assert caught.value.record == label and caught.value.field == field
    if field == "point":
        with pytest.raises(ValidationError) as one:
            check_point(value, record=label, field="point")
        assert str(caught.value) == str(one.value)
    assert _count(repo, s.settlements) == 0 and _count(repo, s.audit_log) == 0


def test_duplicate_codes_are_refused(repo: Repository) -> None:
    hazards = _hazards()
    hazards.append(HazardArea("HZ-2", "again", HazardClass.SHA, _square(9000, 9000, 20)))
    with pytest.raises(ValidationError, match="HZ-2") as caught, \
            repo.unit("im", "import") as uow:
        bulk.load_hazards(uow, hazards)
    assert caught.value.field == "code" and "2 times" in caught.value.problem

    settlements = _settlements()
    settlements.append(Settlement("S-3", "again", "x", _point(1, 1), 1))
    with pytest.raises(ValidationError, match="S-3"), repo.unit("im", "import") as uow:
        bulk.load_settlements(uow, settlements)
    assert _count(repo, s.hazard_areas) == 0 and _count(repo, s.settlements) == 0

    _bulk(repo)
    with pytest.raises(ValidationError) as caught, repo.unit("im", "import") as uow:
        bulk.load_settlements(uow, [Settlement("S-NEW", "new", "x", _point(1, 1), 1)])
        bulk.load_hazards(uow, [HazardArea("HZ-NEW", "new", HazardClass.SHA, _square(0, 0, 5)),
                                HazardArea("HZ-4", "stored", HazardClass.SHA,
                                           _square(0, 0, 5))])
    assert caught.value.record == "hazard area 'HZ-4'" and caught.value.field == "code"
    assert "already exists" in caught.value.problem
    with repo.reader() as uow:
        assert uow.row(s.settlements, code="S-NEW") is None
    assert _count(repo, s.hazard_areas) == len(_hazards())


def test_empty_batches_store_nothing(repo: Repository) -> None:
    with repo.unit("im", "import") as uow:
        assert bulk.load_settlements(uow, []) == []
        assert bulk.load_hazards(uow, []) == []
    assert _count(repo, s.settings) == 0 and _count(repo, s.audit_log) == 0
