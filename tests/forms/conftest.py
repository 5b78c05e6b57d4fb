"""What the field-form ingest tests share: a hazard being worked on."""

from __future__ import annotations

from datetime import date

import pytest
from demine_world import World
from shapely.geometry import box


@pytest.fixture
def hazard_world(world: World) -> World:
    """HA-1 (400 x 200 m at 9°E 45°N) on the record, and clearance ACT-1 working it."""
    world.file(date(2026, 11, 1), [world.hazard_entry("HA-1", box(0, 0, 400, 200))])
    world.file(date(2026, 11, 2), [world.activity_entry("ACT-1", "HA-1", type="clearance",
                                                        status="in_progress")])
    return world
