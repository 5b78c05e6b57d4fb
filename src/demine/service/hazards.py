"""Rebuilding a hazard area's summary from what the approved reports say about it.

A hazard's areas, remainder, status and classification are never edited by hand:
they are refolded from its polygon, its evidence, its findings and its outcome
polygons (in date-of-information order) whenever an approved report touches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from sqlalchemy import select

from demine.domain import landrelease
from demine.domain.entities import EvidenceItem
from demine.domain.errors import RuleViolation
from demine.domain.vocab import (
    ActivityStatus,
    EOCategory,
    EvidenceKind,
    EvidenceType,
    HazardClass,
    HazardStatus,
    ReleaseMethod,
)
from demine.store import schema as s
from demine.store.repository import UnitOfWork

_WORK_STARTED = (ActivityStatus.IN_PROGRESS, ActivityStatus.SUSPENDED, ActivityStatus.COMPLETED)


@dataclass(frozen=True)
class HazardChange:
    code: str
    status_before: str | None
    status_after: str
    remaining_before_m2: float | None
    remaining_after_m2: float


def hazard_values(uow: UnitOfWork, hazard) -> dict:
    """Column values of a newly recorded hazard, before any outcome is folded in."""
    metric = uow.metric(hazard.polygon)
    area = uow.settings().frame.area_m2(hazard.polygon)
    return {
        "code": hazard.code, "name": hazard.name,
        "classification": hazard.classification.value,
        "declared_classification": hazard.classification.value,
        "eo_suspected": [e.value for e in hazard.eo_suspected],
        "eo_confirmed": [], "blockages": [b.value for b in hazard.blockages],
        "geom": hazard.polygon, "remaining": hazard.polygon, "remaining_m": metric,
        "original_m2": area, "cancelled_m2": 0.0, "reduced_m2": 0.0, "cleared_m2": 0.0,
        "remaining_m2": area, "status": "open", "synthetic": hazard.synthetic,
    }


def _blame_current_report(uow: UnitOfWork, exc: RuleViolation,
                          report_id: int | None) -> RuleViolation:
    """Name the report being approved, even when the fold trips on an earlier outcome.

    Outcomes fold in date-of-information order, so a late report of older work is
    folded *before* newer, already approved work; the conflict is still the late
    report's to fix.
    """
    if report_id is None:
        return exc
    code = uow.row(s.reports, id=report_id)["code"]
    if f"report {code} " in exc.record:
        return exc
    return RuleViolation(f"report {code} outcome", exc.field,
                         f"conflicts with {exc.record}: {exc.problem}")


def rebuild_hazard(uow: UnitOfWork, hazard_id: int, report_id: int | None = None) -> HazardChange:
    """Refold one hazard and store the result (raises RuleViolation on a bad outcome)."""
    settings = uow.settings()
    frame = settings.frame
    hazard = uow.row(s.hazard_areas, id=hazard_id, for_update=True)
    assert hazard is not None
    c = uow.conn
    outcome_rows = c.execute(
        select(s.outcome_polygons.c.method, s.outcome_polygons.c.geom,
               s.outcome_polygons.c.id, s.reports.c.code)
        .join(s.reports, s.reports.c.id == s.outcome_polygons.c.report_id, isouter=True)
        .where(s.outcome_polygons.c.hazard_id == hazard_id, s.outcome_polygons.c.void.is_(False))
        .order_by(s.outcome_polygons.c.info_date, s.reports.c.approval_seq,
                  s.outcome_polygons.c.id)
    ).all()
    outcomes = [
        (ReleaseMethod(m), frame.to_metric_exact(g), f"report {code or '?'} outcome {oid}")
        for m, g, oid, code in outcome_rows
    ]
    try:
        accounting = landrelease.account(frame.to_metric_exact(hazard["geom"]), outcomes,
                                         settings.rules, hazard_code=hazard["code"])
    except RuleViolation as exc:
        raise _blame_current_report(uow, exc, report_id) from exc
    evidence = [
        EvidenceItem(EvidenceKind(k), EvidenceType(t))
        for k, t in c.execute(
            select(s.evidence_items.c.kind, s.evidence_items.c.type).where(
                s.evidence_items.c.hazard_id == hazard_id, s.evidence_items.c.void.is_(False)))
    ]
    found = sorted({
        r[0] for r in c.execute(
            select(s.findings.c.eo_category)
            .join(s.activities, s.activities.c.id == s.findings.c.activity_id)
            .where(s.activities.c.hazard_id == hazard_id, s.findings.c.void.is_(False)))
    }, key=lambda v: list(EOCategory).index(EOCategory(v)))
    statuses = {r[0] for r in c.execute(
        select(s.activities.c.status).where(s.activities.c.hazard_id == hazard_id))}
    work_started = any(st in statuses for st in _WORK_STARTED)
    status = landrelease.status(accounting, work_started, settings.rules)
    remaining_metric = accounting.remaining_metric
    remaining = None
    if remaining_metric is not None and not remaining_metric.is_empty:
        remaining = frame.to_wgs84(remaining_metric)
    values = {
        "classification": landrelease.classification(
            HazardClass(hazard["declared_classification"]), evidence, bool(found)).value,
        "eo_confirmed": found,
        "cancelled_m2": accounting.cancelled_m2, "reduced_m2": accounting.reduced_m2,
        "cleared_m2": accounting.cleared_m2, "remaining_m2": accounting.remaining_m2,
        "original_m2": accounting.original_m2,
        "remaining": remaining,
        "remaining_m": shapely.set_srid(remaining_metric, frame.epsg)
        if remaining is not None else None,
        "status": status.value,
    }
    uow.update(s.hazard_areas, hazard_id, values, action="rebuild", report_id=report_id)
    # The remainder's index holds only hazards that can close a settlement (see
    # SqliteSpatial.closure_pairs): a released hazard's sliver of remainder stays on the
    # record but leaves the index.
    closing = None if status is HazardStatus.RELEASED else values["remaining_m"]
    uow.spatial.index(uow.conn, "hazard_areas", "remaining_m", [(hazard_id, closing)])
    return HazardChange(hazard["code"], hazard["status"], status.value,
                        hazard["remaining_m2"], accounting.remaining_m2)
