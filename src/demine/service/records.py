"""Reading records for the API and the OGC layers: filter, bound, sort, page, redact.

Each resource is an export layer's query (``demine.io.layers``) narrowed here, so a
record has the same field names in a GeoPackage, in the REST API and in an OGC API
feature, and a file exported from one imports into another without a mapping.

Who asks matters: victims' personal fields and accidents' narratives are blanked for a
user without the ``read_personal`` permission (and the record says which fields were
blanked), and draft reports are seen only by their own organisation and by managers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import JSON, ColumnElement, Select, and_, func, or_, select

from demine.domain.access import ALL_ORGANISATIONS, Forbidden, Permission, Principal
from demine.domain.errors import NotFound, ValidationError
from demine.io.layers import LAYERS, SENSITIVE_COLUMNS, blocking_codes
from demine.service.queries import changed_fields
from demine.store import schema as s
from demine.store.repository import ENTITY_OF_TABLE, Repository

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
#: the largest row id a store can hold (a signed 64-bit integer)
MAX_ROW_ID = 2**63 - 1


@dataclass(frozen=True)
class RecordSet:
    """One kind of record as the API serves it."""

    name: str
    layer: str
    table: Any
    title: str
    #: ``code`` for records with a code, ``id`` for findings and outcome polygons
    key: str = "code"
    #: query parameter -> column of the layer's query
    filters: Mapping[str, str] = field(default_factory=dict)
    #: the column ``from``/``to`` (and OGC ``datetime``) apply to
    date_column: str | None = None

    @property
    def spatial(self) -> bool:
        return LAYERS[self.layer].spatial

    @property
    def entity(self) -> str:
        return ENTITY_OF_TABLE[self.table.name]


RECORD_SETS: dict[str, RecordSet] = {r.name: r for r in (
    RecordSet("organisations", "organisations", s.organisations, "Organisations",
              filters={"type": "kind"}),
    RecordSet("teams", "teams", s.teams, "Teams and assets",
              filters={"type": "asset_type", "organisation": "organisation_code"}),
    RecordSet("settlements", "settlements", s.settlements, "Settlements, open or closed",
              filters={"status": "status"}, date_column="updated_at"),
    RecordSet("hazards", "hazard_areas", s.hazard_areas,
              "Hazard areas (SHA/CHA) by land-release status",
              filters={"status": "status", "type": "classification"},
              date_column="updated_at"),
    RecordSet("activities", "activities", s.activities,
              "Survey, clearance and QC activities",
              filters={"status": "status", "type": "type", "organisation": "organisation_code"},
              date_column="info_date"),
    RecordSet("outcomes", "outcome_polygons", s.outcome_polygons,
              "Land cancelled, reduced or cleared", key="id",
              filters={"type": "method", "organisation": "organisation_code"},
              date_column="info_date"),
    RecordSet("findings", "findings", s.findings, "Explosive ordnance found", key="id",
              filters={"type": "eo_category", "organisation": "organisation_code"},
              date_column="found_on"),
    RecordSet("accidents", "accidents", s.accidents, "Mine/ERW and demining accidents",
              filters={"type": "type"}, date_column="accident_date"),
    RecordSet("reports", "reports", s.reports, "Reports and their approval",
              filters={"status": "status", "organisation": "organisation_code"},
              date_column="info_date"),
)}


@dataclass(frozen=True)
class Query:
    """What a list request asks for, already parsed into types."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    date_from: date | datetime | None = None
    date_to: date | datetime | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    sort: str | None = None
    count: bool = True


@dataclass
class Page:
    items: list[dict[str, Any]]
    offset: int
    limit: int
    more: bool
    total: int | None


def check_bbox(values: Sequence[float], *, record: str = "request") -> tuple[float, ...]:
    """minx, miny, maxx, maxy in WGS84 degrees, in order and in range."""
    if len(values) != 4:
        raise ValidationError(record, "bbox", "expected four numbers: minx,miny,maxx,maxy")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90
            and -90 <= maxy <= 90):
        raise ValidationError(record, "bbox", "longitudes within ±180 and latitudes ±90")
    if minx > maxx or miny > maxy:
        raise ValidationError(record, "bbox", "minx must not exceed maxx, nor miny maxy")
    return (minx, miny, maxx, maxy)


def record_set(name: str) -> RecordSet:
    try:
        return RECORD_SETS[name]
    except KeyError:
        raise NotFound("resource", name) from None


def _column(query: Select, name: str, record: str, what: str) -> ColumnElement:
    try:
        col = query.selected_columns[name]
    except KeyError:
        raise ValidationError(record, what, f"unknown field {name!r}") from None
    return getattr(col, "element", col)


def _bound(value: date | datetime, column: ColumnElement, upper: bool) -> date | datetime:
    """A date bound compared with a timestamp column covers that whole day."""
    is_timestamp = getattr(column.type, "python_type", None) is datetime
    if is_timestamp and not isinstance(value, datetime):
        return datetime.combine(value, time.max if upper else time.min, tzinfo=UTC)
    if not is_timestamp and isinstance(value, datetime):
        return value.date()
    return value


def _narrowed(rs: RecordSet, q: Query, who: Principal) -> Select:
    query = LAYERS[rs.layer].query()
    record = f"{rs.name} query"
    for param, value in q.filters.items():
        if param not in rs.filters:
            raise ValidationError(record, param, f"{rs.name} cannot be filtered by {param}")
        query = query.where(_column(query, rs.filters[param], record, param) == value)
    if q.date_from is not None or q.date_to is not None:
        if rs.date_column is None:
            raise ValidationError(record, "from", f"{rs.name} have no date to filter on")
        col = _column(query, rs.date_column, record, "from")
        if q.date_from is not None:
            query = query.where(col >= _bound(q.date_from, col, upper=False))
        if q.date_to is not None:
            query = query.where(col <= _bound(q.date_to, col, upper=True))
    if rs.name == "reports" and who.role not in ALL_ORGANISATIONS:
        query = query.where(or_(s.reports.c.status != "draft",
                                _column(query, "organisation_code", record, "organisation")
                                == (who.organisation_code or "")))
    return query


def _with_bbox(repo: Repository, rs: RecordSet, query: Select,
               bbox: tuple[float, float, float, float] | None) -> Select:
    if bbox is None:
        return query
    if not rs.spatial:
        raise ValidationError(f"{rs.name} query", "bbox", f"{rs.name} have no geometry")
    return query.where(repo.spatial.bbox_clause(rs.table, "geom", bbox))


def _sorted(rs: RecordSet, query: Select, sort: str | None, who: Principal) -> Select:
    if not sort:
        return query
    descending = sort.startswith("-")
    name = sort.lstrip("+-")
    if name == "geometry":
        raise ValidationError(f"{rs.name} query", "sort", "cannot sort by geometry")
    if name in _hidden(rs, who):  # the order of hidden values would tell about them
        raise Forbidden(f"{rs.name} query: sort: {name} is personal data; sorting by it "
                        f"needs the {Permission.READ_PERSONAL.value!r} permission")
    col = _column(query, name, f"{rs.name} query", "sort")
    if isinstance(col.type, JSON):  # a list has no order (PostgreSQL refuses to sort it)
        raise ValidationError(f"{rs.name} query", "sort", f"cannot sort by {name}: a list")
    key = _column(query, rs.key, f"{rs.name} query", "sort")
    return query.order_by(None).order_by(col.desc() if descending else col.asc(), key)


def list_records(repo: Repository, rs: RecordSet, q: Query, who: Principal) -> Page:
    """One page of records, newest rules applied: filters, bbox, date range, sort."""
    who.require(Permission.READ, f"list {rs.name}")
    if not 1 <= q.limit <= MAX_LIMIT:
        raise ValidationError(f"{rs.name} query", "limit", f"must be 1 to {MAX_LIMIT}")
    if q.offset < 0:
        raise ValidationError(f"{rs.name} query", "offset", "must be 0 or more")
    query = _with_bbox(repo, rs, _narrowed(rs, q, who), q.bbox)
    query = _sorted(rs, query, q.sort, who)
    with repo.reader() as uow:
        rows = uow.conn.execute(query.limit(q.limit + 1).offset(q.offset)).mappings().all()
        total = None
        if q.count:
            total = uow.conn.execute(
                select(func.count()).select_from(query.order_by(None).subquery())).scalar()
        items = _records(uow.conn, rs, rows[:q.limit], who)
    return Page(items, q.offset, q.limit, len(rows) > q.limit, total)


def _key_clause(query: Select, rs: RecordSet, key: str) -> ColumnElement:
    col = _column(query, rs.key, rs.name, rs.key)
    if rs.key == "id":
        try:
            row_id = int(key)
        except ValueError:
            raise NotFound(rs.entity, key) from None
        if not 0 < row_id <= MAX_ROW_ID:  # the stores' integers end there
            raise NotFound(rs.entity, key)
        return col == row_id
    return col == key


def get_record(repo: Repository, rs: RecordSet, key: str, who: Principal) -> dict[str, Any]:
    who.require(Permission.READ, f"read {rs.name}")
    query = _narrowed(rs, Query(), who)
    with repo.reader() as uow:
        row = uow.conn.execute(query.where(_key_clause(query, rs, key))).mappings().first()
        if row is None:
            raise NotFound(rs.entity, key)
        return _records(uow.conn, rs, [row], who)[0]


def history(repo: Repository, rs: RecordSet, key: str, who: Principal) -> list[dict[str, Any]]:
    """The audit trail of one record, oldest first, with the fields each change touched."""
    record = get_record(repo, rs, key, who)
    a = s.audit_log
    where = [a.c.entity == rs.entity]
    if rs.key == "id":
        where.append(a.c.entity_id == int(record["id"]))
    else:
        where.append(a.c.entity_code == key)
    hidden = _hidden(rs, who)
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(a.c.at, a.c.version, a.c.author, a.c.action, a.c.reason, a.c.before,
                   a.c.after).where(and_(*where)).order_by(a.c.id)).all()
    out = []
    for at, version, author, action, reason, before, after in rows:
        changed = {k: {"before": old, "after": new} for k, (old, new)
                   in changed_fields(before, after, ignore=("version", "id")).items()}
        for k in hidden & set(changed):
            changed[k] = {"before": None, "after": None, "redacted": True}
        out.append({"at": at.isoformat(), "version": version, "author": author,
                    "action": action, "reason": reason, "changed": changed})
    return out


def _hidden(rs: RecordSet, who: Principal) -> set[str]:
    if who.can(Permission.READ_PERSONAL):
        return set()
    return set(SENSITIVE_COLUMNS.get(rs.layer, ()))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _geojson(geometries: Sequence[BaseGeometry | None]) -> list[dict[str, Any] | None]:
    """GeoJSON geometry objects, written by GEOS in one vectorised call.

    Building them through ``__geo_interface__`` walks every coordinate in Python and
    was half the time of a 100-feature page.
    """
    texts = shapely.to_geojson(np.asarray(geometries, dtype=object))
    return [None if g is None else json.loads(g) for g in texts.tolist()]


def _records(conn, rs: RecordSet, rows: Sequence[Mapping[str, Any]],
             who: Principal) -> list[dict[str, Any]]:
    hidden = _hidden(rs, who)
    geometry_keys = [k for k in (rows[0].keys() if rows else ())
                     if isinstance(rows[0][k], BaseGeometry) or k == "geometry"]
    shapes = {k: _geojson([row[k] for row in rows]) for k in geometry_keys}
    out = []
    for i, row in enumerate(rows):
        record = {k: _jsonable(v) for k, v in row.items()}
        for k in geometry_keys:
            record[k] = shapes[k][i]
        for k in hidden & set(record):
            record[k] = None
        if hidden & set(row.keys()):
            record["redacted"] = sorted(hidden & set(row.keys()))
        out.append(record)
    if rs.name == "settlements" and out:
        blocking = blocking_codes(conn, [r["id"] for r in out])
        for r in out:
            r["blocking_hazards"] = blocking.get(r["id"], [])
    if rs.name == "accidents" and out:
        _attach_victims(conn, out, who)
    for r in out:
        if rs.key != "id":
            r.pop("id", None)
    return out


def _attach_victims(conn, accidents: list[dict[str, Any]], who: Principal) -> None:
    v, a = s.victims, s.accidents
    personal = SENSITIVE_COLUMNS["victims"]
    show = who.can(Permission.READ_PERSONAL)
    found: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(
            select(a.c.code, v.c.outcome, v.c.role, v.c.sex, v.c.age, v.c.activity_at_time)
            .join(a, a.c.id == v.c.accident_id)
            .where(a.c.code.in_([r["code"] for r in accidents]), v.c.void.is_(False))
            .order_by(v.c.id)).mappings():
        victim = {k: row[k] for k in ("outcome", "role", "sex", "age", "activity_at_time")}
        if not show:
            victim.update({k: None for k in personal})
            victim["redacted"] = sorted(personal)
        found.setdefault(row["code"], []).append(victim)
    for r in accidents:
        r["victims"] = found.get(r["code"], [])


def extent(repo: Repository, rs: RecordSet, who: Principal
           ) -> tuple[tuple[float, float, float, float] | None, tuple[Any, Any] | None]:
    """The bounding box (WGS84) and the ``date_column`` span of a kind of record.

    The OGC API advertises both for each collection. The box comes from the spatial
    index alone (R*Tree or GiST), so it costs the same on a national record as on a
    district; it may include void records, which only makes it a little generous.
    """
    who.require(Permission.READ, f"list {rs.name}")
    bbox = span = None
    with repo.reader() as uow:
        if rs.spatial:
            bbox = repo.spatial.extent(uow.conn, rs.table.name, "geom")
        if rs.date_column is not None:
            rows = _narrowed(rs, Query(), who).order_by(None).subquery()
            col = rows.c[rs.date_column]
            low, high = uow.conn.execute(select(func.min(col), func.max(col))).one()
            if low is not None:
                span = (low, high)
    return bbox, span


def report_entries(repo: Repository, code: str, who: Principal) -> list[dict[str, Any]]:
    """A report's entries as filed, for its review: whoever may see the report may see
    what it proposes, with accidents' personal fields blanked as in the record."""
    report = get_record(repo, RECORD_SETS["reports"], code, who)
    e = s.report_entries
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(e.c.seq, e.c.kind, e.c.hazard_code, e.c.payload)
            .join(s.reports, s.reports.c.id == e.c.report_id)
            .where(s.reports.c.code == report["code"]).order_by(e.c.seq)).all()
    personal = not who.can(Permission.READ_PERSONAL)
    return [{"seq": seq, "kind": kind, "hazard_code": hazard_code,
             "payload": _redacted_entry(kind, payload) if personal else payload}
            for seq, kind, hazard_code, payload in rows]


def _redacted_entry(kind: str, payload: Any) -> Any:
    """An accident entry (new or revision) without its narrative and victims' personal
    fields."""
    if kind not in ("accident", "accident_revision") or not isinstance(payload, Mapping):
        return payload
    out = dict(payload)
    redacted = []
    for name in SENSITIVE_COLUMNS["accidents"]:
        if name in out:
            out[name] = None
            redacted.append(name)
    victims = []
    for victim in out.get("victims") or []:
        if isinstance(victim, Mapping):
            victim = {**victim, **{k: None for k in SENSITIVE_COLUMNS["victims"] if k in victim}}
        victims.append(victim)
    if "victims" in out:
        out["victims"] = victims
        redacted.append("victims: " + ", ".join(SENSITIVE_COLUMNS["victims"]))
    out["redacted"] = redacted
    return out
