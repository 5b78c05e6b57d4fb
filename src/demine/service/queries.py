"""Read-side questions the doors ask: status with reasons, indicators, lists, history.

Returned as plain dataclasses so the CLI, the API and the web page render the same
answers without knowing SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select

from demine.domain.vocab import HazardStatus, ReleaseMethod
from demine.store import schema as s
from demine.store.repository import Repository


@dataclass(frozen=True)
class Blocker:
    hazard_code: str
    classification: str
    status: str
    remaining_m2: float
    eo_categories: tuple[str, ...]


@dataclass(frozen=True)
class SettlementStatus:
    code: str
    name: str
    admin_area: str
    population: int
    status: str
    version: int
    synthetic: bool
    blockers: tuple[Blocker, ...] = ()


@dataclass(frozen=True)
class Indicator:
    """The district's headline: N of M settlements closed, and the people behind them."""

    closed: int
    total: int
    population_closed: int
    population_total: int

    @property
    def headline(self) -> str:
        return f"{self.closed} of {self.total} settlements closed"


@dataclass(frozen=True)
class HazardSummary:
    code: str
    name: str
    classification: str
    status: str
    eo_suspected: tuple[str, ...]
    eo_confirmed: tuple[str, ...]
    blockages: tuple[str, ...]
    original_m2: float
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    remaining_m2: float
    version: int
    synthetic: bool


@dataclass
class LandTotals:
    """Land by land-release status and released land by method, all in m²."""

    by_status: dict[str, float] = field(default_factory=dict)
    count_by_status: dict[str, int] = field(default_factory=dict)
    released_by_method: dict[str, float] = field(default_factory=dict)
    released_by_month: dict[str, dict[str, float]] = field(default_factory=dict)


def settlement_statuses(repo: Repository, *, only_closed: bool = False,
                        code: str | None = None) -> list[SettlementStatus]:
    """Settlements with the hazards that keep each closed (one settlement by ``code``)."""
    with repo.reader() as uow:
        c = uow.conn
        blockers: dict[int, list[Blocker]] = defaultdict(list)
        pairs = (
            select(s.settlement_blockers.c.settlement_id, s.hazard_areas.c.code,
                   s.hazard_areas.c.classification, s.hazard_areas.c.status,
                   s.hazard_areas.c.remaining_m2, s.hazard_areas.c.eo_suspected,
                   s.hazard_areas.c.eo_confirmed)
            .join(s.hazard_areas, s.hazard_areas.c.id == s.settlement_blockers.c.hazard_id)
            .order_by(s.hazard_areas.c.code))
        if code is not None:
            pairs = pairs.join(s.settlements,
                               s.settlements.c.id == s.settlement_blockers.c.settlement_id
                               ).where(s.settlements.c.code == code)
        rows = c.execute(pairs)
        for sid, hcode, cls, st, rem, suspected, confirmed in rows:
            blockers[sid].append(Blocker(hcode, cls, st, rem,
                                         tuple(dict.fromkeys([*confirmed, *suspected]))))
        query = select(s.settlements.c.id, s.settlements.c.code, s.settlements.c.name,
                       s.settlements.c.admin_area, s.settlements.c.population,
                       s.settlements.c.status, s.settlements.c.version,
                       s.settlements.c.synthetic).order_by(s.settlements.c.code)
        if only_closed:
            query = query.where(s.settlements.c.status == "closed")
        if code is not None:
            query = query.where(s.settlements.c.code == code)
        return [SettlementStatus(scode, name, admin, pop, st, ver, syn, tuple(blockers[sid]))
                for sid, scode, name, admin, pop, st, ver, syn in c.execute(query)]


def indicator(repo: Repository) -> Indicator:
    with repo.reader() as uow:
        closed_case = func.sum(
            func.coalesce(s.settlements.c.population, 0)).filter(s.settlements.c.status == "closed")
        row = uow.conn.execute(select(
            func.count(), func.count().filter(s.settlements.c.status == "closed"),
            closed_case, func.sum(s.settlements.c.population))).one()
    return Indicator(closed=int(row[1] or 0), total=int(row[0] or 0),
                     population_closed=int(row[2] or 0), population_total=int(row[3] or 0))


def hazards(repo: Repository, *, status: str | None = None) -> list[HazardSummary]:
    t = s.hazard_areas
    query = select(t.c.code, t.c.name, t.c.classification, t.c.status, t.c.eo_suspected,
                   t.c.eo_confirmed, t.c.blockages, t.c.original_m2, t.c.cancelled_m2,
                   t.c.reduced_m2, t.c.cleared_m2, t.c.remaining_m2, t.c.version,
                   t.c.synthetic).order_by(t.c.code)
    if status is not None:
        query = query.where(t.c.status == HazardStatus(status).value)
    with repo.reader() as uow:
        return [HazardSummary(r[0], r[1], r[2], r[3], tuple(r[4]), tuple(r[5]), tuple(r[6]),
                              *r[7:12], r[12], r[13]) for r in uow.conn.execute(query)]


def land_totals(repo: Repository) -> LandTotals:
    totals = LandTotals()
    t, o = s.hazard_areas, s.outcome_polygons
    with repo.reader() as uow:
        for st, n, remaining in uow.conn.execute(
                select(t.c.status, func.count(), func.sum(t.c.remaining_m2)).group_by(t.c.status)):
            totals.by_status[st] = float(remaining or 0.0)
            totals.count_by_status[st] = int(n)
        sums = uow.conn.execute(select(func.sum(t.c.cancelled_m2), func.sum(t.c.reduced_m2),
                                       func.sum(t.c.cleared_m2))).one()
        for method, value in zip(ReleaseMethod, sums, strict=True):
            totals.released_by_method[method.value] = float(value or 0.0)
        for info_date, method, area in uow.conn.execute(
                select(o.c.info_date, o.c.method, o.c.area_m2).where(o.c.void.is_(False))):
            month = info_date.strftime("%Y-%m") if isinstance(info_date, date) else str(
                info_date)[:7]
            per = totals.released_by_month.setdefault(month, {m.value: 0.0 for m in ReleaseMethod})
            per[method] += float(area)
    totals.released_by_month = dict(sorted(totals.released_by_month.items()))
    return totals


@dataclass(frozen=True)
class TeamLine:
    code: str
    organisation: str
    asset_type: str
    headcount: int
    productivity_m2_day: float
    available: bool
    working_on: tuple[str, ...]


def teams(repo: Repository) -> list[TeamLine]:
    t, a, h, org = s.teams, s.activities, s.hazard_areas, s.organisations
    with repo.reader() as uow:
        busy: dict[int, list[str]] = defaultdict(list)
        for team_id, act, hz in uow.conn.execute(
                select(a.c.team_id, a.c.code, h.c.code).join(h, h.c.id == a.c.hazard_id)
                .where(a.c.status == "in_progress").order_by(a.c.code)):
            busy[team_id].append(f"{act} on {hz}")
        return [TeamLine(code, org_code, asset, head, prod, avail, tuple(busy[tid]))
                for tid, code, org_code, asset, head, prod, avail in uow.conn.execute(
                    select(t.c.id, t.c.code, org.c.code, t.c.asset_type, t.c.headcount,
                           t.c.productivity_m2_day, t.c.available)
                    .join(org, org.c.id == t.c.organisation_id).order_by(t.c.code))]


@dataclass(frozen=True)
class ReportLine:
    code: str
    status: str
    info_date: date
    author: str
    organisation: str
    entries: int
    decided_by: str | None
    decision_reason: str | None
    version: int


def reports(repo: Repository, *, status: str | None = None) -> list[ReportLine]:
    r, e, org = s.reports, s.report_entries, s.organisations
    n = select(func.count()).where(e.c.report_id == r.c.id).scalar_subquery()
    query = (select(r.c.code, r.c.status, r.c.info_date, r.c.author, org.c.code, n,
                    r.c.decided_by, r.c.decision_reason, r.c.version)
             .join(org, org.c.id == r.c.organisation_id).order_by(r.c.id))
    if status:
        query = query.where(r.c.status == status)
    with repo.reader() as uow:
        return [ReportLine(*row) for row in uow.conn.execute(query)]


@dataclass(frozen=True)
class AuditLine:
    at: Any
    entity: str
    code: str | None
    version: int
    author: str
    action: str
    reason: str
    changed: dict[str, tuple[Any, Any]]


def history(repo: Repository, code: str) -> list[AuditLine]:
    """The audit trail of every record that carries this code, oldest first."""
    a = s.audit_log
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(a.c.at, a.c.entity, a.c.entity_code, a.c.version, a.c.author, a.c.action,
                   a.c.reason, a.c.before, a.c.after)
            .where(or_(a.c.entity_code == code))
            .order_by(a.c.id)).all()
    return [AuditLine(at, entity, ecode, version, author, action, reason,
                      changed_fields(before, after))
            for at, entity, ecode, version, author, action, reason, before, after in rows]


def changed_fields(before: dict | None, after: dict | None,
                   ignore: tuple[str, ...] = ("version",)) -> dict[str, tuple[Any, Any]]:
    """What one audit row changed: field -> (before, after), fields in name order."""
    before, after = before or {}, after or {}
    return {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k) and k not in ignore}


def findings_by_category(repo: Repository) -> dict[str, int]:
    """Explosive ordnance found and recorded, by EO category (void findings left out)."""
    f = s.findings
    with repo.reader() as uow:
        rows = uow.conn.execute(select(f.c.eo_category, func.count())
                                .where(f.c.void.is_(False)).group_by(f.c.eo_category)
                                .order_by(f.c.eo_category)).all()
    return {category: int(n) for category, n in rows}
