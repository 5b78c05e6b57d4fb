"""Alembic builds the schema on both backends, and the built schema is schema.py's."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

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
