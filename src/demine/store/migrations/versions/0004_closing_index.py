"""The remainder's R*Tree holds only hazards that can close a settlement.

Since this revision the SQLite settlement refresh lets the R*Tree boxes accept pairs
without reading the hazard row, so a released hazard's sliver of remainder must not be
in the index. Databases written before kept every remainder there; this drops the
released ones. PostGIS filters on status in SQL and needs nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DELETE FROM rtree_hazard_areas_remaining_m WHERE id IN "
                   "(SELECT id FROM hazard_areas WHERE status = 'released')")


def downgrade() -> None:
    """Nothing to undo: released hazards close nothing, indexed or not."""
