"""The part of the store that differs between SQLite and PostGIS: spatial search.

SQLite keeps an R*Tree of bounding boxes beside each geometry column and leaves the
exact predicate to shapely; PostGIS answers the exact predicate in SQL over a GiST
index. Both work on the same metric columns, so both give the same answer.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, func, text

from demine.store.schema import SPATIAL_INDEXES


def rtree_name(table: str, column: str) -> str:
    return f"rtree_{table}_{column}"


class SpatialBackend(ABC):
    """Interface; see :class:`SqliteSpatial` and :class:`PostgisSpatial`."""

    name = "abstract"

    @abstractmethod
    def index(self, conn: Connection, table: str, column: str,
              rows: Iterable[tuple[int, BaseGeometry | None]]) -> None:
        """Keep the bounding-box index of ``table.column`` in step with these rows."""

    def index_many(self, conn: Connection, table: str, column: str, ids: np.ndarray,
                   geoms: np.ndarray) -> None:
        """:meth:`index` of many new rows given as arrays (a national load)."""
        self.index(conn, table, column, zip(ids.tolist(), geoms.tolist(), strict=True))

    @abstractmethod
    def ids_intersecting_bbox(self, conn: Connection, table: str, column: str,
                              bbox: tuple[float, float, float, float]) -> list[int]:
        """Ids whose indexed box meets ``bbox`` (a prefilter; callers test exactly)."""

    @abstractmethod
    def bbox_clause(self, table: Table, column: str,
                    bbox: tuple[float, float, float, float]) -> ColumnElement[bool]:
        """A WHERE clause: the geometry in ``table.column`` intersects ``bbox`` (WGS84)."""

    @abstractmethod
    def extent(self, conn: Connection, table: str, column: str
               ) -> tuple[float, float, float, float] | None:
        """The bounding box of every geometry in ``table.column``, from the index alone."""

    @abstractmethod
    def closure_pair_array(self, conn: Connection, distance_m: float,
                           settlement_ids: Sequence[int] | None = None) -> np.ndarray:
        """(settlement id, hazard id) rows, int64, sorted, for every unreleased hazard
        near a settlement: the national refresh compares them as arrays."""

    def closure_pairs(self, conn: Connection, distance_m: float,
                      settlement_ids: Sequence[int] | None = None) -> list[tuple[int, int]]:
        """The same pairs as tuples."""
        pairs = self.closure_pair_array(conn, distance_m, settlement_ids)
        return list(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), strict=True))


class SqliteSpatial(SpatialBackend):
    name = "sqlite"

    def index(self, conn, table, column, rows) -> None:
        name = rtree_name(table, column)
        upserts, deletes = [], []
        for row_id, geom in rows:
            if geom is None or geom.is_empty:
                deletes.append((row_id,))
            else:
                minx, miny, maxx, maxy = geom.bounds
                upserts.append((row_id, minx, maxx, miny, maxy))
        raw = conn.connection.driver_connection
        if deletes:
            raw.executemany(f"DELETE FROM {name} WHERE id = ?", deletes)
        if upserts:
            raw.executemany(f"INSERT OR REPLACE INTO {name} VALUES (?, ?, ?, ?, ?)", upserts)

    def index_many(self, conn, table, column, ids, geoms) -> None:
        """The boxes of many rows at once: bounds in one vectorised call, one statement.

        The same entries as :meth:`index` (empty or missing geometries get none)."""
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        b = shapely.bounds(geoms[present])
        raw = conn.connection.driver_connection
        deletes = [(i,) for i in ids[~present].tolist()]
        if deletes:
            raw.executemany(f"DELETE FROM {rtree_name(table, column)} WHERE id = ?", deletes)
        if len(b):
            raw.executemany(f"INSERT OR REPLACE INTO {rtree_name(table, column)} "
                            "VALUES (?, ?, ?, ?, ?)",
                            zip(ids[present].tolist(), b[:, 0].tolist(), b[:, 2].tolist(),
                                b[:, 1].tolist(), b[:, 3].tolist(), strict=True))

    def ids_intersecting_bbox(self, conn, table, column, bbox) -> list[int]:
        minx, miny, maxx, maxy = bbox
        rows = conn.execute(
            text(f"SELECT id FROM {rtree_name(table, column)} "
                 "WHERE maxx >= :minx AND minx <= :maxx AND maxy >= :miny AND miny <= :maxy"),
            {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy},
        )
        return [r[0] for r in rows]

    def bbox_clause(self, table, column, bbox):
        """R*Tree boxes first, then the exact test on those candidates only.

        ``demine_intersects_bbox`` is registered on every SQLite connection (see
        :func:`register_sqlite_functions`); SQLite evaluates it only on rows the R*Tree
        lets through, so it costs a few microseconds per candidate.
        """
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        boxes = text(f"SELECT id FROM {rtree_name(table.name, column)} WHERE maxx >= :bminx "
                     "AND minx <= :bmaxx AND maxy >= :bminy AND miny <= :bmaxy").bindparams(
            bminx=minx, bmaxx=maxx, bminy=miny, bmaxy=maxy)
        exact = func.demine_intersects_bbox(
            table.c[column], bindparam("eminx", minx), bindparam("eminy", miny),
            bindparam("emaxx", maxx), bindparam("emaxy", maxy)) == 1
        return and_(table.c.id.in_(boxes.columns(id=table.c.id.type)), exact)

    def extent(self, conn, table, column):
        row = conn.exec_driver_sql(
            f"SELECT min(minx), min(miny), max(maxx), max(maxy) "
            f"FROM {rtree_name(table, column)}").one()
        return None if row[0] is None else tuple(float(v) for v in row)

    def closure_pair_array(self, conn, distance_m, settlement_ids=None):
        """Pairs by an R*Tree join in SQL; geometry is read only where boxes can't decide.

        The join yields every (settlement, hazard) whose boxes come within the distance.
        Two box bounds then settle most pairs without any geometry: boxes farther apart
        than the distance can't be within it, and boxes whose farthest corners are within
        it must be. R*Tree boxes are float32 rounded outward, so both bounds stay on the
        safe side. Only the undecided pairs read and parse their WKB for the exact test.
        This relies on the remainder's R*Tree holding exactly the unreleased hazards,
        which ``rebuild_hazard`` keeps so.
        """
        params: list = [distance_m] * 4 + [distance_m * distance_m] * 2
        where_ids = ""
        if settlement_ids is not None:
            if not len(settlement_ids):
                return _NO_PAIRS.copy()
            where_ids = " AND s.id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([int(i) for i in settlement_ids]))
        raw = conn.connection.driver_connection
        rows = raw.execute(_CANDIDATE_PAIRS_SQL + where_ids, params).fetchall()
        if not rows:
            return _NO_PAIRS.copy()
        pairs = np.array(rows, dtype=np.int64)
        sid, signed_hid = pairs[:, 0], pairs[:, 1]
        keep = signed_hid > 0
        undecided = np.flatnonzero(~keep)
        if len(undecided):
            u_sid, u_hid = sid[undecided], -signed_hid[undecided]
            h_ids, h_geoms = _read_by_ids(
                raw, "SELECT id, remaining_m FROM hazard_areas WHERE status != 'released' "
                "AND remaining_m IS NOT NULL AND id IN (SELECT value FROM json_each(?))",
                np.unique(u_hid))
            s_ids, s_geoms = _read_by_ids(
                raw, "SELECT id, closure_m FROM settlements "
                "WHERE id IN (SELECT value FROM json_each(?))", np.unique(u_sid))
            h_at = np.searchsorted(h_ids, u_hid).clip(max=max(len(h_ids) - 1, 0))
            s_at = np.searchsorted(s_ids, u_sid).clip(max=max(len(s_ids) - 1, 0))
            found = (h_ids[h_at] == u_hid) if len(h_ids) else np.zeros(len(u_hid), bool)
            near = np.zeros(len(undecided), dtype=bool)
            if found.any():
                near[found] = shapely.dwithin(s_geoms[s_at[found]], h_geoms[h_at[found]],
                                              distance_m)
            keep[undecided] = near
        sid, hid = sid[keep], np.abs(signed_hid[keep])
        order = np.lexsort((hid, sid))
        return np.column_stack([sid[order], hid[order]])


#: (settlement id, ±hazard id) for boxes within the distance; the hazard id is negative
#: when the boxes alone can't say whether the geometries are within it. Parameters:
#: the distance four times, then its square twice.
_CANDIDATE_PAIRS_SQL = """
SELECT s.id,
       CASE WHEN max(h.maxx - s.minx, s.maxx - h.minx) * max(h.maxx - s.minx, s.maxx - h.minx)
               + max(h.maxy - s.miny, s.maxy - h.miny) * max(h.maxy - s.miny, s.maxy - h.miny)
                 <= ?6 THEN h.id ELSE -h.id END
FROM rtree_settlements_closure_m AS s
JOIN rtree_hazard_areas_remaining_m AS h
  ON h.maxx >= s.minx - ?1 AND h.minx <= s.maxx + ?2
 AND h.maxy >= s.miny - ?3 AND h.miny <= s.maxy + ?4
WHERE max(0, h.minx - s.maxx, s.minx - h.maxx) * max(0, h.minx - s.maxx, s.minx - h.maxx)
    + max(0, h.miny - s.maxy, s.miny - h.maxy) * max(0, h.miny - s.maxy, s.miny - h.maxy)
      <= ?5
"""

_NO_PAIRS = np.zeros((0, 2), dtype=np.int64)

#: SQLite's default limit on the length of one JSON argument is far above this; the
#: chunks keep each statement's working set small.
_ID_CHUNK = 50_000


def _read_by_ids(raw, sql: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ids and parsed geometries of the rows with these ids."""
    rows = []
    for k in range(0, len(ids), _ID_CHUNK):
        rows += raw.execute(sql, (json.dumps(ids[k:k + _ID_CHUNK].tolist()),)).fetchall()
    got = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    blobs = np.empty(len(rows), dtype=object)
    blobs[:] = [r[1] for r in rows]
    order = np.argsort(got, kind="stable")
    return got[order], shapely.from_wkb(blobs[order])


class PostgisSpatial(SpatialBackend):
    name = "postgis"

    def index(self, conn, table, column, rows) -> None:
        """GiST indexes are kept by PostgreSQL itself."""
        for _ in rows:
            continue

    def index_many(self, conn, table, column, ids, geoms) -> None:
        """GiST indexes are kept by PostgreSQL itself."""

    def ids_intersecting_bbox(self, conn, table, column, bbox) -> list[int]:
        if column not in SPATIAL_INDEXES.get(table, ()):
            raise ValueError(f"{table}.{column} has no spatial index")
        minx, miny, maxx, maxy = bbox
        srid = "4326" if column in ("geom", "footprint") else f"ST_SRID({column})"
        rows = conn.execute(
            text(f"SELECT id FROM {table} WHERE {column} && "
                 f"ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, {srid})"),
            {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy},
        )
        return [r[0] for r in rows]

    def bbox_clause(self, table, column, bbox):
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        envelope = func.ST_MakeEnvelope(bindparam("bminx", minx), bindparam("bminy", miny),
                                        bindparam("bmaxx", maxx), bindparam("bmaxy", maxy), 4326)
        return func.ST_Intersects(table.c[column], envelope)

    def extent(self, conn, table, column):
        row = conn.exec_driver_sql(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            f"FROM (SELECT ST_Extent({column}) AS e FROM {table}) x").one()
        return None if row[0] is None else tuple(float(v) for v in row)

    def closure_pair_array(self, conn, distance_m, settlement_ids=None):
        sql = (
            "SELECT s.id, h.id FROM settlements s JOIN hazard_areas h "
            "ON ST_DWithin(s.closure_m, h.remaining_m, :d) "
            "WHERE h.status != 'released' AND h.remaining_m IS NOT NULL"
        )
        params: dict = {"d": distance_m}
        if settlement_ids is not None:
            if not len(settlement_ids):
                return _NO_PAIRS.copy()
            sql += " AND s.id = ANY(:ids)"
            params["ids"] = list(settlement_ids)
        rows = conn.execute(text(sql + " ORDER BY s.id, h.id"), params).all()
        return np.array(rows, dtype=np.int64).reshape(-1, 2)


def _intersects_bbox(wkb: bytes | None, minx: float, miny: float, maxx: float,
                     maxy: float) -> int:
    if wkb is None:
        return 0
    geom = shapely.from_wkb(wkb)
    gminx, gminy, gmaxx, gmaxy = geom.bounds
    if gminx >= minx and gmaxx <= maxx and gminy >= miny and gmaxy <= maxy:
        return 1
    return int(shapely.intersects(geom, shapely.box(minx, miny, maxx, maxy)))


def register_sqlite_functions(dbapi_connection) -> None:
    """SQL functions the SQLite backend's queries call, on one raw connection."""
    dbapi_connection.create_function("demine_intersects_bbox", 5, _intersects_bbox,
                                     deterministic=True)


def backend_for(dialect_name: str) -> SpatialBackend:
    if dialect_name == "sqlite":
        return SqliteSpatial()
    if dialect_name == "postgresql":
        return PostgisSpatial()
    raise ValueError(f"unsupported database {dialect_name!r}: use SQLite or PostgreSQL+PostGIS")
