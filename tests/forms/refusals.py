"""Refusals of a field-form export: every problem named, and the store left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from demine_world import OPERATOR, World

from demine.domain.errors import ValidationError
from demine.forms.ingest import IngestRefused, ingest_file


def refused(world: World, path: Path) -> list[ValidationError]:
    """The problems an ingest of ``path`` is refused with; fails if it stored anything."""
    before = world.snapshot()
    with pytest.raises((ValidationError, IngestRefused)) as raised:
        ingest_file(world.repo, path, author="im.dana", organisation_code=OPERATOR)
    assert world.snapshot() == before, "a refused export changed the store"
    error = raised.value
    return error.problems if isinstance(error, IngestRefused) else [error]
