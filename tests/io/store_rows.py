"""A store's rows as plain values, to prove an import changed nothing (or only this)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, select

from demine.store import Repository


def snapshot(repo: Repository, tables: Iterable[Table]) -> dict[str, list]:
    """Every row of ``tables`` (geometry as WKB text), ordered by id, for equality."""
    out: dict[str, list] = {}
    with repo.reader() as uow:
        for table in tables:
            rows = uow.conn.execute(select(table).order_by(table.c.id)).mappings().all()
            out[table.name] = [{k: (v.wkb_hex if hasattr(v, "wkb_hex") else str(v))
                                for k, v in r.items()} for r in rows]
    return out
