"""Post-clearance inspections, and the outcomes a failed one voided.

A failed inspection re-opens the land its lot covered: the inspected activity's cleared
outcomes are voided and point at the inspection, so that reversing the inspection's
report can give exactly those outcomes back.

The baseline builds tables from the current schema.py, so a fresh database already has
both; the revision looks before it adds, so it is harmless there. On SQLite, a database
upgraded from 0002 gets the new column without its foreign-key constraint (SQLite
cannot add one to an existing table); the application sets it only to real ids.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("qc_inspections"):
        _create_qc_inspections()
    columns = {c["name"] for c in inspector.get_columns("outcome_polygons")}
    if "voided_by_qc_id" not in columns:
        op.add_column("outcome_polygons", sa.Column("voided_by_qc_id", sa.Integer))


def _create_qc_inspections() -> None:
    op.create_table(
        "qc_inspections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("activity_id", sa.Integer, sa.ForeignKey("activities.id"), nullable=False),
        sa.Column("inspected_activity_id", sa.Integer, sa.ForeignKey("activities.id"),
                  nullable=False),
        sa.Column("hazard_id", sa.Integer, sa.ForeignKey("hazard_areas.id"), nullable=False),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id")),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("lot_units", sa.Integer, nullable=False),
        sa.Column("sample_units", sa.Integer, nullable=False),
        sa.Column("unit_m2", sa.Float, nullable=False),
        sa.Column("accept_number", sa.Integer, nullable=False),
        sa.Column("defects", sa.Integer, nullable=False),
        sa.Column("result", sa.String(4), nullable=False),
        sa.Column("lot_m2", sa.Float, nullable=False),
        sa.Column("inspected_m2", sa.Float, nullable=False),
        sa.Column("info_date", sa.Date, nullable=False),
        sa.Column("void", sa.Boolean, nullable=False),
    )
    op.create_index("ix_qc_inspections_hazard", "qc_inspections", ["hazard_id"])


def downgrade() -> None:
    op.drop_column("outcome_polygons", "voided_by_qc_id")
    op.drop_index("ix_qc_inspections_hazard", table_name="qc_inspections")
    op.drop_table("qc_inspections")
