"""Settlement status: derived from the hazards, refreshed after every change.

The full refresh reads every settlement and every unreleased hazard; the incremental
one, run after each approval, looks only at settlements near the hazards that changed,
so releasing one hazard in a national database costs milliseconds, not a rescan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select

from demine.store import schema as s
from demine.store.repository import UnitOfWork


@dataclass
class StatusChanges:
    reopened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    checked: int = 0


def settlements_near_hazards(uow: UnitOfWork, hazard_ids: Iterable[int]) -> set[int]:
    """Settlements blocked by these hazards now, or close enough to be blocked next."""
    ids = list(hazard_ids)
    if not ids:
        return set()
    d = uow.settings().closure_distance_m
    found = {r[0] for r in uow.conn.execute(
        select(s.settlement_blockers.c.settlement_id).where(
            s.settlement_blockers.c.hazard_id.in_(ids)))}
    for (geom,) in uow.conn.execute(
            select(s.hazard_areas.c.remaining_m).where(s.hazard_areas.c.id.in_(ids))):
        if geom is None or geom.is_empty:
            continue
        minx, miny, maxx, maxy = geom.bounds
        found.update(uow.spatial.ids_intersecting_bbox(
            uow.conn, "settlements", "closure_m", (minx - d, miny - d, maxx + d, maxy + d)))
    return found


def refresh(uow: UnitOfWork, settlement_ids: Iterable[int] | None = None,
            report_id: int | None = None) -> StatusChanges:
    """Recompute status and blockers of some settlements (all when ``None``)."""
    d = uow.settings().closure_distance_m
    ids = None if settlement_ids is None else sorted(set(settlement_ids))
    pairs = uow.spatial.closure_pairs(uow.conn, d, ids)
    new_blockers: dict[int, set[int]] = defaultdict(set)
    for sid, hid in pairs:
        new_blockers[sid].add(hid)
    query = select(s.settlement_blockers.c.settlement_id, s.settlement_blockers.c.hazard_id)
    status_query = select(s.settlements.c.id, s.settlements.c.status)
    if ids is not None:
        query = query.where(s.settlement_blockers.c.settlement_id.in_(ids))
        status_query = status_query.where(s.settlements.c.id.in_(ids))
    old_blockers: dict[int, set[int]] = defaultdict(set)
    for sid, hid in uow.conn.execute(query):
        old_blockers[sid].add(hid)
    changes = StatusChanges()
    for sid, old_status in uow.conn.execute(status_query).all():
        changes.checked += 1
        old, new = old_blockers.get(sid, set()), new_blockers.get(sid, set())
        if old == new and old_status == ("closed" if new else "open"):
            continue
        if old - new:
            uow.conn.execute(delete(s.settlement_blockers).where(
                s.settlement_blockers.c.settlement_id == sid,
                s.settlement_blockers.c.hazard_id.in_(sorted(old - new))))
        if new - old:
            uow.conn.execute(insert(s.settlement_blockers), [
                {"settlement_id": sid, "hazard_id": h} for h in sorted(new - old)])
        status = "closed" if new else "open"
        if status != old_status:
            row = uow.row(s.settlements, id=sid)
            assert row is not None
            uow.update(s.settlements, sid, {"status": status}, action="status",
                       report_id=report_id,
                       reason=f"derived: {len(new)} unreleased hazard(s) within {d:g} m")
            (changes.closed if status == "closed" else changes.reopened).append(row["code"])
    return changes


def refresh_after_hazards(uow: UnitOfWork, hazard_ids: Iterable[int],
                          report_id: int | None = None) -> StatusChanges:
    return refresh(uow, settlements_near_hazards(uow, hazard_ids), report_id)
