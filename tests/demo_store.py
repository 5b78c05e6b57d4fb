"""The demo district in a fresh SQLite store, for tests that only read it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demine.scenario.district import load_demo
from demine.store import Repository


def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    """Yield the loaded store and close it after; a module-scoped fixture yields from it
    (loading the district takes seconds, so a module shares one)."""
    repo = Repository.open(str(tmp_path_factory.mktemp("demo") / "demo.sqlite"))
    load_demo(repo)
    yield repo
    repo.close()
