"""A store's rows as plain values, to prove an import changed nothing (or only this), a
record's audit trail, and the reversal of a report."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Table, select

from demine.service import reports
from demine.store import Repository
from demine.store import schema as s


def snapshot(repo: Repository, tables: Iterable[Table]) -> dict[str, list]:
    """Every row of ``tables`` (geometry as WKB text), ordered by id, for equality."""
    out: dict[str, list] = {}
    with repo.reader() as uow:
        for table in tables:
            rows = uow.conn.execute(select(table).order_by(table.c.id)).mappings().all()
            out[table.name] = [{k: (v.wkb_hex if hasattr(v, "wkb_hex") else str(v))
                                for k, v in r.items()} for r in rows]
    return out


def audit_of(repo: Repository, entity: str, code: str) -> list[dict]:
    """The audit rows of one record (``entity`` as the audit names it), oldest first."""
    a = s.audit_log
    with repo.reader() as uow:
        return [dict(r) for r in uow.conn.execute(
            select(a).where(a.c.entity == entity, a.c.entity_code == code)
            .order_by(a.c.id)).mappings()]


def reverse_report(repo: Repository, code: str) -> None:
    """Reverse report ``code`` by a report of the centre (MAC), approved at once."""
    drafted = reports.create_draft(
        repo, author="im", organisation_code="MAC", info_date=date(2026, 10, 1),
        entries=[("reversal", {"report_code": code, "reason": "wrong file"})])
    reports.submit(repo, drafted, "im")
    reports.approve(repo, drafted, "im")
