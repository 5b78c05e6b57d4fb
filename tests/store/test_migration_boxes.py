"""Revision 0006: a SQLite store written before approvals indexed findings, accidents
and outcome polygons gets their R*Tree boxes, so bbox queries find them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from demine.scenario.district import load_demo
from demine.store import Repository, migrate


def test_upgrade_fills_the_missing_boxes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    repo = Repository.open(f"sqlite:///{path}")
    load_demo(repo, seed=7)
    repo.close()
    raw = sqlite3.connect(path)
    tables = ("findings", "accidents", "outcome_polygons")
    counts = {t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    assert all(counts.values())
    for t in tables:  # what a store written before revision 0006 looked like
        raw.execute(f"DELETE FROM rtree_{t}_geom")
    raw.execute("UPDATE alembic_version SET version_num = '0005'")
    raw.commit()
    repo = Repository.open(f"sqlite:///{path}")
    assert migrate.current_revision(repo.engine) == migrate.head_revision()
    repo.close()
    for t in tables:
        boxes = raw.execute(f"SELECT count(*) FROM rtree_{t}_geom").fetchone()[0]
        assert boxes == counts[t], t
    raw.close()
