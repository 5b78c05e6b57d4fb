"""Versions refuse lost updates; every write is audited with who, what and before/after."""

from __future__ import annotations

from datetime import date

import pytest
from demine_world import World
from shapely.geometry import Point, box

from demine.domain.errors import DemineError, NotFound, StaleVersion, ValidationError
from demine.service import reference


def edit(world: World, code: str, version: int, author: str = "im.dave", **changes) -> int:
    with world.repo.unit(author, "reference edit") as uow:
        return reference.update_settlement(uow, code, version, changes)


def test_stale_version_is_refused_and_changes_nothing(world: World):
    world.settlement("S-1", Point(0.0, 0.0), population=120)
    v1 = world.settlement_row("S-1")["version"]
    v2 = edit(world, "S-1", v1, population=150)
    assert v2 == v1 + 1
    before = world.snapshot()
    with pytest.raises(StaleVersion) as info:
        edit(world, "S-1", v1, author="im.erin", name="Old name wins?")
    err = info.value
    assert (err.entity, err.code, err.expected, err.actual) == ("settlement", "S-1", v1, v2)
    assert "S-1" in str(err) and "version" in str(err)
    assert world.snapshot() == before
    row = world.settlement_row("S-1")
    assert (row["name"], row["population"], row["version"]) == ("Village S-1", 150, v2)


def test_a_status_change_by_approval_makes_an_old_edit_stale(world: World):
    world.settlement("S-1", Point(0.0, 300.0))
    seen = world.settlement_row("S-1")["version"]
    world.file(date(2026, 1, 5), [world.hazard_entry("HA-1", box(0.0, 0.0, 100.0, 100.0))])
    assert world.settlement_row("S-1")["status"] == "closed"
    with pytest.raises(StaleVersion):
        edit(world, "S-1", seen, population=7)
    fresh = world.settlement_row("S-1")["version"]
    edit(world, "S-1", fresh, population=7)
    assert world.settlement_row("S-1")["population"] == 7

    # moving a settlement recomputes its status
    world.settlement("S-2", Point(0.0, 700.0))
    assert world.settlement_row("S-2")["status"] == "open"
    v = world.settlement_row("S-2")["version"]
    edit(world, "S-2", v, point=world.wgs(Point(0.0, 550.0)))
    assert world.settlement_row("S-2")["status"] == "closed"
    assert world.blockers("S-2") == {"HA-1"}


def test_reference_edit_is_audited_with_before_and_after(world: World):
    world.settlement("S-1", Point(0.0, 0.0), population=120)
    v1 = world.settlement_row("S-1")["version"]
    edit(world, "S-1", v1, author="im.dave", population=150, name="Upper Village")
    audit = world.audit("settlement", "S-1")
    assert [a["action"] for a in audit] == ["create", "update"]
    create, update = audit
    assert create["author"] == "im.alice"
    assert create["before"] is None and create["after"]["population"] == 120
    assert update["author"] == "im.dave"
    assert update["version"] == v1 + 1
    assert (update["before"]["population"], update["after"]["population"]) == (120, 150)
    assert (update["before"]["name"], update["after"]["name"]) == ("Village S-1", "Upper Village")
    assert update["at"] is not None and update["reason"]


def test_bad_reference_edits_name_the_field(world: World):
    world.settlement("S-1", Point(0.0, 0.0), population=100)
    v = world.settlement_row("S-1")["version"]
    before = world.snapshot()
    for changes, field in (({"population": -3}, "population"),
                           ({"status": "open"}, "status"),
                           ({"footprint": "POLYGON ((9 45, 9.001 45.001, 9.001 45, "
                                          "9 45.001, 9 45))"}, "footprint")):
        with pytest.raises(ValidationError) as info:
            edit(world, "S-1", v, **changes)
        assert info.value.field == field
        assert "S-1" in info.value.record
    with pytest.raises(NotFound):
        edit(world, "S-404", 1, population=3)
    with pytest.raises(DemineError), world.repo.unit("  ", "anonymous"):
        pass
    with pytest.raises(ValidationError) as info:
        world.settlement("S-1", Point(10.0, 0.0))
    assert info.value.field == "code"
    assert world.snapshot() == before

    # an edit that changes nothing spends no version and writes no audit row
    assert edit(world, "S-1", v, population=100) == v
    assert world.snapshot() == before
