"""Reports move draft -> submitted -> approved | rejected, and nothing else."""

from __future__ import annotations

from datetime import date

import pytest
from demine_world import World
from shapely.geometry import box

from demine.domain.errors import NotFound, StaleVersion, ValidationError, WorkflowError
from demine.service import reports
from demine.store import schema as s

DAY = date(2026, 1, 15)


def hazard_report(world: World, code: str = "HA-1") -> str:
    return world.draft(DAY, [world.hazard_entry(code, box(0, 0, 200, 100))])


def test_draft_submit_approve(world: World):
    code = hazard_report(world)
    assert world.report(code)["status"] == "draft"
    with world.repo.reader() as uow:
        assert uow.row(s.hazard_areas, code="HA-1") is None
    reports.submit(world.repo, code, "op.bob")
    rep = world.report(code)
    assert rep["status"] == "submitted"
    assert rep["submitted_at"] is not None
    with world.repo.reader() as uow:
        assert uow.row(s.hazard_areas, code="HA-1") is None  # only approval applies
    result = reports.approve(world.repo, code, "im.carol")
    assert result.report_code == code
    rep = world.report(code)
    assert rep["status"] == "approved"
    assert rep["decided_by"] == "im.carol"
    assert rep["decided_at"] is not None
    assert world.hazard("HA-1")["status"] == "open"
    actions = [(a["action"], a["author"]) for a in world.audit("report", code)]
    assert actions == [("create", "op.bob"), ("submit", "op.bob"), ("approve", "im.carol")]


def test_rejection_needs_a_reason_and_applies_nothing(world: World):
    code = hazard_report(world)
    reports.submit(world.repo, code, "op.bob")
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as info:
            reports.reject(world.repo, code, "im.carol", reason)
        assert info.value.field == "reason"
        assert code in info.value.record
        assert world.report(code)["status"] == "submitted"
    reports.reject(world.repo, code, "im.carol", "polygon drawn on the wrong field")
    rep = world.report(code)
    assert rep["status"] == "rejected"
    assert rep["decision_reason"] == "polygon drawn on the wrong field"
    assert rep["decided_by"] == "im.carol"
    with world.repo.reader() as uow:
        assert uow.row(s.hazard_areas, code="HA-1") is None
    audit = world.audit("report", code)
    assert audit[-1]["action"] == "reject"
    assert audit[-1]["before"]["status"] == "submitted"
    assert audit[-1]["after"]["status"] == "rejected"


WRONG_STEPS = {
    (): ("approve", "reject"),
    ("submit",): ("submit",),
    ("submit", "approve"): ("submit", "approve", "reject"),
    ("submit", "reject"): ("submit", "approve", "reject"),
}


def test_wrong_transitions_raise_workflow_error(world: World):
    for n, (path, wrong_steps) in enumerate(WRONG_STEPS.items()):
        code = hazard_report(world, f"HA-{n}")
        do = {
            "submit": lambda code=code: reports.submit(world.repo, code, "op.bob"),
            "approve": lambda code=code: reports.approve(world.repo, code, "im.carol"),
            "reject": lambda code=code: reports.reject(world.repo, code, "im.carol", "no"),
        }
        for earlier in path:
            do[earlier]()
        status = world.report(code)["status"]
        for step in wrong_steps:
            before = world.snapshot()
            with pytest.raises(WorkflowError) as info:
                do[step]()
            assert code in str(info.value), (path, step)
            assert world.report(code)["status"] == status, (path, step)
            assert world.snapshot() == before, (path, step)


def test_approval_with_a_stale_report_version_is_refused(world: World):
    code = hazard_report(world)
    version = world.report(code)["version"]
    reports.submit(world.repo, code, "op.bob", expected_version=version)
    with pytest.raises(StaleVersion):
        reports.approve(world.repo, code, "im.carol", expected_version=version)
    assert world.report(code)["status"] == "submitted"
    reports.approve(world.repo, code, "im.carol", expected_version=version + 1)


def test_bad_drafts_are_not_stored(world: World):
    before = world.snapshot()
    with pytest.raises(ValidationError) as info:
        world.draft(DAY, [world.hazard_entry("HA-1", box(0, 0, 200, 100)),
                          world.hazard_entry("HA-2", box(0, 300, 200, 400),
                                             classification="XHA")], code="RPT-BAD")
    assert info.value.record == "report RPT-BAD entry 2"
    assert info.value.field == "classification"
    assert world.snapshot() == before

    with pytest.raises(ValidationError) as info:
        world.draft(DAY, [])
    assert info.value.field == "entries"
    with pytest.raises(NotFound, match="NOBODY"):
        reports.create_draft(world.repo, author="op.bob", organisation_code="NOBODY",
                             info_date=DAY, entries=[world.hazard_entry("HA-1", box(0, 0, 9, 9))])
    assert world.snapshot() == before

    kept = world.draft(DAY, [world.hazard_entry("HA-1", box(0, 0, 9, 9))], code="RPT-X")
    with pytest.raises(ValidationError) as info:
        world.draft(DAY, [world.hazard_entry("HA-2", box(0, 0, 9, 9))], code=kept)
    assert info.value.field == "code"


def test_report_codes_with_stray_spaces_are_refused(world: World):
    for code in (" RPT-7", "RPT-7 ", "RPT  7"):
        before = world.snapshot()
        with pytest.raises(ValidationError) as info:
            world.draft(DAY, [world.hazard_entry("HA-1", box(0, 0, 200, 100))], code=code)
        assert info.value.field == "code", code
        assert world.snapshot() == before, code
