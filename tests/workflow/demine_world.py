"""A small synthetic world for store and workflow tests, drawn in metres.

Shapes are drawn on the metric plane (UTM 32N, around a synthetic origin at 9°E 45°N)
in local metres and carried to WGS84 for the record, so expected distances and areas
are analytic: a 200 x 100 m box is 20,000 m², a point 450 m from its edge is 450 m away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from shapely import affinity
from shapely.geometry import Point, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import inspect, select, text

from demine.domain.entities import Organisation, Settlement
from demine.domain.vocab import OrganisationKind
from demine.geo.crs import MetricFrame
from demine.service import reference, reports
from demine.store import Repository
from demine.store import schema as s

ORIGIN_LONLAT = (9.0, 45.0)
FRAME_CRS = "EPSG:32632"
OPERATOR = "OP-ALPHA"
AUTHORITY = "NMAA"
#: Tables that hold operational and reference records (never hard-deleted).
OPERATIONAL_TABLES = ("organisations", "teams", "settlements", "roads", "reports",
                      "report_entries", "hazard_areas", "evidence_items", "activities",
                      "outcome_polygons", "findings", "accidents", "victims", "audit_log",
                      "settings")


class World:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.frame = MetricFrame(FRAME_CRS)
        self.ox, self.oy = self.frame.to_metric(Point(*ORIGIN_LONLAT)).coords[0]

    # geometry ----------------------------------------------------------------
    def wgs(self, local: BaseGeometry) -> BaseGeometry:
        """Local metres (origin at 9°E 45°N) to WGS84."""
        return self.frame.to_wgs84(affinity.translate(local, self.ox, self.oy))

    def local(self, wgs: BaseGeometry) -> BaseGeometry:
        return affinity.translate(self.frame.to_metric(wgs), -self.ox, -self.oy)

    # set-up ---------------------------------------------------------------------
    def setup(self) -> World:
        with self.repo.unit("im.alice", "set-up") as uow:
            reference.add_organisation(uow, Organisation(AUTHORITY, "Authority",
                                                         OrganisationKind.NMAA, True))
            reference.add_organisation(uow, Organisation(OPERATOR, "Operator",
                                                         OrganisationKind.OPERATOR, True))
        return self

    def settlement(self, code: str, local_point: Point, population: int = 100,
                   footprint: BaseGeometry | None = None) -> int:
        with self.repo.unit("im.alice", f"settlement {code}") as uow:
            return reference.add_settlement(uow, Settlement(
                code, f"Village {code}", "District", self.wgs(local_point), population,
                self.wgs(footprint) if footprint is not None else None, synthetic=True))

    # reports ----------------------------------------------------------------------
    def hazard_entry(self, code: str, local_poly: BaseGeometry, **extra: Any) -> tuple:
        payload = {"code": code, "geometry": mapping(self.wgs(local_poly)),
                   "eo_suspected": ["ap_mine"], "synthetic": True, **extra}
        return ("new_hazard", payload)

    def activity_entry(self, code: str, hazard_code: str,
                       outcomes: Iterable[tuple[str, BaseGeometry]] = (),
                       **attrs: Any) -> tuple:
        payload = {"code": code, "hazard_code": hazard_code, **attrs,
                   "outcomes": [{"method": m, "geometry": mapping(self.wgs(g))}
                                for m, g in outcomes]}
        return ("activity", payload)

    def draft(self, info_date: date, entries: Sequence[tuple], author: str = "op.bob",
              code: str | None = None) -> str:
        return reports.create_draft(self.repo, author=author, organisation_code=OPERATOR,
                                    info_date=info_date, entries=list(entries), code=code)

    def submitted(self, info_date: date, entries: Sequence[tuple], **kw: Any) -> str:
        code = self.draft(info_date, entries, **kw)
        reports.submit(self.repo, code, kw.get("author", "op.bob"))
        return code

    def approve(self, code: str, approver: str = "im.carol"):
        return reports.approve(self.repo, code, approver)

    def file(self, info_date: date, entries: Sequence[tuple], **kw: Any):
        """Draft, submit and approve a report; returns the ApprovalResult."""
        return self.approve(self.submitted(info_date, entries, **kw))

    # reading ------------------------------------------------------------------------
    def row(self, table, code: str) -> dict[str, Any]:
        with self.repo.reader() as uow:
            found = uow.row(table, code=code)
        assert found is not None, f"{table.name} {code} not found"
        return found

    def hazard(self, code: str) -> dict[str, Any]:
        return self.row(s.hazard_areas, code)

    def settlement_row(self, code: str) -> dict[str, Any]:
        return self.row(s.settlements, code)

    def report(self, code: str) -> dict[str, Any]:
        return self.row(s.reports, code)

    def blockers(self, settlement_code: str) -> set[str]:
        q = (select(s.hazard_areas.c.code)
             .join(s.settlement_blockers,
                   s.settlement_blockers.c.hazard_id == s.hazard_areas.c.id)
             .join(s.settlements, s.settlements.c.id == s.settlement_blockers.c.settlement_id)
             .where(s.settlements.c.code == settlement_code))
        with self.repo.engine.connect() as conn:
            return {r[0] for r in conn.execute(q)}

    def audit(self, entity: str, code: str) -> list[dict[str, Any]]:
        q = (select(s.audit_log).where(s.audit_log.c.entity == entity,
                                       s.audit_log.c.entity_code == code)
             .order_by(s.audit_log.c.id))
        with self.repo.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def audit_all(self, entity: str) -> list[dict[str, Any]]:
        q = select(s.audit_log).where(s.audit_log.c.entity == entity).order_by(s.audit_log.c.id)
        with self.repo.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def counts(self, tables: Iterable[str] = OPERATIONAL_TABLES) -> dict[str, int]:
        with self.repo.engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                    for t in tables}

    def snapshot(self) -> dict[str, list]:
        """Every row of every table (R*Tree tables included), for before/after equality."""
        with self.repo.engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            out = {}
            for name in names:
                if name == "spatial_ref_sys":
                    continue
                rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').fetchall()
                out[name] = sorted((tuple(_plain(v) for v in r) for r in rows), key=repr)
            return out


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value)
    return value
