"""Settlement status: derived from the hazards, refreshed after every change.

The full refresh reads every settlement and every unreleased hazard; the incremental
one, run after each approval, looks only at settlements near the hazards that changed,
so releasing one hazard in a national database costs milliseconds, not a rescan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, delete, func, insert, select

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
    """Recompute status and blockers of some settlements (all when ``None``).

    The comparison is done on whole sets (pairs before and after, closed before and
    after) so that only settlements whose blockers or status really change are
    written: a national refresh that changes nothing writes nothing.
    """
    d = uow.settings().closure_distance_m
    ids = None if settlement_ids is None else sorted(set(settlement_ids))
    new_pairs = set(uow.spatial.closure_pairs(uow.conn, d, ids))
    blockers = select(s.settlement_blockers.c.settlement_id, s.settlement_blockers.c.hazard_id)
    closed = select(s.settlements.c.id).where(s.settlements.c.status == "closed")
    in_scope = select(func.count()).select_from(s.settlements)
    if ids is not None:
        blockers = blockers.where(s.settlement_blockers.c.settlement_id.in_(ids))
        closed = closed.where(s.settlements.c.id.in_(ids))
        in_scope = in_scope.where(s.settlements.c.id.in_(ids))
    old_pairs = set(_fetch(uow, blockers))
    closed_before = {sid for (sid,) in _fetch(uow, closed)}
    closed_now = {sid for sid, _ in new_pairs}
    touched = {sid for sid, _ in old_pairs ^ new_pairs} | (closed_before ^ closed_now)

    changes = StatusChanges(checked=uow.conn.execute(in_scope).scalar_one())
    if not touched:
        return changes
    old_blockers: dict[int, set[int]] = defaultdict(set)
    new_blockers: dict[int, set[int]] = defaultdict(set)
    for sid, hid in old_pairs:
        if sid in touched:
            old_blockers[sid].add(hid)
    for sid, hid in new_pairs:
        if sid in touched:
            new_blockers[sid].add(hid)
    for sid in sorted(touched):
        old, new = old_blockers[sid], new_blockers[sid]
        if old - new:
            uow.conn.execute(delete(s.settlement_blockers).where(
                s.settlement_blockers.c.settlement_id == sid,
                s.settlement_blockers.c.hazard_id.in_(sorted(old - new))))
        if new - old:
            uow.conn.execute(insert(s.settlement_blockers), [
                {"settlement_id": sid, "hazard_id": h} for h in sorted(new - old)])
        status = "closed" if new else "open"
        if (sid in closed_before) != bool(new):
            row = uow.row(s.settlements, id=sid)
            assert row is not None
            uow.update(s.settlements, sid, {"status": status}, action="status",
                       report_id=report_id,
                       reason=f"derived: {len(new)} unreleased hazard(s) within {d:g} m")
            (changes.closed if status == "closed" else changes.reopened).append(row["code"])
    return changes


def _fetch(uow: UnitOfWork, query: Select) -> list[tuple]:
    """Plain tuples from the driver's cursor: a national refresh reads ~10^5 rows, and
    building SQLAlchemy rows for them costs more than the query. Only integer and
    string literals are bound, so rendering them inline is safe."""
    sql = str(query.compile(uow.conn, compile_kwargs={"literal_binds": True}))
    cursor = uow.conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def refresh_after_hazards(uow: UnitOfWork, hazard_ids: Iterable[int],
                          report_id: int | None = None) -> StatusChanges:
    return refresh(uow, settlements_near_hazards(uow, hazard_ids), report_id)
