"""Fill the R*Trees of findings, accidents and outcome polygons on SQLite.

Approval did not index these three geometries before this revision (hazards and
settlements were), so bbox queries of the server would have missed them. Approval now
indexes them as it inserts; this fills the boxes of rows written earlier. PostGIS keeps
its GiST indexes itself and needs nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import shapely
from alembic import op

from demine.store.spatial import rtree_name

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLES = ("findings", "accidents", "outcome_polygons")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table in _TABLES:
        rows = bind.exec_driver_sql(f"SELECT id, geom FROM {table}").all()
        boxes = [(row_id, *_box(wkb)) for row_id, wkb in rows if wkb is not None]
        if boxes:
            bind.exec_driver_sql(
                f"INSERT OR REPLACE INTO {rtree_name(table, 'geom')} VALUES (?, ?, ?, ?, ?)",
                boxes)


def _box(wkb: bytes) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = shapely.from_wkb(wkb).bounds
    return minx, maxx, miny, maxy


def downgrade() -> None:
    """Nothing to undo: the boxes are an index."""
