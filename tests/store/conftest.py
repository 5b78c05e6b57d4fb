"""Fixtures of the store tests; the synthetic world lives beside the workflow tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_WORKFLOW = str(Path(__file__).resolve().parents[1] / "workflow")
if _WORKFLOW not in sys.path:
    sys.path.insert(0, _WORKFLOW)

from demine_world import World  # noqa: E402

from demine.store import Repository  # noqa: E402


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    repository = Repository.open(db_url)
    yield repository
    repository.close()


@pytest.fixture
def world(repo: Repository) -> World:
    return World(repo).setup()
