"""Reference data (organisations, teams, settlements): edited directly, with versions.

Unlike hazards, these are not reported by operators but kept by the information
manager; an edit names the version it was based on and a stale one is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shapely.geometry import LineString, MultiLineString

from demine.domain.entities import Organisation, Road, Settlement, Team
from demine.domain.errors import ValidationError
from demine.domain.vocab import AssetType, OrganisationKind, RoadClass, parse_enum
from demine.geo.checks import check_code, check_point, check_polygon, parse_geometry
from demine.geo.crs import MetricFrame
from demine.service import status
from demine.store import schema as s
from demine.store.repository import UnitOfWork


def ensure_metric_frame(uow: UnitOfWork, lon: float, lat: float) -> None:
    """Choose the project's metric plane from the first data if nobody configured one."""
    if uow.settings().metric_crs is None:
        uow.set_setting("metric_crs", MetricFrame.for_centroid(lon, lat).crs)


def _refuse_duplicate(uow: UnitOfWork, table, code: str, entity: str) -> None:
    if uow.row(table, code=code) is not None:
        raise ValidationError(f"{entity} {code}", "code", "a record with this code already exists")


def add_organisation(uow: UnitOfWork, org: Organisation) -> int:
    check_code(org.code, record=f"organisation {org.code!r}")
    _refuse_duplicate(uow, s.organisations, org.code, "organisation")
    return uow.insert(s.organisations, {
        "code": org.code, "name": org.name, "kind": OrganisationKind(org.kind).value,
        "synthetic": org.synthetic})


def add_team(uow: UnitOfWork, team: Team) -> int:
    label = f"team {team.code!r}"
    check_code(team.code, record=label)
    _refuse_duplicate(uow, s.teams, team.code, "team")
    if team.headcount < 0:
        raise ValidationError(label, "headcount", f"{team.headcount} is negative")
    if team.productivity_m2_day <= 0:
        raise ValidationError(label, "productivity_m2_day", "must be above 0 m²/day")
    if team.working_width_m is not None and team.working_width_m <= 0:
        raise ValidationError(label, "working_width_m", "must be above 0 m")
    return uow.insert(s.teams, {
        "code": team.code, "organisation_id": uow.id_of(s.organisations, team.organisation_code),
        "asset_type": AssetType(team.asset_type).value, "headcount": team.headcount,
        "productivity_m2_day": team.productivity_m2_day, "working_width_m": team.working_width_m,
        "available": team.available, "synthetic": team.synthetic})


def add_road(uow: UnitOfWork, road: Road) -> int:
    label = f"road {road.code!r}"
    check_code(road.code, record=label)
    _refuse_duplicate(uow, s.roads, road.code, "road")
    line = parse_geometry(road.line, record=label, field="geometry")
    if not isinstance(line, LineString | MultiLineString) or line.is_empty or not line.is_valid:
        raise ValidationError(label, "geometry", f"expected a valid line, got {line.geom_type}")
    new_id = uow.insert(s.roads, {"code": road.code, "name": road.name,
                                  "road_class": RoadClass(road.road_class).value,
                                  "geom": line, "synthetic": road.synthetic})
    uow.spatial.index(uow.conn, "roads", "geom", [(new_id, line)])
    return new_id


def _settlement_geometry(uow: UnitOfWork, label: str, point, footprint) -> dict[str, Any]:
    point = check_point(point, record=label, field="point")
    footprint = check_polygon(footprint, record=label, field="footprint") \
        if footprint is not None else None
    ensure_metric_frame(uow, point.x, point.y)
    return {"geom": point, "footprint": footprint,
            "closure_m": uow.metric(footprint if footprint is not None else point)}


def add_settlement(uow: UnitOfWork, settlement: Settlement, *, refresh: bool = True) -> int:
    label = f"settlement {settlement.code!r}"
    check_code(settlement.code, record=label)
    _refuse_duplicate(uow, s.settlements, settlement.code, "settlement")
    uow.serialise("approval")  # status is derived from all hazards: see UnitOfWork.serialise
    if settlement.population < 0:
        raise ValidationError(label, "population", f"{settlement.population} is negative")
    values = {
        "code": settlement.code, "name": settlement.name, "admin_area": settlement.admin_area,
        "population": settlement.population, "status": "open", "synthetic": settlement.synthetic,
        **_settlement_geometry(uow, label, settlement.point, settlement.footprint),
    }
    new_id = uow.insert(s.settlements, values)
    uow.spatial.index(uow.conn, "settlements", "closure_m", [(new_id, values["closure_m"])])
    uow.spatial.index(uow.conn, "settlements", "geom", [(new_id, values["geom"])])
    if refresh:
        status.refresh(uow, [new_id])
    return new_id


_SETTLEMENT_FIELDS = {"name", "admin_area", "population", "point", "footprint"}


def update_settlement(uow: UnitOfWork, code: str, expected_version: int,
                      changes: Mapping[str, Any]) -> int:
    """Edit a settlement's reference data; a stale ``expected_version`` is refused."""
    label = f"settlement {code}"
    unknown = set(changes) - _SETTLEMENT_FIELDS
    if unknown:
        raise ValidationError(label, sorted(unknown)[0], "cannot be edited here")
    uow.serialise("approval")
    row = uow.require(s.settlements, code, for_update=True)
    values: dict[str, Any] = {k: v for k, v in changes.items() if k in ("name", "admin_area")}
    if "population" in changes:
        pop = changes["population"]
        if not isinstance(pop, int) or isinstance(pop, bool) or pop < 0:
            raise ValidationError(label, "population", f"{pop!r} is not a whole number >= 0")
        values["population"] = pop
    if "point" in changes or "footprint" in changes:
        values.update(_settlement_geometry(
            uow, label, changes.get("point", row["geom"]),
            changes.get("footprint", row["footprint"])))
    version = uow.update(s.settlements, row["id"], values, expected_version=expected_version)
    if "closure_m" in values:
        uow.spatial.index(uow.conn, "settlements", "closure_m", [(row["id"], values["closure_m"])])
        uow.spatial.index(uow.conn, "settlements", "geom", [(row["id"], values["geom"])])
        status.refresh(uow, [row["id"]])
    return version


def parse_organisation_kind(value: str) -> OrganisationKind:
    return parse_enum(OrganisationKind, value, record="organisation", field="kind")


_ORGANISATION_FIELDS = {"name"}
_TEAM_FIELDS = {"headcount", "productivity_m2_day", "working_width_m", "available"}


def _edit(uow: UnitOfWork, table, code: str, expected_version: int,
          changes: Mapping[str, Any], allowed: set[str]) -> int:
    entity = table.name.rstrip("s")
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"{entity} {code}", sorted(unknown)[0], "cannot be edited here")
    row = uow.require(table, code, for_update=True)
    return uow.update(table, row["id"], dict(changes), expected_version=expected_version)


def update_organisation(uow: UnitOfWork, code: str, expected_version: int,
                        changes: Mapping[str, Any]) -> int:
    """Rename an organisation; a stale ``expected_version`` is refused."""
    if "name" in changes and not str(changes["name"] or "").strip():
        raise ValidationError(f"organisation {code}", "name", "must not be empty")
    return _edit(uow, s.organisations, code, expected_version, changes, _ORGANISATION_FIELDS)


def update_team(uow: UnitOfWork, code: str, expected_version: int,
                changes: Mapping[str, Any]) -> int:
    """Change a team's size, productivity, working width or availability."""
    for key in ("headcount", "productivity_m2_day", "working_width_m"):
        value = changes.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or value < 0):
            raise ValidationError(f"team {code}", key, f"{value!r} is not a number >= 0")
    return _edit(uow, s.teams, code, expected_version, changes, _TEAM_FIELDS)
