"""Fixtures of the workflow tests: a migrated store on each backend and a small world."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from demine_world import World

from demine.store import Repository


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    repository = Repository.open(db_url)
    yield repository
    repository.close()


@pytest.fixture
def world(repo: Repository) -> World:
    return World(repo).setup()
