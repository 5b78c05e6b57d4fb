"""Writing many rows at once inside a unit of work: COPY on PostGIS, executemany on SQLite.

A national import writes hundreds of thousands of hazards, report entries and audit
rows. Through SQLAlchemy each row is a dictionary, bound value by value and sent as its
own statement (psycopg's pipeline), which costs more than everything the import checks.
Here the caller hands plain tuples whose values are already in the form the store keeps:

* geometry columns (:class:`demine.store.schema.Geom`) as WKB bytes, EWKB with the SRID
  on PostGIS (see :func:`geometry_values`);
* JSON columns as JSON text (what SQLAlchemy's JSON type would have serialised);
* every other column as the Python value SQLAlchemy would have been given.

On PostgreSQL the rows go through ``COPY ... FROM STDIN`` in binary format on the unit
of work's own connection, so they are part of its transaction: a later refusal rolls
them back with everything else. On SQLite they go through the driver's ``executemany``
with one prepared statement, each value put through the column type's own bind
processor (dates and times are stored as the text SQLAlchemy writes), so a row written
here reads back exactly as one written through SQLAlchemy.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import shapely
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    text,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY

from demine.store.schema import Geom

#: PostgreSQL type names for the binary COPY of each column type. JSON goes as text and
#: geometry as bytea: in binary COPY a value is its type's wire form, and the server
#: reads json from its text and geometry from (E)WKB bytes.
_PG_COPY_TYPES: tuple[tuple[type, str], ...] = (
    (Geom, "bytea"), (JSON, "text"), (Boolean, "bool"), (Integer, "int4"),
    (Float, "float8"), (DateTime, "timestamptz"), (Date, "date"), (Text, "text"),
    (String, "text"),
)


def _pg_type(table: Table, column: str) -> str:
    kind = table.c[column].type
    for python_type, name in _PG_COPY_TYPES:
        if isinstance(kind, python_type):
            return name
    raise TypeError(f"{table.name}.{column}: no COPY type for {kind!r}")


def geometry_values(dialect: str, geoms: np.ndarray, srid: int) -> list[bytes | None]:
    """WKB of many geometries for :func:`insert_rows`, in one vectorised call.

    PostGIS reads EWKB carrying the geometry's own SRID, else ``srid`` (what
    :class:`~demine.store.schema.Geom` binds); SQLite stores plain WKB (what ``Geom``
    writes there). When no geometry has an SRID of its own (a batch just read or
    projected) the EWKB is the little-endian WKB with the SRID spliced into its
    header, which spares setting the SRID on a copy of every geometry first.
    """
    if dialect != "postgresql":
        return shapely.to_wkb(geoms).tolist()
    own = shapely.get_srid(geoms)
    if np.any(own > 0):
        tagged = shapely.set_srid(geoms, np.where(own > 0, own, srid))
        return shapely.to_wkb(tagged, include_srid=True).tolist()
    tag = struct.pack("<I", srid)
    return [None if w is None else b"%b%c%b%b" % (w[:4], w[4] | _EWKB_SRID_FLAG, tag, w[5:])
            for w in shapely.to_wkb(geoms, byte_order=1).tolist()]


#: EWKB: the bit of the (little-endian) type word saying an SRID follows it, in its
#: last byte.
_EWKB_SRID_FLAG = 0x20


def one_of(dialect: str, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` for a long list, bound as one value.

    ``IN (...)`` with a bound parameter per value makes a statement per few thousand
    values (the stores' parameter limits) and compiles each; here the list is one
    array (PostgreSQL) or one JSON text read by ``json_each`` (SQLite), so a national
    list of codes or ids is one query.
    """
    values = list(values)
    element = Integer() if isinstance(column.type, Integer) else String()
    if dialect == "postgresql":
        literal = _array_literal(values)
        if literal is not None:  # the server reads it as the driver would send the list
            return column == any_(cast(bindparam(None, literal, type_=Text()),
                                       ARRAY(element)))
        return column == any_(bindparam(None, values, type_=ARRAY(element)))
    listed = text("SELECT value FROM json_each(:values)").bindparams(
        bindparam("values", json.dumps(values), unique=True))
    return column.in_(listed.columns(value=element))


def _array_literal(values: list[Any]) -> str | None:
    """A PostgreSQL array literal of text or whole numbers (``{"a","b \\"c\\""}``), or
    None for other values; made in one join, where the driver adapts each value."""
    if all(type(v) is str for v in values):
        return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                              for v in values) + "}"
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    return None


def reserve_ids(conn: Any, dialect: str, table: Table, count: int) -> list[int]:
    """``count`` new primary keys for ``table``, increasing, for rows about to be written.

    PostgreSQL hands them out from the table's sequence (safe beside other writers);
    SQLite, which one writer holds for the whole transaction (BEGIN IMMEDIATE), gives a
    new row max(id) + 1 anyway, so the ids are the ones it would have chosen.
    """
    if count <= 0:
        return []
    if dialect == "postgresql":
        # Normally nobody else draws from the sequence meanwhile and the ids are one run:
        # the server says so (count distinct values from min to max) instead of sending
        # every id; otherwise it sends them all. The sequence is looked up once.
        low, high, listed = conn.execute(text(
            "SELECT min(id), max(id), CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL "
            "ELSE array_agg(id ORDER BY id) END FROM (SELECT nextval((SELECT "
            "pg_get_serial_sequence(:table, 'id')::regclass)) AS id "
            "FROM generate_series(1, :count)) AS t"
        ), {"table": table.name, "count": count}).one()
        if listed is not None:
            return [int(i) for i in listed]
        return list(range(int(low), int(high) + 1))
    top = conn.execute(sa_select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def insert_rows(conn: Any, dialect: str, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, values as the module doc says).

    ``rows`` may be a generator that computes its rows batch by batch: on PostgreSQL
    the rows already made are sent (by a worker thread) and stored by the server while
    the next ones are computed. It must not use ``conn`` itself.
    """
    raw = conn.connection.driver_connection
    if dialect == "postgresql":
        names = ", ".join(columns)
        # A worker thread sends the rows while this one makes the next ones: the server
        # stores (indexes, checks keys) one batch while ``rows``, when it computes its
        # values as it goes, computes the next.
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)",
                writer=QueuedLibpqWriter(cursor)) as copy:
            copy.set_types([_pg_type(table, c) for c in columns])
            for row in rows:
                copy.write_row(row)
        return
    processors = _sqlite_processors(conn, table, columns)
    if any(p is not None for p in processors):
        rows = (tuple(v if p is None or v is None else p(v)
                      for v, p in zip(row, processors, strict=True)) for row in rows)
    marks = ", ".join("?" for _ in columns)
    raw.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)


def _sqlite_processors(conn: Any, table: Table, columns: Sequence[str]
                       ) -> list[Callable[[Any], Any] | None]:
    """The bind processor of each column whose stored form differs from the Python value
    (dates, times); geometry and JSON come already encoded."""
    out: list[Callable[[Any], Any] | None] = []
    for column in columns:
        kind = table.c[column].type
        if isinstance(kind, Geom | JSON):
            out.append(None)
            continue
        out.append(kind.dialect_impl(conn.dialect).bind_processor(conn.dialect))
    return out
