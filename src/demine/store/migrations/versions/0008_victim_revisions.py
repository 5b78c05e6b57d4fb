"""Accident revisions: victims keep their history, and entry kinds get longer names.

An ``accident_revision`` entry replaces an accident's list of victims. The victims it
replaces are not deleted (a reversal of the revising report gives them back): each
victim now names the report that recorded it (``report_id``), whether it still stands
(``void``) and the report whose revision replaced it (``voided_by_report_id``). Victims
recorded before this revision stand, with no report. ``report_entries.kind`` grows from
16 to 24 characters for the new kind's name.

The baseline builds tables from the current schema.py, so a fresh database already has
the columns; the revision looks before it adds. On SQLite the tables are rebuilt in
batch mode (SQLite cannot add a foreign key or change a column's type in place); on
PostgreSQL the columns are added and the type widened in place.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_KIND_LENGTH = 24


def _new_columns(sqlite: bool) -> list[sa.Column]:
    """The victims' new columns; SQLite's batch rebuild needs the foreign keys named
    (PostgreSQL names them as it does for a fresh database's)."""
    def reports(column: str) -> sa.ForeignKey:
        return sa.ForeignKey("reports.id", name=f"fk_victims_{column}" if sqlite else None)
    return [
        sa.Column("report_id", sa.Integer, reports("report_id")),
        sa.Column("void", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("voided_by_report_id", sa.Integer, reports("voided_by_report_id")),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    sqlite = bind.dialect.name == "sqlite"
    present = {c["name"] for c in inspector.get_columns("victims")}
    missing = [c for c in _new_columns(sqlite) if c.name not in present]
    if missing:
        if sqlite:
            with op.batch_alter_table("victims", recreate="always") as batch:
                for column in missing:
                    batch.add_column(column)
        else:
            for column in missing:
                op.add_column("victims", column)
            if any(c.name == "void" for c in missing):  # schema.py has no server default
                op.alter_column("victims", "void", server_default=None)
    kind = next(c for c in inspector.get_columns("report_entries") if c["name"] == "kind")
    if (getattr(kind["type"], "length", None) or _KIND_LENGTH) < _KIND_LENGTH:
        if sqlite:
            with op.batch_alter_table("report_entries") as batch:
                batch.alter_column("kind", type_=sa.String(_KIND_LENGTH),
                                   existing_type=kind["type"], existing_nullable=False)
        else:
            op.alter_column("report_entries", "kind", type_=sa.String(_KIND_LENGTH),
                            existing_type=kind["type"], existing_nullable=False)


def downgrade() -> None:
    """Back to one list of victims per accident: the replaced (void) victims are deleted,
    and entry kinds longer than 16 characters must be gone first (PostgreSQL refuses)."""
    bind = op.get_bind()
    op.execute(sa.text("DELETE FROM victims WHERE void = :yes").bindparams(yes=True))
    names = ("report_id", "void", "voided_by_report_id")
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("victims", recreate="always") as batch:
            for name in names:
                batch.drop_column(name)
        with op.batch_alter_table("report_entries") as batch:
            batch.alter_column("kind", type_=sa.String(16), existing_type=sa.String(24),
                               existing_nullable=False)
    else:
        for name in names:
            op.drop_column("victims", name)
        op.alter_column("report_entries", "kind", type_=sa.String(16),
                        existing_type=sa.String(24), existing_nullable=False)
