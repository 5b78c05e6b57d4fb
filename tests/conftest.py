"""Shared fixtures: every store test runs on SQLite and on a real PostGIS server.

The PostGIS server is a throwaway cluster started once per session (see
``pg_cluster.py``); each test gets its own empty database on it so tests cannot
see each other's rows. Nothing here imports ``demine``: the fixtures only hand
out database URLs.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every run, so a red build is reproducible.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# pytest's default "prepend" import mode already puts tests/ on sys.path for this
# conftest; do it explicitly so pg_cluster stays importable under other modes.
_TESTS_DIR = str(Path(__file__).resolve().parent)
# the small metric world of the store, workflow and service tests
_WORLD_DIR = str(Path(__file__).resolve().parent / "workflow")
for _path in (_TESTS_DIR, _WORLD_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from demine_world import World  # noqa: E402

from demine.store import Repository  # noqa: E402
from pg_cluster import ThrowawayPostgis  # noqa: E402


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[ThrowawayPostgis]:
    """One throwaway PostgreSQL + PostGIS cluster for the whole session.

    Starting a cluster takes seconds, so it is shared; isolation comes from a
    fresh database per test (see ``db_url``). It is stopped and deleted at the
    end of the session even when tests fail.
    """
    with ThrowawayPostgis() as server:
        yield server


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgis", id="postgis", marks=pytest.mark.postgis),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database, once per backend.

    The PostGIS server is requested lazily so that ``-m "not postgis"`` or
    ``-k sqlite`` runs never start a cluster.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/demine.sqlite"
        return
    server: ThrowawayPostgis = request.getfixturevalue("postgis_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    """A migrated, empty store on each backend."""
    repository = Repository.open(db_url)
    yield repository
    repository.close()


@pytest.fixture
def world(repo: Repository) -> World:
    """The small metric world (an authority and an operator) on that store."""
    return World(repo).setup()
