"""Baseline: the record's tables and their spatial indexes.

The baseline builds the tables from ``demine.store.schema`` as it stood at this
revision. Any later change to schema.py must come with its own revision (op.add_column
and friends); tests/store/test_migrations.py fails when the migrated database and
schema.py drift apart.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

from demine.store.schema import SPATIAL_INDEXES, metadata
from demine.store.spatial import rtree_name

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    metadata.create_all(bind)
    for table, columns in SPATIAL_INDEXES.items():
        for column in columns:
            if bind.dialect.name == "postgresql":
                op.execute(
                    f"CREATE INDEX ix_{table}_{column}_gist ON {table} USING GIST ({column})"
                )
            else:
                op.execute(
                    f"CREATE VIRTUAL TABLE {rtree_name(table, column)} "
                    "USING rtree(id, minx, maxx, miny, maxy)"
                )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table, columns in SPATIAL_INDEXES.items():
            for column in columns:
                op.execute(f"DROP TABLE IF EXISTS {rtree_name(table, column)}")
    metadata.drop_all(bind)
