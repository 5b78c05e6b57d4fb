"""The district dashboard: the headline with its trend, land, finds, accidents, teams.

One answer for the page so that every chart on it describes the same moment of the
record. The trend is rebuilt from the audit trail rather than kept as a separate
series: every change of a settlement's status is an audit row, dated by the report
that caused it (its date of information), so the curve can never disagree with the
headline and needs no job to keep it up to date.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from demine.domain.access import Permission, Principal
from demine.domain.errors import NotFound
from demine.service import queries
from demine.store import schema as s
from demine.store.repository import Repository

#: Victims' ages are shown in these brackets, never one by one (small numbers identify).
AGE_BRACKETS = ((0, 17, "under 18"), (18, 59, "18 to 59"), (60, 200, "60 and over"))


@dataclass(frozen=True)
class TrendPoint:
    """How many settlements were closed at the end of a day."""

    day: date
    closed: int


def closure_trend(repo: Repository) -> list[TrendPoint]:
    """Settlements closed over time, one point per day on which the number changed.

    A status change made by an approval is dated by the report's date of information
    (when the land was found or released), others by when they were recorded.
    """
    a, r = s.audit_log, s.reports
    query = (select(a.c.entity_id, a.c.at, a.c.before, a.c.after, r.c.info_date)
             .outerjoin(r, r.c.id == a.c.report_id)
             .where(a.c.entity == "settlement").order_by(a.c.id))
    delta: Counter[date] = Counter()
    with repo.reader() as uow:
        for _sid, at, before, after, info_date in uow.conn.execute(query):
            old = (before or {}).get("status")
            new = (after or {}).get("status", old)
            if old == new:
                continue
            day = info_date or _day(at)
            if new == "closed":
                delta[day] += 1
            elif old == "closed":
                delta[day] -= 1
    points, closed = [], 0
    for day in sorted(delta):
        if delta[day]:
            closed += delta[day]
            points.append(TrendPoint(day, closed))
    return points


def _day(at: datetime | str) -> date:
    return at.date() if isinstance(at, datetime) else date.fromisoformat(str(at)[:10])


def accident_counts(repo: Repository, who: Principal) -> dict[str, Any]:
    """Accidents by type and victims by outcome and role for everyone; by sex and age
    bracket only for those who may read personal data. A reversed (void) accident and
    its victims are not counted: the report that recorded it was withdrawn."""
    t, v = s.accidents, s.victims
    with repo.reader() as uow:
        by_type = dict(uow.conn.execute(
            select(t.c.type, func.count()).where(t.c.void.is_(False))
            .group_by(t.c.type).order_by(t.c.type)).all())
        rows = uow.conn.execute(select(v.c.outcome, v.c.role, v.c.sex, v.c.age)
                                .join(t, t.c.id == v.c.accident_id)
                                .where(v.c.void.is_(False), t.c.void.is_(False))).all()
    answer: dict[str, Any] = {
        "accidents": sum(by_type.values()),
        "by_type": by_type,
        "victims": len(rows),
        "victims_by_outcome": dict(sorted(Counter(o for o, _, _, _ in rows).items())),
        "victims_by_role": dict(sorted(Counter(r for _, r, _, _ in rows).items())),
    }
    if who.can(Permission.READ_PERSONAL):
        answer["victims_by_sex"] = dict(sorted(Counter(x for _, _, x, _ in rows).items()))
        answer["victims_by_age"] = dict(Counter(_bracket(age) for _, _, _, age in rows))
    return answer


def _bracket(age: int | None) -> str:
    if age is None:
        return "unknown"
    return next(words for low, high, words in AGE_BRACKETS if low <= age <= high)


def indicators(repo: Repository) -> dict[str, Any]:
    """The district's figures: closures, land by status, method and month, finds."""
    ind = queries.indicator(repo)
    land = queries.land_totals(repo)
    return {
        "settlements": {"closed": ind.closed, "total": ind.total,
                        "population_closed": ind.population_closed,
                        "population_total": ind.population_total, "headline": ind.headline},
        "land_released_m2": {"by_method": land.released_by_method,
                             "by_month": land.released_by_month},
        "hazards": {"count_by_status": land.count_by_status,
                    "remaining_m2_by_status": land.by_status},
        "findings_by_category": queries.findings_by_category(repo),
    }


def dashboard(repo: Repository, who: Principal) -> dict[str, Any]:
    """Everything the dashboard draws, as JSON-ready values: the indicators with the
    trend, accidents, and the teams with what they work on."""
    who.require(Permission.READ, "the district dashboard")
    with repo.reader() as uow:
        in_progress = uow.conn.execute(
            select(func.count()).select_from(s.activities)
            .where(s.activities.c.status == "in_progress")).scalar_one()
    return {
        **indicators(repo),
        "trend": [{"date": p.day.isoformat(), "closed": p.closed}
                  for p in closure_trend(repo)],
        "accidents": accident_counts(repo, who),
        "activities_in_progress": int(in_progress),
        "teams": [{**asdict(t), "working_on": list(t.working_on)}
                  for t in queries.teams(repo)],
    }


def settlement_page(repo: Repository, code: str, who: Principal) -> dict[str, Any]:
    """A settlement with the hazard areas that keep it closed and what remains of each."""
    who.require(Permission.READ, f"read settlement {code}")
    found = queries.settlement_statuses(repo, code=code)
    if not found:
        raise NotFound("settlement", code)
    status = found[0]
    return {"code": status.code, "name": status.name, "status": status.status,
            "population": status.population,
            "blockers": [{**asdict(b), "eo_categories": list(b.eo_categories)}
                         for b in status.blockers]}
