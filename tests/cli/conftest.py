"""One demo district per test module: loading it takes seconds, reading it is free."""

from __future__ import annotations

import pytest

from demine_cli import run


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    run("demo", db=str(path))
    return str(path)
