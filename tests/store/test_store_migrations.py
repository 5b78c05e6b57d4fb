"""Alembic builds the schema on both backends, and the built schema is schema.py's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import shapely
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

from demine.domain.errors import DemineError
from demine.store import Repository, migrate
from demine.store import schema as s
from demine.store.spatial import rtree_name


def _heads() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    return list(ScriptDirectory.from_config(config).get_heads())


def test_open_creates_the_schema_through_alembic(db_url: str):
    engine = create_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None
        assert not set(s.metadata.tables) & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    repo = Repository.open(db_url)
    try:
        heads = _heads()
        assert len(heads) == 1, f"migrations have several heads: {heads}"
        assert migrate.head_revision() == heads[0]
        assert migrate.current_revision(repo.engine) == heads[0]
        with repo.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() \
                == heads[0:1]
        tables = set(inspect(repo.engine).get_table_names())
        assert set(s.metadata.tables) <= tables
        if repo.dialect == "sqlite":
            for table, columns in s.SPATIAL_INDEXES.items():
                for column in columns:
                    assert rtree_name(table, column) in tables
        else:
            indexes = {ix["name"] for t in s.SPATIAL_INDEXES
                       for ix in inspect(repo.engine).get_indexes(t)}
            for table, columns in s.SPATIAL_INDEXES.items():
                for column in columns:
                    assert f"ix_{table}_{column}_gist" in indexes
    finally:
        repo.close()


def test_open_again_is_harmless_and_open_without_create_checks_the_revision(db_url: str):
    with pytest.raises(DemineError, match=r"current revision|does not exist"):
        Repository.open(db_url, create=False)
    first = Repository.open(db_url)
    with first.unit("im.alice", "a setting") as uow:
        uow.set_setting("name", "test programme")
    first.close()
    again = Repository.open(db_url)
    assert again.settings().name == "test programme"
    again.close()
    existing = Repository.open(db_url, create=False)
    assert migrate.current_revision(existing.engine) == migrate.head_revision()
    existing.close()


def _ignorable(diff, dialect: str) -> bool:
    """Differences that belong to the spatial machinery, not to schema.py."""
    op = diff[0]
    if op == "remove_table":
        name = diff[1].name
        return name.startswith("rtree_") if dialect == "sqlite" else name in (
            "spatial_ref_sys", "topology", "layer")
    if op == "remove_index" and dialect == "postgresql":
        index = diff[1]
        return index.name.endswith("_gist") and index.name.startswith("ix_")
    return False


def test_migrated_schema_matches_schema_py(repo: Repository):
    with repo.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, s.metadata)
    flat = []
    for diff in diffs:
        flat.extend(diff if isinstance(diff, list) else [diff])
    remaining = [d for d in flat if not _ignorable(d, repo.dialect)]
    assert remaining == [], "schema.py and the migrations disagree:\n" + "\n".join(
        repr(d)[:300] for d in remaining)


def _to(engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_revision_0008_keeps_a_0007_stores_victims_standing(db_url: str):
    """A store written at 0007 (victims without history, 16-character entry kinds) gets
    the victims' report, void and voided-by columns, its victims standing, and room for
    ``accident_revision`` entries; the result is schema.py's."""
    repo = Repository.open(db_url)
    try:
        _to(repo.engine, "0007", down=True)
        columns = {c["name"] for c in inspect(repo.engine).get_columns("victims")}
        assert not columns & {"report_id", "void", "voided_by_report_id"}
        with repo.engine.begin() as conn:
            conn.execute(s.accidents.insert().values(
                code="ACC-1", accident_date=date(2026, 5, 1), geom=shapely.Point(171.6, -43.6),
                type="mine_erw", device_category="uxo", narrative="", void=False,
                synthetic=False, version=1, created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC)))
            conn.execute(text(  # the 0007 table: not schema.py's
                "INSERT INTO victims (accident_id, outcome, role, sex, activity_at_time) "
                "SELECT id, 'injured', 'civilian', 'unknown', '' FROM accidents"))
        _to(repo.engine, "head")
        assert migrate.current_revision(repo.engine) == migrate.head_revision() == "0008"
        with repo.engine.connect() as conn:
            rows = conn.execute(select(s.victims)).mappings().all()
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, s.metadata)
        assert [(r["outcome"], r["void"], r["report_id"], r["voided_by_report_id"])
                for r in rows] == [("injured", False, None, None)]
        kind = next(c for c in inspect(repo.engine).get_columns("report_entries")
                    if c["name"] == "kind")
        assert kind["type"].length == 24
        flat = []
        for diff in diffs:
            flat.extend(diff if isinstance(diff, list) else [diff])
        assert [d for d in flat if not _ignorable(d, repo.dialect)] == []
    finally:
        repo.close()

