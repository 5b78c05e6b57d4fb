"""The layers a project export is made of, read from the store as (Geo)DataFrames.

One definition per layer says which rows, which columns and which geometry. The column
names are demine's own field names (``code``, ``remaining_m2``, ``info_date``...), so the
importer recognises a file this module wrote without a mapping. Links between records
are written as the other record's code (``hazard_code``, ``activity_code``), never as a
database id, because ids mean nothing outside this database.

Values are kept to what every target format can hold: lists (EO categories, blockages,
blocking hazards) as comma-separated text, dates and times as ISO 8601 text (GeoPackage,
Shapefile, CSV, KML and XLSX disagree on date types; text reads back identically
everywhere), booleans as booleans. Void records (outcomes, findings, accidents, QC
voided by later reports) are not part of the official picture and are left out.

Every layer has a ``synthetic`` column: synthetic exercise data must stay labelled
once it leaves the system. Tables that have no flag of their own take their parent's
(a victim its accident's, an outcome its activity's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Boolean, Connection, Float, Integer, Select, select
from sqlalchemy.orm import aliased

from demine.domain.entities import Accident, Victim, sensitive_fields
from demine.domain.errors import ValidationError
from demine.geo.crs import WGS84
from demine.store import schema as s
from demine.store.repository import Repository

#: Victims' and accidents' personal data (``metadata={"sensitive": True}`` in entities).
SENSITIVE_COLUMNS: dict[str, frozenset[str]] = {
    "victims": sensitive_fields(Victim),
    "accidents": sensitive_fields(Accident),
}


@dataclass(frozen=True)
class LayerDef:
    """One exported layer: its name, its geometry kind and how to read it.

    ``geometry`` is ``"Point"``, ``"LineString"``, ``"Polygon"`` or ``None`` for an
    attribute table (GeoPackage attributes, a bare ``.dbf``, a sheet without WKT).
    """

    name: str
    geometry: str | None
    title: str
    #: the layer's rows as a query, which the API narrows with filters and pages
    query: Callable[[], Select]
    #: turns a row of the query into a row of the file (lists to comma-separated text)
    flatten: Callable[[tuple], tuple] | None = None
    #: reads the file rows when the query alone cannot (settlements' blocking hazards)
    reader: Callable[[Connection], Rows] | None = None
    #: columns the query carries for the API only (row ids, change times)
    internal: tuple[str, ...] = ()

    @property
    def spatial(self) -> bool:
        return self.geometry is not None

    def read(self, conn: Connection) -> Rows:
        if self.reader is not None:
            return self.reader(conn)
        kinds, rows = _rows(conn, self.query())
        if self.flatten is not None:
            rows = [self.flatten(r) for r in rows]
        keep = [i for i, name in enumerate(kinds) if name not in self.internal]
        if len(keep) < len(kinds):
            kinds = {name: kind for name, kind in kinds.items() if name not in self.internal}
            rows = [tuple(r[i] for i in keep) for r in rows]
        return kinds, rows


def _text(value: Any) -> Any:
    """Dates and times as ISO 8601 text; everything else as it is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _csv(values: Iterable[str] | None) -> str:
    return ",".join(values or ())


def _kind(sql_type: Any) -> str:
    """The export type of a SQL column: every format gets the same four kinds."""
    if isinstance(sql_type, s.Geom):
        return "geometry"
    if isinstance(sql_type, Boolean):
        return "bool"
    if isinstance(sql_type, Integer):
        return "int"
    if isinstance(sql_type, Float):
        return "float"
    return "text"


def _rows(conn: Connection, query: Select) -> Rows:
    kinds = {c.key: _kind(c.type) for c in query.selected_columns}
    result = conn.execute(query)
    return kinds, [tuple(_text(v) for v in row) for row in result]


#: Column name -> kind ("text", "int", "float", "bool", "geometry"), and the rows.
Rows = tuple[dict[str, str], list[tuple]]

_act = s.activities
_haz = s.hazard_areas
_org = s.organisations


def _hazard_areas() -> Select:
    t = _haz
    return select(
        t.c.code, t.c.name, t.c.classification, t.c.declared_classification, t.c.status,
        t.c.eo_suspected, t.c.eo_confirmed, t.c.blockages, t.c.original_m2, t.c.cancelled_m2,
        t.c.reduced_m2, t.c.cleared_m2, t.c.remaining_m2, t.c.version, t.c.synthetic,
        t.c.updated_at, t.c.geom.label("geometry")).order_by(t.c.code)


def _flat_hazard(r: tuple) -> tuple:
    return (*r[:5], _csv(r[5]), _csv(r[6]), _csv(r[7]), *r[8:])


def _remaining() -> Select:
    t = _haz
    return select(
        t.c.code, t.c.name, t.c.classification, t.c.status, t.c.remaining_m2, t.c.version,
        t.c.synthetic, t.c.remaining.label("geometry"),
    ).where(t.c.remaining.is_not(None)).order_by(t.c.code)


def _outcome_polygons() -> Select:
    o, r = s.outcome_polygons, s.reports
    return select(
        o.c.id, _act.c.code.label("activity_code"), _haz.c.code.label("hazard_code"),
        r.c.code.label("report_code"), _org.c.code.label("organisation_code"), o.c.method,
        o.c.area_m2, o.c.info_date, _act.c.synthetic, o.c.geom.label("geometry"),
    ).join(_act, _act.c.id == o.c.activity_id).join(_haz, _haz.c.id == o.c.hazard_id) \
        .join(_org, _org.c.id == _act.c.organisation_id) \
        .outerjoin(r, r.c.id == o.c.report_id).where(o.c.void.is_(False)).order_by(o.c.id)


def blocking_codes(conn: Connection, settlement_ids: Sequence[int] | None = None
                   ) -> dict[int, list[str]]:
    """The hazards keeping each settlement closed, by settlement id, codes sorted."""
    b = s.settlement_blockers
    query = select(b.c.settlement_id, _haz.c.code).join(_haz, _haz.c.id == b.c.hazard_id)
    if settlement_ids is not None:
        query = query.where(b.c.settlement_id.in_(list(settlement_ids)))
    codes: dict[int, list[str]] = {}
    for sid, code in conn.execute(query.order_by(_haz.c.code)):
        codes.setdefault(sid, []).append(code)
    return codes


def _settlements() -> Select:
    t = s.settlements
    return select(
        t.c.id, t.c.code, t.c.name, t.c.admin_area, t.c.population, t.c.status, t.c.version,
        t.c.synthetic, t.c.updated_at, t.c.geom.label("geometry")).order_by(t.c.code)


def _read_settlements(conn: Connection) -> Rows:
    blocking = {sid: _csv(c) for sid, c in blocking_codes(conn).items()}
    kinds, rows = _rows(conn, _settlements())
    kinds.pop("id")
    kinds.pop("updated_at")
    kinds = {**dict(list(kinds.items())[:5]), "blocking_hazards": "text",
             **dict(list(kinds.items())[5:])}
    return kinds, [(*r[1:6], blocking.get(r[0], ""), r[6], r[7], r[9]) for r in rows]


def _settlement_footprints() -> Select:
    t = s.settlements
    return select(
        t.c.code, t.c.name, t.c.status, t.c.population, t.c.synthetic,
        t.c.footprint.label("geometry"),
    ).where(t.c.footprint.is_not(None)).order_by(t.c.code)


def _roads() -> Select:
    t = s.roads
    return select(t.c.code, t.c.name, t.c.road_class, t.c.version, t.c.synthetic,
                  t.c.geom.label("geometry")).order_by(t.c.code)


def _activities() -> Select:
    a, tm = _act, s.teams
    return select(
        a.c.code, a.c.type, _haz.c.code.label("hazard_code"),
        _org.c.code.label("organisation_code"), tm.c.code.label("team_code"),
        a.c.planned_start, a.c.planned_end, a.c.actual_start, a.c.actual_end, a.c.status,
        a.c.suspension_reason, a.c.clearance_depth_mm, a.c.info_date, a.c.version,
        a.c.synthetic,
    ).join(_haz, _haz.c.id == a.c.hazard_id).join(_org, _org.c.id == a.c.organisation_id) \
        .outerjoin(tm, tm.c.id == a.c.team_id).order_by(a.c.code)


def _findings() -> Select:
    f, r = s.findings, s.reports
    return select(
        f.c.id, _act.c.code.label("activity_code"), _haz.c.code.label("hazard_code"),
        r.c.code.label("report_code"), _org.c.code.label("organisation_code"),
        f.c.eo_category, f.c.model, f.c.condition, f.c.depth_mm, f.c.disposal, f.c.found_on,
        f.c.synthetic, f.c.geom.label("geometry"),
    ).join(_act, _act.c.id == f.c.activity_id).join(_haz, _haz.c.id == _act.c.hazard_id) \
        .join(_org, _org.c.id == _act.c.organisation_id) \
        .outerjoin(r, r.c.id == f.c.report_id).where(f.c.void.is_(False)).order_by(f.c.id)


def _accidents() -> Select:
    t, r = s.accidents, s.reports
    return select(
        t.c.code, t.c.accident_date, t.c.type, t.c.device_category,
        _act.c.code.label("activity_code"), r.c.code.label("report_code"), t.c.narrative,
        t.c.version, t.c.synthetic, t.c.geom.label("geometry"),
    ).outerjoin(_act, _act.c.id == t.c.activity_id).outerjoin(r, r.c.id == t.c.report_id) \
        .where(t.c.void.is_(False)).order_by(t.c.code)


def _victims() -> Select:
    v, a = s.victims, s.accidents
    return select(
        a.c.code.label("accident_code"), v.c.outcome, v.c.role, v.c.sex, v.c.age,
        v.c.activity_at_time, a.c.synthetic,
    ).join(a, a.c.id == v.c.accident_id).where(a.c.void.is_(False), v.c.void.is_(False)) \
        .order_by(v.c.id)


def _teams() -> Select:
    t = s.teams
    return select(
        t.c.code, _org.c.code.label("organisation_code"), t.c.asset_type, t.c.headcount,
        t.c.productivity_m2_day, t.c.working_width_m, t.c.available, t.c.version,
        t.c.synthetic,
    ).join(_org, _org.c.id == t.c.organisation_id).order_by(t.c.code)


def _organisations() -> Select:
    t = _org
    return select(t.c.code, t.c.name, t.c.kind, t.c.version, t.c.synthetic).order_by(t.c.code)


def _reports() -> Select:
    r = s.reports
    return select(
        r.c.code, r.c.status, r.c.info_date, r.c.author,
        _org.c.code.label("organisation_code"), r.c.summary, r.c.submitted_at,
        r.c.decided_at, r.c.decided_by, r.c.decision_reason, r.c.version, r.c.synthetic,
    ).join(_org, _org.c.id == r.c.organisation_id).order_by(r.c.code)


def _qc_inspections() -> Select:
    q = s.qc_inspections
    inspected = aliased(_act)
    return select(
        _act.c.code.label("activity_code"), inspected.c.code.label("inspected_activity_code"),
        _haz.c.code.label("hazard_code"), q.c.plan, q.c.lot_units, q.c.sample_units,
        q.c.unit_m2, q.c.accept_number, q.c.defects, q.c.result, q.c.lot_m2,
        q.c.inspected_m2, q.c.info_date, _act.c.synthetic,
    ).join(_act, _act.c.id == q.c.activity_id) \
        .join(inspected, inspected.c.id == q.c.inspected_activity_id) \
        .join(_haz, _haz.c.id == q.c.hazard_id) \
        .where(q.c.void.is_(False)).order_by(q.c.id)


#: Every exported layer in the order a GIS user expects them (maps first, tables last).
LAYERS: dict[str, LayerDef] = {d.name: d for d in (
    LayerDef("hazard_areas", "Polygon", "Hazard areas (SHA/CHA) by land-release status",
             _hazard_areas, flatten=_flat_hazard, internal=("updated_at",)),
    LayerDef("remaining", "Polygon", "Remaining (unreleased) part of each hazard area",
             _remaining),
    LayerDef("outcome_polygons", "Polygon", "Land cancelled, reduced or cleared",
             _outcome_polygons, internal=("id", "organisation_code")),
    LayerDef("settlements", "Point", "Settlements, open or closed", _settlements,
             reader=_read_settlements),
    LayerDef("settlement_footprints", "Polygon", "Built-up footprints of settlements",
             _settlement_footprints),
    LayerDef("roads", "LineString", "Roads", _roads),
    LayerDef("findings", "Point", "Explosive ordnance found", _findings,
             internal=("id", "organisation_code")),
    LayerDef("accidents", "Point", "Mine/ERW and demining accidents", _accidents),
    LayerDef("activities", None, "Survey, clearance and QC activities", _activities),
    LayerDef("victims", None, "Accident victims", _victims),
    LayerDef("teams", None, "Teams and assets", _teams),
    LayerDef("organisations", None, "Organisations", _organisations),
    LayerDef("reports", None, "Reports and their approval", _reports),
    LayerDef("qc_inspections", None, "Post-clearance inspections", _qc_inspections),
)}


def resolve_layers(names: Sequence[str] | None) -> list[LayerDef]:
    """The layer definitions ``names`` asks for (all when ``None``), in export order.

    Unknown names are refused with the list of valid ones, before anything is written.
    """
    if names is None:
        return list(LAYERS.values())
    wanted = [n.strip() for n in names if n and n.strip()]
    unknown = [n for n in wanted if n not in LAYERS]
    if unknown or not wanted:
        what = f"unknown layer(s) {', '.join(map(repr, unknown))}" if unknown else "no layers"
        raise ValidationError("export", "layers",
                              f"{what}; valid layers: {', '.join(LAYERS)}")
    return [d for name, d in LAYERS.items() if name in wanted]


def read_layer(conn: Connection, layer: LayerDef, *,
               include_sensitive: bool = False) -> gpd.GeoDataFrame | pd.DataFrame:
    """One layer as a GeoDataFrame in WGS84 (spatial) or a DataFrame (attribute table).

    Sensitive columns (victims' sex, age and activity, accidents' narrative) are dropped
    unless ``include_sensitive`` is set: personal data leaves only when asked for.
    """
    kinds, rows = layer.read(conn)
    columns = list(kinds)
    hidden = set() if include_sensitive else SENSITIVE_COLUMNS.get(layer.name, frozenset())
    data = {name: _typed([r[i] for r in rows], kinds[name])
            for i, name in enumerate(columns) if name not in hidden and name != "geometry"}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    if not layer.spatial:
        return frame
    geometry = [r[columns.index("geometry")] for r in rows]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=WGS84), crs=WGS84)


def _typed(values: list[Any], kind: str) -> pd.api.extensions.ExtensionArray:
    """A column of one declared type, so an empty layer has the same fields as a full one.

    Integers are 32-bit nullable (every count here fits; GDAL's KML and XLSX drivers
    write 64-bit integers as text), floats 64-bit, booleans nullable, the rest text.
    """
    dtype = {"int": "Int32", "float": "Float64", "bool": "boolean"}.get(kind, "string")
    return pd.array(values, dtype=dtype)


def read_layers(repo: Repository, layers: Sequence[str] | None = None, *,
                include_sensitive: bool = False) -> dict[str, gpd.GeoDataFrame | pd.DataFrame]:
    """The layers ``layers`` names (all by default), read in one consistent transaction."""
    defs = resolve_layers(layers)
    with repo.reader() as uow:
        return {d.name: read_layer(uow.conn, d, include_sensitive=include_sensitive)
                for d in defs}
