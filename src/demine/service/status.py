"""Settlement status: derived from the hazards, refreshed after every change.

The full refresh reads every settlement and every unreleased hazard; the incremental
one, run after each approval, looks only at settlements near the hazards that changed,
so releasing one hazard in a national database costs milliseconds, not a rescan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, bindparam, delete, func, insert, select, update

from demine.store import schema as s
from demine.store.batch import one_of
from demine.store.repository import UnitOfWork

#: Ids bound into one ``IN (...)``; longer lists are filtered after reading.
_IN_LIMIT = 5_000


@dataclass
class StatusChanges:
    reopened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    checked: int = 0


#: Hazards up to which settlements near them are found with one index query each.
_BBOX_QUERIES_UP_TO = 200


def settlements_near_hazards(uow: UnitOfWork, hazard_ids: Iterable[int],
                             known: Mapping[int, BaseGeometry | None] | None = None
                             ) -> set[int]:
    """Settlements blocked by these hazards now, or close enough to be blocked next.

    ``known``: the metric remainder (``remaining_m``) of some of the hazards, as the
    caller has just written it; only the others are read from the store.
    """
    ids = list(hazard_ids)
    if not ids:
        return set()
    dialect = uow.repo.dialect
    found: set[int] = set(uow.conn.execute(
        select(s.settlement_blockers.c.settlement_id).distinct().where(
            one_of(dialect, s.settlement_blockers.c.hazard_id, ids))).scalars())
    if uow.conn.execute(select(s.settlements.c.id).limit(1)).first() is None:
        return found  # no settlement to close
    d = uow.settings().closure_distance_m
    known = known or {}
    unknown = [i for i in ids if i not in known]
    geoms = [known[i] for i in ids if i in known]
    if unknown:
        geoms.extend(geom for (geom,) in uow.conn.execute(
            select(s.hazard_areas.c.remaining_m).where(
                one_of(dialect, s.hazard_areas.c.id, unknown))))
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if len(geoms) > _BBOX_QUERIES_UP_TO:
        # a national import: one read of the settlements beats a query per hazard
        bounds = shapely.bounds(np.asarray(geoms, dtype=object))
        boxes = shapely.box(bounds[:, 0] - d, bounds[:, 1] - d, bounds[:, 2] + d,
                            bounds[:, 3] + d)
        rows = uow.conn.execute(select(s.settlements.c.id, s.settlements.c.closure_m)).all()
        if rows:
            tree = shapely.STRtree(np.asarray([g for _, g in rows], dtype=object))
            hit = np.unique(tree.query(boxes)[1])  # envelopes meet, as the index's test
            found.update(int(rows[i][0]) for i in hit.tolist())
        return found
    for geom in geoms:
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
    new = uow.spatial.closure_pair_array(uow.conn, d, ids)
    blockers = select(s.settlement_blockers.c.settlement_id, s.settlement_blockers.c.hazard_id)
    closed = select(s.settlements.c.id).where(s.settlements.c.status == "closed")
    in_scope = select(func.count()).select_from(s.settlements)
    # a long id list would pass SQLite's limit on bound values: read all, keep the ids
    few = ids is not None and len(ids) <= _IN_LIMIT
    if few:
        blockers = blockers.where(s.settlement_blockers.c.settlement_id.in_(ids))
        closed = closed.where(s.settlements.c.id.in_(ids))
        in_scope = in_scope.where(s.settlements.c.id.in_(ids))
    old = np.array(_fetch(uow, blockers), dtype=np.int64).reshape(-1, 2)
    closed_before = np.array([sid for (sid,) in _fetch(uow, closed)], dtype=np.int64)
    if ids is None or few:
        checked = uow.conn.execute(in_scope).scalar_one()
    else:
        wanted = np.array(ids, dtype=np.int64)
        old = old[np.isin(old[:, 0], wanted)]
        closed_before = closed_before[np.isin(closed_before, wanted)]
        present = np.array([sid for (sid,) in _fetch(uow, select(s.settlements.c.id))],
                           dtype=np.int64)
        checked = int(np.isin(wanted, present).sum())
    changes = StatusChanges(checked=checked)

    # pairs compared as one int64 key each: settlement id in the high half
    new_keys, old_keys = _keys(new), _keys(old)
    gone = _unkey(np.setdiff1d(old_keys, new_keys))
    added = _unkey(np.setdiff1d(new_keys, old_keys))
    closed_now = np.unique(new[:, 0])
    flipped = np.setxor1d(closed_before, closed_now)
    if not len(gone) and not len(added) and not len(flipped):
        return changes
    b = s.settlement_blockers
    if len(gone):
        uow.conn.execute(delete(b).where(b.c.settlement_id == bindparam("sid"),
                                         b.c.hazard_id == bindparam("hid")),
                         [{"sid": sid, "hid": hid} for sid, hid in gone.tolist()])
    if len(added):
        uow.conn.execute(insert(b), [{"settlement_id": sid, "hazard_id": hid}
                                     for sid, hid in added.tolist()])
    if len(flipped):
        _write_statuses(uow, flipped.tolist(), set(closed_now.tolist()),
                        new[np.isin(new[:, 0], flipped)], d, report_id, changes)
    return changes


def _keys(pairs: np.ndarray) -> np.ndarray:
    return (pairs[:, 0] << 32) | pairs[:, 1]


def _unkey(keys: np.ndarray) -> np.ndarray:
    return np.column_stack([keys >> 32, keys & 0xFFFFFFFF])


def _write_statuses(uow: UnitOfWork, flipped: list[int], closed_now: set[int],
                    pairs: np.ndarray, distance: float, report_id: int | None,
                    changes: StatusChanges) -> None:
    """New statuses in one statement, each with its audit row and a new version.

    A first refresh after a national import flips thousands of settlements; one
    UPDATE and one audit INSERT per settlement would take minutes. The audit keeps
    what changed (the status) and why (how many hazards, at what distance); the
    blocking hazards themselves are the settlement_blockers rows.
    """
    st, h = s.settlements, s.hazard_areas
    wanted = set(flipped)
    blockers: dict[int, list[int]] = defaultdict(list)
    for sid, hid in pairs.tolist():
        if sid in wanted:
            blockers[sid].append(hid)
    needed = sorted({hid for hids in blockers.values() for hid in hids})
    code_of: dict[int, str] = {}
    for chunk in (needed[k:k + 5_000] for k in range(0, len(needed), 5_000)):
        code_of.update(uow.conn.execute(select(h.c.id, h.c.code).where(h.c.id.in_(chunk))).all())
    rows = []
    for chunk in (flipped[k:k + 5_000] for k in range(0, len(flipped), 5_000)):
        rows += uow.conn.execute(select(st.c.id, st.c.code, st.c.version, st.c.status)
                                 .where(st.c.id.in_(chunk))).all()
    rows.sort()
    uow.conn.execute(
        update(st).where(st.c.id == bindparam("sid")).values(
            status=bindparam("new_status"), version=bindparam("new_version"),
            updated_at=uow.now),
        [{"sid": r.id, "new_status": "closed" if r.id in closed_now else "open",
          "new_version": r.version + 1} for r in rows])
    audit = []
    for r in rows:
        status = "closed" if r.id in closed_now else "open"
        audit.append({
            "entity": "settlement", "entity_id": r.id, "entity_code": r.code,
            "version": r.version + 1, "author": uow.author, "at": uow.now,
            "action": "status", "reason": _why(sorted(code_of[h] for h in blockers[r.id]),
                                               distance),
            "report_id": report_id, "before": {"status": r.status, "version": r.version},
            "after": {"status": status, "version": r.version + 1}})
        (changes.closed if status == "closed" else changes.reopened).append(r.code)
    uow.conn.execute(insert(s.audit_log), audit)


def _why(hazard_codes: list[str], distance: float) -> str:
    """The reason a liaison officer can repeat: which hazards, at what distance."""
    if not hazard_codes:
        return f"derived: no unreleased hazard within {distance:g} m"
    named = ", ".join(hazard_codes[:5]) + (f" and {len(hazard_codes) - 5} more"
                                           if len(hazard_codes) > 5 else "")
    return f"derived: unreleased hazard(s) within {distance:g} m: {named}"


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
                          report_id: int | None = None, *,
                          known: Mapping[int, BaseGeometry | None] | None = None
                          ) -> StatusChanges:
    """Refresh the settlements these hazards block or may block (``known``: see
    :func:`settlements_near_hazards`)."""
    return refresh(uow, settlements_near_hazards(uow, hazard_ids, known), report_id)
