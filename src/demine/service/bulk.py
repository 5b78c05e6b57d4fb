"""Bulk loading of reference settlements and hazard areas (national imports).

The one-by-one doors (:func:`demine.service.reference.add_settlement`, the new-hazard
entry of an approved report) check, project, insert, index and audit one record at a
time: right for a form, hours for a national data set. The functions here store the
same rows, the same spatial index entries and the same audit rows, but check the
geometries with vectorised shapely calls, project the whole batch in one call and write
with ``executemany``.

Checking is the same as the one-by-one doors: a vectorised screen finds the records that
might fail, and those (normally none) are run through the very checks of
:mod:`demine.geo.checks`, so a bad record is refused with the same message, naming its
code and field. Everything happens inside the caller's unit of work: a refused record
leaves nothing of the batch behind.

Settlement status is *not* derived here: load everything, then call
:func:`demine.service.status.refresh` once.
"""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Table, insert, select

from demine.domain.entities import HazardArea, Settlement
from demine.domain.errors import ValidationError
from demine.domain.vocab import (
    Blockage,
    EOCategory,
    EvidenceKind,
    EvidenceType,
    HazardClass,
    parse_enum,
)
from demine.geo.checks import check_code, check_point, check_polygon
from demine.geo.checks import object_array as _object_array
from demine.geo.checks import screen_points as _screen_points
from demine.geo.checks import screen_polygons as _screen_polygons
from demine.service.reference import ensure_metric_frame
from demine.store import schema as s
from demine.store.repository import ENTITY_OF_TABLE, UnitOfWork, row_snapshot

#: Codes per ``IN (...)`` query: well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 5_000
#: Polygons measured per call when computing areas on densified edges.
_AREA_CHUNK = 10_000


# --- store helpers ----------------------------------------------------------------------

def _chunks(values: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _refuse_duplicates(uow: UnitOfWork, table: Table, codes: Sequence[str],
                       labels: Sequence[str]) -> None:
    counts = Counter(codes)
    for code, label in zip(codes, labels, strict=True):
        if counts[code] > 1:
            raise ValidationError(label, "code",
                                  f"appears {counts[code]} times in this batch; codes are unique")
    stored: set[str] = set()
    for chunk in _chunks(list(codes)):
        stored.update(c for (c,) in uow.conn.execute(
            select(table.c.code).where(table.c.code.in_(chunk))))
    if stored:
        for code, label in zip(codes, labels, strict=True):
            if code in stored:
                raise ValidationError(label, "code", "a record with this code already exists")


def _ids_by_code(uow: UnitOfWork, table: Table, codes: Sequence[str]) -> list[int]:
    found: dict[str, int] = {}
    for chunk in _chunks(list(codes)):
        found.update((c, int(i)) for i, c in uow.conn.execute(
            select(table.c.id, table.c.code).where(table.c.code.in_(chunk))))
    return [found[c] for c in codes]


def _wkt_or_none(geoms: np.ndarray) -> list[str | None]:
    """The audit's WKT of many geometries at once (as row_snapshot writes one)."""
    return shapely.to_wkt(geoms, rounding_precision=8, trim=True).tolist()


def _audit_many(uow: UnitOfWork, table: Table, rows: Sequence[dict[str, Any]],
                report_id: int | None = None) -> None:
    """One 'create' audit row per inserted row (``rows`` carry their id), executemany."""
    if not rows:
        return
    entity = ENTITY_OF_TABLE.get(table.name, table.name)
    uow.conn.execute(insert(s.audit_log), [{
        "entity": entity, "entity_id": row["id"], "entity_code": row.get("code"),
        "version": row.get("version", 1), "author": uow.author, "at": uow.now,
        "action": "create", "reason": uow.reason, "report_id": report_id,
        "before": None, "after": row_snapshot(row),
    } for row in rows])


def _record_columns(uow: UnitOfWork) -> dict[str, Any]:
    """What UnitOfWork.insert adds to a versioned record (synthetic comes per record)."""
    return {"version": 1, "created_at": uow.now, "updated_at": uow.now}


def _bind(uow: UnitOfWork, geoms: np.ndarray) -> np.ndarray:
    """Geometry values for the ``Geom`` columns of an executemany.

    On SQLite ``Geom`` stores ``shapely.to_wkb(value)`` and passes bytes through
    unchanged, so the batch is encoded here in one vectorised call (the same bytes, a
    tenth of the time); on PostGIS the shapely objects go to ``Geom``, which writes
    EWKB with their SRID.
    """
    if uow.repo.dialect == "sqlite":
        return shapely.to_wkb(geoms)
    return geoms


def _metric(uow: UnitOfWork, geoms: np.ndarray) -> np.ndarray:
    """Metric copies of WGS84 geometries, carrying the project's SRID (see uow.metric)."""
    frame = uow.settings().frame
    return shapely.set_srid(frame.to_metric(geoms), frame.epsg)


def _areas_m2(uow: UnitOfWork, geoms: np.ndarray) -> list[float]:
    """``frame.area_m2`` of each polygon (projected with densified edges), in chunks.

    Densifying multiplies the vertices by ~100 for small polygons, so the batch is
    measured a slice at a time to keep memory flat.
    """
    frame = uow.settings().frame
    areas: list[float] = []
    for chunk in _chunks(geoms, _AREA_CHUNK):
        areas.extend(shapely.area(frame.to_metric_exact(chunk)).tolist())
    return areas


def _population(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationError(label, "population", f"{value!r} is not a whole number >= 0")
    if value < 0:
        raise ValidationError(label, "population", f"{value} is negative")
    return int(value)


# --- settlements ------------------------------------------------------------------------

def load_settlements(uow: UnitOfWork, settlements: Sequence[Settlement]) -> list[int]:
    """Store many new settlements as :func:`reference.add_settlement` would; their ids.

    Status is left ``open`` and no blockers are written: call
    :func:`demine.service.status.refresh` once after loading.
    """
    n = len(settlements)
    if n == 0:
        return []
    # New settlements and hazards change what approvals derive status from (see approve).
    uow.serialise("approval")
    labels = [f"settlement {x.code!r}" for x in settlements]
    points, point_suspect = _screen_points(_object_array(x.point for x in settlements))
    has_fp = np.fromiter((x.footprint is not None for x in settlements), dtype=bool, count=n)
    footprints = np.full(n, None, dtype=object)
    fp_suspect = np.zeros(n, dtype=bool)
    if has_fp.any():
        fp_idx = np.flatnonzero(has_fp)
        fp, bad = _screen_polygons(_object_array(settlements[i].footprint for i in fp_idx))
        footprints[fp_idx], fp_suspect[fp_idx] = fp, bad
    populations = []
    for i, (x, label) in enumerate(zip(settlements, labels, strict=True)):
        check_code(x.code, record=label)
        populations.append(_population(x.population, label))
        if point_suspect[i]:
            points[i] = check_point(x.point, record=label, field="point")
        if fp_suspect[i]:
            footprints[i] = check_polygon(x.footprint, record=label, field="footprint")
    codes = [x.code for x in settlements]
    _refuse_duplicates(uow, s.settlements, codes, labels)

    ensure_metric_frame(uow, float(np.mean(shapely.get_x(points))),
                        float(np.mean(shapely.get_y(points))))
    closure = _metric(uow, np.where(has_fp, footprints, points))
    point_v, fp_v, closure_v = (_bind(uow, g) for g in (points, footprints, closure))
    record = _record_columns(uow)
    rows = [{
        "code": x.code, "name": x.name, "admin_area": x.admin_area,
        "population": populations[i], "geom": point_v[i], "footprint": fp_v[i],
        "closure_m": closure_v[i], "status": "open", **record, "synthetic": bool(x.synthetic),
    } for i, x in enumerate(settlements)]
    uow.conn.execute(insert(s.settlements), rows)
    ids = _ids_by_code(uow, s.settlements, codes)
    uow.spatial.index(uow.conn, "settlements", "closure_m", zip(ids, closure, strict=True))
    uow.spatial.index(uow.conn, "settlements", "geom", zip(ids, points, strict=True))

    point_wkt = _wkt_or_none(points)
    fp_wkt = _wkt_or_none(footprints)
    for row, new_id, pw, fw in zip(rows, ids, point_wkt, fp_wkt, strict=True):
        row.update(id=new_id, geom=pw, footprint=fw)
    _audit_many(uow, s.settlements, rows)
    return ids


# --- hazard areas -----------------------------------------------------------------------

def load_hazards(uow: UnitOfWork, hazards: Sequence[HazardArea], *,
                 report_id: int | None = None) -> list[int]:
    """Store many new hazard areas as an approved new-hazard entry would; their ids.

    Each hazard is recorded as reported: open, its whole polygon remaining, its
    declared classification, no EO confirmed yet; its evidence items are stored too.
    ``report_id`` (optional) names the report the hazards came with. The
    ``status``/area fields of the given HazardArea objects are ignored, as on the
    one-by-one path: a hazard's status is only ever refolded from approved outcomes.
    Settlement status is not refreshed: call :func:`demine.service.status.refresh`.
    """
    n = len(hazards)
    if n == 0:
        return []
    uow.serialise("approval")
    labels = [f"hazard area {h.code!r}" for h in hazards]
    polygons, suspect = _screen_polygons(_object_array(h.polygon for h in hazards))
    parsed = []
    for i, (h, label) in enumerate(zip(hazards, labels, strict=True)):
        check_code(h.code, record=label)
        if not isinstance(h.name, str):
            raise ValidationError(label, "name", f"expected text, got {h.name!r}")
        classification = parse_enum(HazardClass, h.classification, record=label,
                                    field="classification").value
        eo = [parse_enum(EOCategory, e, record=label, field="eo_suspected").value
              for e in h.eo_suspected]
        blockages = [parse_enum(Blockage, b, record=label, field="blockages").value
                     for b in h.blockages]
        evidence = [(parse_enum(EvidenceKind, e.kind, record=label, field="evidence").value,
                     parse_enum(EvidenceType, e.type, record=label, field="evidence").value,
                     e.description) for e in h.evidence]
        if suspect[i]:
            polygons[i] = check_polygon(h.polygon, record=label, field="geometry")
        parsed.append((classification, eo, blockages, evidence))
    codes = [h.code for h in hazards]
    _refuse_duplicates(uow, s.hazard_areas, codes, labels)

    centres = shapely.centroid(polygons)
    ensure_metric_frame(uow, float(np.mean(shapely.get_x(centres))),
                        float(np.mean(shapely.get_y(centres))))
    metric = _metric(uow, polygons)
    areas = _areas_m2(uow, polygons)
    polygon_v, metric_v = _bind(uow, polygons), _bind(uow, metric)
    record = _record_columns(uow)
    rows = []
    for i, h in enumerate(hazards):
        classification, eo, blockages, _ = parsed[i]
        rows.append({
            "code": h.code, "name": h.name, "classification": classification,
            "declared_classification": classification, "eo_suspected": eo,
            "eo_confirmed": [], "blockages": blockages,
            "geom": polygon_v[i], "remaining": polygon_v[i], "remaining_m": metric_v[i],
            "original_m2": areas[i], "cancelled_m2": 0.0, "reduced_m2": 0.0,
            "cleared_m2": 0.0, "remaining_m2": areas[i], "status": "open",
            "report_id": report_id, **record, "synthetic": bool(h.synthetic),
        })
    uow.conn.execute(insert(s.hazard_areas), rows)
    ids = _ids_by_code(uow, s.hazard_areas, codes)
    uow.spatial.index(uow.conn, "hazard_areas", "geom", zip(ids, polygons, strict=True))
    uow.spatial.index(uow.conn, "hazard_areas", "remaining_m", zip(ids, metric, strict=True))

    wkt = _wkt_or_none(polygons)
    for row, new_id, w in zip(rows, ids, wkt, strict=True):
        row.update(id=new_id, geom=w, remaining=w)
    _audit_many(uow, s.hazard_areas, rows, report_id)
    _load_evidence(uow, ids, [p[3] for p in parsed], report_id)
    return ids


def _load_evidence(uow: UnitOfWork, hazard_ids: Sequence[int],
                   evidence: Sequence[list[tuple[str, str, str]]],
                   report_id: int | None) -> None:
    """Evidence items of new hazards, with their audit rows (as reports._add_evidence)."""
    rows = [{"hazard_id": hid, "report_id": report_id, "kind": kind, "type": type_,
             "description": description}
            for hid, items in zip(hazard_ids, evidence, strict=True)
            for kind, type_, description in items]
    if not rows:
        return
    uow.conn.execute(insert(s.evidence_items), rows)
    # The hazards are new, so every evidence row of theirs is one just written; in id
    # order per hazard they are in the order given.
    with_items = sorted({r["hazard_id"] for r in rows})
    stored: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(with_items):
        for row in uow.conn.execute(
                select(s.evidence_items).where(s.evidence_items.c.hazard_id.in_(chunk))
                .order_by(s.evidence_items.c.id)).mappings():
            stored.setdefault(row["hazard_id"], []).append(dict(row))
    audited = [row for hid in hazard_ids if hid in stored for row in stored.pop(hid)]
    _audit_many(uow, s.evidence_items, audited, report_id)
