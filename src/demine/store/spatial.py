"""The part of the store that differs between SQLite and PostGIS: spatial search.

SQLite keeps an R*Tree of bounding boxes beside each geometry column and leaves the
exact predicate to shapely; PostGIS answers the exact predicate in SQL over a GiST
index. Both work on the same metric columns, so both give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from demine.domain.settlements import closures
from demine.store.schema import SPATIAL_INDEXES


def rtree_name(table: str, column: str) -> str:
    return f"rtree_{table}_{column}"


class SpatialBackend:
    """Interface; see :class:`SqliteSpatial` and :class:`PostgisSpatial`."""

    name = "abstract"

    def index(self, conn: Connection, table: str, column: str,
              rows: Iterable[tuple[int, BaseGeometry | None]]) -> None:
        raise NotImplementedError

    def ids_intersecting_bbox(self, conn: Connection, table: str, column: str,
                              bbox: tuple[float, float, float, float]) -> list[int]:
        raise NotImplementedError

    def closure_pairs(self, conn: Connection, distance_m: float,
                      settlement_ids: Sequence[int] | None = None) -> list[tuple[int, int]]:
        """(settlement id, hazard id) for every unreleased hazard near a settlement."""
        raise NotImplementedError


def _read_geoms(conn: Connection, sql: str, params: Sequence = ()
                ) -> tuple[np.ndarray, np.ndarray]:
    """Ids and geometries of an (id, wkb) query, parsed in one vectorised call."""
    rows = conn.exec_driver_sql(sql, tuple(params)).fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, shapely.from_wkb(np.array([r[1] for r in rows], dtype=object))


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

    def ids_intersecting_bbox(self, conn, table, column, bbox) -> list[int]:
        minx, miny, maxx, maxy = bbox
        rows = conn.execute(
            text(f"SELECT id FROM {rtree_name(table, column)} "
                 "WHERE maxx >= :minx AND minx <= :maxx AND maxy >= :miny AND miny <= :maxy"),
            {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy},
        )
        return [r[0] for r in rows]

    def closure_pairs(self, conn, distance_m, settlement_ids=None):
        if settlement_ids is None:
            s_ids, s_geoms = _read_geoms(conn, "SELECT id, closure_m FROM settlements")
            h_ids, h_geoms = _read_geoms(
                conn, "SELECT id, remaining_m FROM hazard_areas WHERE status != 'released' "
                "AND remaining_m IS NOT NULL")
            result = closures(s_geoms, h_geoms, distance_m)
            return list(zip(s_ids[result.settlement_index].tolist(),
                            h_ids[result.hazard_index].tolist(), strict=True))
        pairs: list[tuple[int, int]] = []
        for sid in settlement_ids:
            row = conn.exec_driver_sql(
                "SELECT closure_m FROM settlements WHERE id = ?", (sid,)).fetchone()
            if row is None:
                continue
            geom = shapely.from_wkb(row[0])
            minx, miny, maxx, maxy = geom.bounds
            candidates = self.ids_intersecting_bbox(
                conn, "hazard_areas", "remaining_m",
                (minx - distance_m, miny - distance_m, maxx + distance_m, maxy + distance_m))
            if not candidates:
                continue
            marks = ",".join("?" * len(candidates))
            h_ids, h_geoms = _read_geoms(
                conn, f"SELECT id, remaining_m FROM hazard_areas WHERE id IN ({marks}) "
                "AND status != 'released' AND remaining_m IS NOT NULL", candidates)
            near = shapely.dwithin(h_geoms, geom, distance_m) if len(h_ids) else []
            pairs.extend((sid, int(h)) for h, ok in zip(h_ids, near, strict=True) if ok)
        return sorted(pairs)


class PostgisSpatial(SpatialBackend):
    name = "postgis"

    def index(self, conn, table, column, rows) -> None:
        """GiST indexes are kept by PostgreSQL itself."""
        for _ in rows:
            continue

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

    def closure_pairs(self, conn, distance_m, settlement_ids=None):
        sql = (
            "SELECT s.id, h.id FROM settlements s JOIN hazard_areas h "
            "ON ST_DWithin(s.closure_m, h.remaining_m, :d) "
            "WHERE h.status != 'released' AND h.remaining_m IS NOT NULL"
        )
        params: dict = {"d": distance_m}
        if settlement_ids is not None:
            if not settlement_ids:
                return []
            sql += " AND s.id = ANY(:ids)"
            params["ids"] = list(settlement_ids)
        rows = conn.execute(text(sql + " ORDER BY s.id, h.id"), params)
        return [(r[0], r[1]) for r in rows]


def backend_for(dialect_name: str) -> SpatialBackend:
    if dialect_name == "sqlite":
        return SqliteSpatial()
    if dialect_name == "postgresql":
        return PostgisSpatial()
    raise ValueError(f"unsupported database {dialect_name!r}: use SQLite or PostgreSQL+PostGIS")
