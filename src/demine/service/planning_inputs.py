"""The facts the planner needs about each unreleased hazard, read from the record.

Kept apart from :mod:`demine.planning` so that scoring and scheduling stay pure and
testable on hand-made facts, while this module is the one place that knows how the
store says "who is kept closed out", "what was found" and "what happened nearby".
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
import shapely
from sqlalchemy import func, select

from demine.domain.vocab import (
    ActivityStatus,
    ActivityType,
    Blockage,
    EOCategory,
    EvidenceKind,
    HazardStatus,
    ReleaseMethod,
)
from demine.planning.priority import HazardFacts
from demine.planning.productivity import ProgressRecord
from demine.store import schema as s
from demine.store.repository import Repository

#: Accidents this close to a hazard's remainder count towards its priority.
ACCIDENT_RADIUS_M = 2_000.0
#: Net output of one manual team (about eight deminers at 25 m² a day): an assumption
#: for effort estimates until the scheduler's per-asset productivity is used.
TEAM_M2_PER_DAY = 200.0


def hazard_facts(repo: Repository, *, accident_radius_m: float = ACCIDENT_RADIUS_M,
                 team_m2_per_day: float = TEAM_M2_PER_DAY) -> list[HazardFacts]:
    """Facts of every hazard that is not released, in code order."""
    h = s.hazard_areas
    with repo.reader() as uow:
        hazards = uow.conn.execute(
            select(h.c.id, h.c.code, h.c.classification, h.c.remaining_m2, h.c.blockages,
                   h.c.eo_suspected,
                   h.c.eo_confirmed, h.c.cleared_m2, h.c.reduced_m2, h.c.remaining_m)
            .where(h.c.status != HazardStatus.RELEASED.value).order_by(h.c.code)).all()
        if not hazards:
            return []
        closed = _closed_settlements(uow.conn)
        evidence = _evidence_kinds(uow.conn)
        found = _items_found(uow.conn)
        accidents, victims = _accident_points(uow.conn, uow.settings().frame)

    near_accidents: dict[int, tuple[int, int]] = {}
    if len(accidents) and hazards:
        geoms = np.array([r.remaining_m for r in hazards], dtype=object)
        tree = shapely.STRtree(accidents)
        hit_h, hit_a = tree.query(geoms, predicate="dwithin", distance=accident_radius_m)
        for hi in np.unique(hit_h):
            mine = hit_a[hit_h == hi]
            near_accidents[int(hi)] = (len(mine), int(victims[mine].sum()))

    facts = []
    for i, r in enumerate(hazards):
        blocked = closed.get(r.id, [])
        eo = {EOCategory(v) for v in (r.eo_suspected or []) + (r.eo_confirmed or [])}
        n_acc, n_vic = near_accidents.get(i, (0, 0))
        facts.append(HazardFacts(
            code=r.code,
            remaining_m2=float(r.remaining_m2),
            population_share=sum(pop / n for _, pop, n in blocked),
            population_blocked=sum(pop for _, pop, _ in blocked),
            settlements_closed=tuple(sorted(code for code, _, _ in blocked)),
            blockages=frozenset(Blockage(v) for v in r.blockages or []),
            # a CHA is confirmed by direct evidence even when none is itemised
            evidence=frozenset(evidence.get(r.id, set())
                               | ({EvidenceKind.DIRECT} if r.classification == "CHA" else set())),
            confirmed=bool(r.eo_confirmed) or found.get(r.id, 0) > 0,
            eo_categories=frozenset(eo),
            accidents_nearby=n_acc,
            victims_nearby=n_vic,
            items_found=found.get(r.id, 0),
            worked_m2=float(r.cleared_m2 + r.reduced_m2),
            effort_days=float(r.remaining_m2) / team_m2_per_day,
        ))
    return facts


def _closed_settlements(conn) -> dict[int, list[tuple[str, int, int]]]:
    """Per hazard: (settlement code, population, how many hazards keep it closed)."""
    b, st = s.settlement_blockers, s.settlements
    counts = dict(conn.execute(select(b.c.settlement_id, func.count())
                               .group_by(b.c.settlement_id)).all())
    out: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for hid, sid, code, pop in conn.execute(
            select(b.c.hazard_id, b.c.settlement_id, st.c.code, st.c.population)
            .join(st, st.c.id == b.c.settlement_id)):
        out[hid].append((code, int(pop), int(counts[sid])))
    return out


def _evidence_kinds(conn) -> dict[int, set[EvidenceKind]]:
    e = s.evidence_items
    out: dict[int, set[EvidenceKind]] = defaultdict(set)
    for hid, kind in conn.execute(select(e.c.hazard_id, e.c.kind).where(e.c.void.is_(False))):
        out[hid].add(EvidenceKind(kind))
    return out


def _items_found(conn) -> dict[int, int]:
    f, a = s.findings, s.activities
    return dict(conn.execute(
        select(a.c.hazard_id, func.count()).join(a, a.c.id == f.c.activity_id)
        .where(f.c.void.is_(False)).group_by(a.c.hazard_id)).all())


def _accident_points(conn, frame) -> tuple[np.ndarray, np.ndarray]:
    """Metric points of recorded accidents, and their victim counts."""
    acc, v = s.accidents, s.victims
    rows = conn.execute(select(acc.c.id, acc.c.geom).where(acc.c.void.is_(False))
                        .order_by(acc.c.id)).all()
    if not rows:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    victims = dict(conn.execute(select(v.c.accident_id, func.count())
                                .where(v.c.void.is_(False)).group_by(v.c.accident_id)).all())
    points = frame.to_metric(np.array([r.geom for r in rows], dtype=object))
    return (np.asarray(points, dtype=object),
            np.array([victims.get(r.id, 0) for r in rows], dtype=np.int64))


#: Activity states whose reported progress says how fast a team works: a planned
#: activity has none yet, a suspended one has what was done before it stopped.
_PROGRESS_STATES = (ActivityStatus.IN_PROGRESS.value, ActivityStatus.COMPLETED.value,
                    ActivityStatus.SUSPENDED.value)
#: Outcomes that are land a clearance team worked (cancellation is survey, not work).
_WORKED = (ReleaseMethod.CLEARED.value, ReleaseMethod.REDUCED.value)


def clearance_progress(repo: Repository) -> list[ProgressRecord]:
    """Each team's reported clearance work: released area and the days it covers.

    An activity counts when it has a team, an actual start and released area in
    non-void outcomes. Its days end at the actual end when completed, else at its
    last reported outcome (see :mod:`demine.planning.productivity` for why). An
    outcome dated before the start (a data-entry slip) leaves the activity out rather
    than inventing a duration.
    """
    a, o, t = s.activities, s.outcome_polygons, s.teams
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(t.c.code.label("team"), a.c.code, a.c.status, a.c.actual_start,
                   a.c.actual_end, func.sum(o.c.area_m2).label("area"),
                   func.max(o.c.info_date).label("last"))
            .join(t, t.c.id == a.c.team_id)
            .join(o, o.c.activity_id == a.c.id)
            .where(a.c.type == ActivityType.CLEARANCE.value,
                   a.c.status.in_(_PROGRESS_STATES), a.c.actual_start.is_not(None),
                   o.c.void.is_(False), o.c.method.in_(_WORKED))
            .group_by(t.c.code, a.c.code, a.c.status, a.c.actual_start, a.c.actual_end)
            .order_by(a.c.code)).all()
    out = []
    for r in rows:
        completed = r.status == ActivityStatus.COMPLETED.value and r.actual_end is not None
        end = _as_date(r.actual_end if completed else r.last)
        start = _as_date(r.actual_start)
        if end < start or not r.area:
            continue
        out.append(ProgressRecord(r.team, r.code, start, end, float(r.area)))
    return out


def _as_date(value: date | str) -> date:
    """SQLite hands back aggregated dates as text; PostgreSQL as dates."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
