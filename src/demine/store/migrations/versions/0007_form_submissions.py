"""Field-form submissions already ingested, by instance uuid (issue 3, field forms).

``demine forms ingest`` records the ODK/KoBo instance uuid of every submission it turns
into a draft report, so that ingesting the same export again creates nothing. The
baseline builds tables from the current schema.py, so a fresh database already has the
table; the revision looks before it adds.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("form_submissions"):
        return
    op.create_table(
        "form_submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_uuid", sa.String(64), nullable=False, unique=True),
        sa.Column("form_id", sa.String(64), nullable=False),
        sa.Column("form_version", sa.String(32)),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_by", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("form_submissions")
