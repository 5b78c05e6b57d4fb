"""An index on settlement status: the national refresh reads the closed ones.

Without it, "which settlements are closed now" scans every settlement row with its
geometries; with it, the answer comes from the index alone.

The baseline (0001) builds tables from the current schema.py, so a database created
fresh already has the index; ``if_not_exists`` keeps this revision harmless there and
adds the index to databases created at 0001.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_settlements_status", "settlements", ["status"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_settlements_status", table_name="settlements", if_exists=True)
