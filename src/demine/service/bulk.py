"""Bulk loading of reference settlements and hazard areas (national imports).

The one-by-one doors (:func:`demine.service.reference.add_settlement`, the new-hazard
entry of an approved report) check, project, insert, index and audit one record at a
time: right for a form, hours for a national data set. The functions here store the
same rows, the same spatial index entries and the same audit rows, but check the
geometries with vectorised shapely calls, project the whole batch in one call and write
with ``executemany`` (settlements) or :mod:`demine.store.batch` (hazards: COPY on
PostGIS, the driver's prepared executemany on SQLite, the audit's JSON built from the
values in hand).

Checking is the same as the one-by-one doors: a vectorised screen finds the records that
might fail, and those (normally none) are run through the very checks of
:mod:`demine.geo.checks`, so a bad record is refused with the same message, naming its
code and field. Everything happens inside the caller's unit of work: a refused record
leaves nothing of the batch behind.

Settlement status is *not* derived here: load everything, then call
:func:`demine.service.status.refresh` once.
"""

from __future__ import annotations

import contextlib
import json
import numbers
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
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
from demine.store import batch
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
    stored = set(uow.conn.execute(select(table.c.code).where(
        batch.one_of(uow.repo.dialect, table.c.code, codes))).scalars())
    if stored:
        for code, label in zip(codes, labels, strict=True):
            if code in stored:
                raise ValidationError(label, "code", "a record with this code already exists")


def _ids_by_code(uow: UnitOfWork, table: Table, codes: Sequence[str]) -> list[int]:
    found = dict(uow.conn.execute(select(table.c.code, table.c.id).where(
        batch.one_of(uow.repo.dialect, table.c.code, codes))).all())
    return [int(found[c]) for c in codes]


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

@dataclass(frozen=True)
class StoredHazards:
    """What :func:`store_hazards` wrote: ids in the order given, each hazard's area (m²)
    and its metric polygon (the ``remaining_m`` stored), so that the caller need not read
    them back."""

    ids: list[int]
    areas_m2: list[float]
    metric: np.ndarray


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
    return store_hazards(uow, hazards, report_id=report_id).ids


class _Memo:
    """parse_enum of values seen before: a national file repeats a handful of values.

    Only successes are remembered, so a bad value is still parsed (and refused, naming
    its record) where it first occurs, in order. Lists are remembered by identity too
    (the hazards of an import share their tuples), which spares hashing enum members.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[type, object], Any] = {}
        self.lists: dict[tuple[type, int], tuple[object, list[str]]] = {}

    def one(self, enum: type, value: object, label: str, field: str) -> str:
        key = (enum, value)
        try:
            return self.seen[key]
        except (KeyError, TypeError):
            parsed = parse_enum(enum, value, record=label, field=field).value
            with contextlib.suppress(TypeError):
                self.seen[key] = parsed
            return parsed

    def many(self, enum: type, values: Sequence[object], label: str, field: str) -> list[str]:
        known = self.lists.get((enum, id(values)))
        if known is not None and known[0] is values:
            return known[1]
        parsed = [self.one(enum, v, label, field) for v in values]
        self.lists[(enum, id(values))] = (values, parsed)  # holds values: ids stay unique
        return parsed


def _label(code: object) -> str:
    return f"hazard area {code!r}"


def store_hazards(uow: UnitOfWork, hazards: Sequence[HazardArea], *,
                  report_id: int | None = None) -> StoredHazards:
    """:func:`load_hazards`, returning what it wrote (see :class:`StoredHazards`).

    The rows, spatial index entries and audit rows are those of the one-by-one path;
    they are written with :func:`demine.store.batch.insert_rows` (COPY on PostGIS), the
    audit's JSON built from the values in hand rather than by reading the rows back.
    """
    n = len(hazards)
    if n == 0:
        return StoredHazards([], [], np.empty(0, dtype=object))
    uow.serialise("approval")
    polygons, suspect = _screen_polygons(_object_array(h.polygon for h in hazards))
    memo = _Memo()
    parsed = []
    for i, h in enumerate(hazards):
        label = _label(h.code)
        check_code(h.code, record=label)
        if not isinstance(h.name, str):
            raise ValidationError(label, "name", f"expected text, got {h.name!r}")
        classification = memo.one(HazardClass, h.classification, label, "classification")
        eo = memo.many(EOCategory, h.eo_suspected, label, "eo_suspected")
        blockages = memo.many(Blockage, h.blockages, label, "blockages")
        evidence = [(parse_enum(EvidenceKind, e.kind, record=label, field="evidence").value,
                     parse_enum(EvidenceType, e.type, record=label, field="evidence").value,
                     e.description) for e in h.evidence]
        if suspect[i]:
            polygons[i] = check_polygon(h.polygon, record=label, field="geometry")
        parsed.append((classification, eo, blockages, evidence))
    codes = [h.code for h in hazards]
    _refuse_duplicates(uow, s.hazard_areas, codes, [_label(c) for c in codes])

    centres = shapely.centroid(polygons)
    ensure_metric_frame(uow, float(np.mean(shapely.get_x(centres))),
                        float(np.mean(shapely.get_y(centres))))
    frame = uow.settings().frame
    dialect = uow.repo.dialect
    ids = batch.reserve_ids(uow.conn, dialect, s.hazard_areas, n)
    now = uow.now
    lists: dict[tuple[str, ...], str] = {}

    def listed(values: list[str]) -> str:
        key = tuple(values)
        if key not in lists:
            lists[key] = json.dumps(values)
        return lists[key]

    eo_json = [listed(p[1]) for p in parsed]
    blockage_json = [listed(p[2]) for p in parsed]
    none = listed([])
    # the audit's "after" of each hazard: row_snapshot of the row just written (without
    # the derived remaining_m and the times), as JSON text
    head = {"report_id": report_id, "version": 1}
    template = ('{"code": %s, "name": %s, "classification": %s, '
                '"declared_classification": %s, "eo_suspected": %s, "eo_confirmed": '
                + none + ', "blockages": %s, "geom": %s, "remaining": %s, '
                '"original_m2": %r, "cancelled_m2": 0.0, "reduced_m2": 0.0, '
                '"cleared_m2": 0.0, "remaining_m2": %r, "status": "open", '
                + json.dumps(head)[1:-1] + ', "synthetic": %s, "id": %d}')
    text = encode_basestring_ascii  # what json.dumps makes of a str
    classes = {c: text(c) for c in {p[0] for p in parsed}}
    metric = np.empty(n, dtype=object)
    areas: list[float] = []

    def rows() -> Iterator[tuple]:
        """The rows, projected and measured a slice at a time (memory stays flat, and on
        PostGIS the server stores one slice while the next is computed); fills
        ``metric`` and ``areas`` as it goes."""
        for at in range(0, n, _AREA_CHUNK):
            part = slice(at, min(at + _AREA_CHUNK, n))
            metric[part] = frame.to_metric(polygons[part])  # its SRID goes into the EWKB
            areas.extend(_areas_m2(uow, polygons[part]))
            polygon_v = batch.geometry_values(dialect, polygons[part], 4326)
            metric_v = batch.geometry_values(dialect, metric[part], frame.epsg)
            for k, i in enumerate(range(part.start, part.stop)):
                h, p, area = hazards[i], parsed[i], areas[i]
                yield (ids[i], h.code, h.name, p[0], p[0], eo_json[i], none,
                       blockage_json[i], polygon_v[k], polygon_v[k], metric_v[k], area, 0.0,
                       0.0, 0.0, area, "open", report_id, 1, now, now, bool(h.synthetic))

    def after() -> Iterator[str]:
        """The audit's "after" of each hazard, a slice at a time (as ``rows``)."""
        for at in range(0, n, _AREA_CHUNK):
            wkt = _wkt_or_none(polygons[at:at + _AREA_CHUNK])
            for k, i in enumerate(range(at, min(at + _AREA_CHUNK, n))):
                h, p, area = hazards[i], parsed[i], areas[i]
                yield template % (
                    text(h.code), text(h.name), classes[p[0]], classes[p[0]], eo_json[i],
                    blockage_json[i], text(wkt[k]), text(wkt[k]), area, area,
                    "true" if h.synthetic else "false", ids[i])

    batch.insert_rows(uow.conn, dialect, s.hazard_areas, _HAZARD_COLUMNS, rows())
    id_array = np.asarray(ids, dtype=np.int64)
    uow.spatial.index_many(uow.conn, "hazard_areas", "geom", id_array, polygons)
    uow.spatial.index_many(uow.conn, "hazard_areas", "remaining_m", id_array, metric)
    _write_audit(uow, "hazard_area", ids, codes, after(), report_id)
    _load_evidence(uow, ids, [p[3] for p in parsed], report_id)
    return StoredHazards(ids, areas, metric)


_HAZARD_COLUMNS = (
    "id", "code", "name", "classification", "declared_classification", "eo_suspected",
    "eo_confirmed", "blockages", "geom", "remaining", "remaining_m", "original_m2",
    "cancelled_m2", "reduced_m2", "cleared_m2", "remaining_m2", "status", "report_id",
    "version", "created_at", "updated_at", "synthetic")
_AUDIT_COLUMNS = ("entity", "entity_id", "entity_code", "version", "author", "at", "action",
                  "reason", "report_id", "before", "after")


def _write_audit(uow: UnitOfWork, entity: str, ids: Sequence[int], codes: Sequence[str],
                 after: Iterable[str], report_id: int | None) -> None:
    """'create' audit rows (version 1, nothing before) with their "after" as JSON text,
    one per id (``after`` may be made as the rows are written)."""
    author, now, reason = uow.author, uow.now, uow.reason
    batch.insert_rows(uow.conn, uow.repo.dialect, s.audit_log, _AUDIT_COLUMNS, (
        (entity, entity_id, code, 1, author, now, "create", reason, report_id, "null", after_)
        for entity_id, code, after_ in zip(ids, codes, after, strict=True)))


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
