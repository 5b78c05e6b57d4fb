"""Reports and their approval: the only way operational changes enter the record.

draft -> submitted -> approved | rejected. Only approval applies a report, inside one
transaction with everything it changes, so an approval that breaks a rule leaves both
the report (still submitted) and the record exactly as they were. An approved report
is never edited; it can be undone only by a later report that reverses it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from json.encoder import encode_basestring_ascii
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select

from demine.domain import landrelease
from demine.domain.changes import (
    AccidentRevision,
    ActivityChange,
    Change,
    HazardRevision,
    NewAccident,
    NewEvidence,
    NewFinding,
    NewHazard,
    Reversal,
    hazard_codes_touched,
    jsonable,
    parse_changes,
)
from demine.domain.entities import HazardArea, QcInspection, Victim
from demine.domain.errors import RuleViolation, ValidationError, WorkflowError
from demine.domain.vocab import (
    ActivityStatus,
    ActivityType,
    Blockage,
    ChangeKind,
    EOCategory,
    EvidenceKind,
    HazardClass,
    HazardStatus,
    QcResult,
    ReleaseMethod,
    ReportStatus,
    parse_enum,
)
from demine.geo.checks import check_code
from demine.service import bulk, status
from demine.service.hazards import HazardChange, hazard_values, rebuild_hazard
from demine.service.reference import ensure_metric_frame
from demine.store import batch
from demine.store import schema as s
from demine.store.repository import Repository, UnitOfWork, row_snapshot


@dataclass
class Entry:
    kind: ChangeKind
    payload: dict[str, Any]


@dataclass
class ApprovalResult:
    report_code: str
    hazards: list[HazardChange] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


def _label(report_code: str, seq: int) -> str:
    return f"report {report_code} entry {seq}"


@dataclass(frozen=True)
class Prepared:
    """An entry its maker has already parsed: the change, and the payload stored for it.

    ``payload`` is the JSON text of the entry as any door would send it; parsed again
    it gives ``change``. See :func:`new_hazard_entries`, the only maker so far.
    """

    kind: ChangeKind
    payload: str
    change: Change


@dataclass(frozen=True)
class Draft:
    """A stored draft and its entries as parsed when it was stored.

    Entries are never changed once stored, so an approval in the same process can take
    them from here instead of reading and parsing the stored JSON again (see
    :func:`approve`).
    """

    code: str
    report_id: int
    entries: tuple[tuple[int, Change], ...]


def new_hazard_entries(hazards: Sequence[HazardArea]) -> list[Prepared]:
    """New-hazard entries for hazards whose polygons have passed the geocheck.

    For a national import: each payload is what :func:`jsonable` would make of the
    entry (code, name, classification, EO suspected, blockages, synthetic, the polygon as
    GeoJSON, evidence when there is any), written as JSON text with the polygons
    encoded in one vectorised call; the change is the hazard itself, as parsing that
    payload gives it. The polygons are not checked again here: the caller's check is the
    one :func:`create_draft` would run (:func:`demine.geo.checks.check_polygons`), and
    approval checks every polygon once more before recording it.
    """
    if not hazards:
        return []
    geometry = shapely.to_geojson(np.asarray([h.polygon for h in hazards], dtype=object))
    text = encode_basestring_ascii  # what json.dumps makes of a str
    middles: dict[tuple, str] = {}  # a national file repeats a few attribute sets
    out = []
    for hz, geojson in zip(hazards, geometry.tolist(), strict=True):
        key = (hz.classification, id(hz.eo_suspected), id(hz.blockages), bool(hz.synthetic))
        middle = middles.get(key)
        if middle is None or hz.evidence:
            rest = {"classification": HazardClass(hz.classification).value,
                    "eo_suspected": [EOCategory(e).value for e in hz.eo_suspected],
                    "blockages": [Blockage(b).value for b in hz.blockages],
                    "synthetic": bool(hz.synthetic)}
            if hz.evidence:
                rest["evidence"] = jsonable([{"kind": e.kind, "type": e.type,
                                              "description": e.description}
                                             for e in hz.evidence])
            middle = json.dumps(rest)[1:-1]
            if not hz.evidence:
                middles[key] = middle
        payload = (f'{{"code": {text(hz.code)}, "name": {text(hz.name)}, {middle}, '
                   f'"geometry": {geojson}}}')
        out.append(Prepared(ChangeKind.NEW_HAZARD, payload, NewHazard(hz)))
    return out


def create_draft(repo: Repository, *, author: str, organisation_code: str, info_date: date,
                 entries: Sequence[Entry | Prepared | tuple[str, dict]], summary: str = "",
                 code: str | None = None, synthetic: bool = False) -> str:
    """Store a draft after checking every entry; returns the report's code."""
    return draft(repo, author=author, organisation_code=organisation_code,
                 info_date=info_date, entries=entries, summary=summary, code=code,
                 synthetic=synthetic).code


def draft(repo: Repository, *, author: str, organisation_code: str, info_date: date,
          entries: Sequence[Entry | Prepared | tuple[str, dict]], summary: str = "",
          code: str | None = None, synthetic: bool = False) -> Draft:
    """:func:`create_draft`, returning the stored draft with its parsed entries."""
    with repo.unit(author, "report drafted") as uow:
        return store_draft(uow, organisation_code=organisation_code, info_date=info_date,
                           entries=entries, summary=summary, code=code, synthetic=synthetic)


def add_draft(uow: UnitOfWork, *, organisation_code: str, info_date: date,
              entries: Sequence[Entry | Prepared | tuple[str, dict]], summary: str = "",
              code: str | None = None, synthetic: bool = False) -> tuple[str, int]:
    """Store a draft inside ``uow``: (code, id). Lets a caller store several drafts, and
    what it records about them, in one transaction (a field-form ingest does)."""
    stored = store_draft(uow, organisation_code=organisation_code, info_date=info_date,
                         entries=entries, summary=summary, code=code, synthetic=synthetic)
    return stored.code, stored.report_id


def store_draft(uow: UnitOfWork, *, organisation_code: str, info_date: date,
                entries: Sequence[Entry | Prepared | tuple[str, dict]], summary: str = "",
                code: str | None = None, synthetic: bool = False) -> Draft:
    """Store a draft inside ``uow`` (see :func:`add_draft`); the :class:`Draft`.

    Entries given as :class:`Prepared` are taken as their maker parsed them; every other
    entry is parsed and checked here. The entries are written in one batch
    (:func:`demine.store.batch.insert_rows`): a national import drafts its hundreds of
    thousands of new hazards in one report.
    """
    if not isinstance(info_date, date):
        raise ValidationError("report", "info_date", f"{info_date!r} is not a date")
    org_id = uow.id_of(s.organisations, organisation_code)
    code = check_code(code, record=f"report {code!r}") if code is not None \
        else uow.next_code(s.reports, "RPT")
    if uow.row(s.reports, code=code) is not None:
        raise ValidationError(f"report {code}", "code", "a report with this code exists")
    raw = []
    for seq, entry in enumerate(entries, start=1):
        if isinstance(entry, Prepared):
            continue
        kind, payload = (entry.kind, entry.payload) if isinstance(entry, Entry) else entry
        raw.append((parse_enum(ChangeKind, kind, record=_label(code, seq), field="kind"),
                    payload, _label(code, seq)))
    # one batch: the new hazards of a file are checked together
    parsed = iter([(kind, json.dumps(jsonable(payload)), change) for (kind, payload, _), change
                   in zip(raw, parse_changes(raw), strict=True)])
    stored = [(entry.kind, entry.payload, entry.change) if isinstance(entry, Prepared)
              else next(parsed) for entry in entries]
    if not stored:
        raise ValidationError(f"report {code}", "entries", "a report needs at least one entry")
    _refuse_outcomes_outside(uow, code, [change for _, _, change in stored])
    report_id = uow.insert(s.reports, {
        "code": code, "status": ReportStatus.DRAFT.value, "info_date": info_date,
        "author": uow.author, "organisation_id": org_id, "summary": summary,
        "synthetic": synthetic})

    def rows():  # made while the COPY sends the ones before (batch.insert_rows)
        for seq, (kind, payload, change) in enumerate(stored, start=1):
            codes = hazard_codes_touched(change)
            yield report_id, seq, kind.value, payload, next(iter(codes)) if codes else None
    batch.insert_rows(uow.conn, uow.repo.dialect, s.report_entries,
                      ("report_id", "seq", "kind", "payload", "hazard_code"), rows())
    return Draft(code, report_id, tuple((seq, change) for seq, (_, _, change)
                                        in enumerate(stored, start=1)))


def _refuse_outcomes_outside(uow: UnitOfWork, code: str, changes: Sequence[Change]) -> None:
    """Tell the author now, not at approval, that a drawn polygon reaches past its hazard.

    A hazard's polygon never changes after it is recorded, so an outcome outside it
    would be refused at approval whatever else is approved first; the site manager
    hears it while the drawing is still on the screen. Hazards new in this very report
    are not stored yet: approval checks those. Overlaps with released land are left to
    approval, since what is released can still change before then.
    """
    drawn = [(seq, change) for seq, change in enumerate(changes, start=1)
             if isinstance(change, ActivityChange) and change.outcomes]
    if not drawn:
        return
    settings = uow.settings()
    rules = settings.rules
    zones: dict[str, Any] = {}
    for seq, change in drawn:
        if change.hazard_code not in zones:
            hazard = uow.row(s.hazard_areas, code=change.hazard_code)
            zones[change.hazard_code] = None if hazard is None else (
                settings.frame.to_metric_exact(hazard["geom"])
                .buffer(rules.inside_tolerance_m))
        zone = zones[change.hazard_code]
        for outcome in change.outcomes if zone is not None else ():
            landrelease.refuse_outside(zone, settings.frame.to_metric_exact(outcome.polygon),
                                       _label(code, seq), change.hazard_code, rules)


def _transition(uow: UnitOfWork, code: str, allowed_from: ReportStatus,
                values: dict, action: str, expected_version: int | None) -> dict:
    report = uow.require(s.reports, code, for_update=True)
    if report["status"] != allowed_from.value:
        raise WorkflowError(
            f"report {code}: status: is {report['status']}; only a {allowed_from.value} "
            f"report can be {action}d")
    uow.update(s.reports, report["id"], values, expected_version=expected_version,
               action=action, report_id=report["id"])
    return report


def submit(repo: Repository, code: str, author: str, expected_version: int | None = None) -> None:
    with repo.unit(author, f"report {code} submitted") as uow:
        _transition(uow, code, ReportStatus.DRAFT,
                    {"status": ReportStatus.SUBMITTED.value, "submitted_at": uow.now},
                    "submit", expected_version)


def reject(repo: Repository, code: str, approver: str, reason: str,
           expected_version: int | None = None) -> None:
    if not reason or not reason.strip():
        raise ValidationError(f"report {code}", "reason", "a rejection needs a reason")
    with repo.unit(approver, f"report {code} rejected: {reason}") as uow:
        _transition(uow, code, ReportStatus.SUBMITTED,
                    {"status": ReportStatus.REJECTED.value, "decided_at": uow.now,
                     "decided_by": approver, "decision_reason": reason.strip()},
                    "reject", expected_version)


def approve(repo: Repository, code: str, approver: str,
            expected_version: int | None = None, *, drafted: Draft | None = None
            ) -> ApprovalResult:
    """Apply a submitted report to the official record, all of it or none of it.

    ``drafted``: the :class:`Draft` this process stored for the report, whose parsed
    entries are taken instead of parsing the stored ones again (a national import
    drafts, submits and approves in one call). It is used only when it is this report's
    and holds as many entries as are stored; entries are never changed once stored.
    """
    with repo.unit(approver, f"report {code} approved") as uow:
        uow.serialise("approval")
        seq = (uow.conn.execute(select(func.max(s.reports.c.approval_seq))).scalar() or 0) + 1
        report = _transition(uow, code, ReportStatus.SUBMITTED,
                             {"status": ReportStatus.APPROVED.value, "decided_at": uow.now,
                              "decided_by": approver, "approval_seq": seq},
                             "approve", expected_version)
        uow.reason = (f"report {code} of {report['info_date']} by {report['author']} "
                      f"approved by {approver}")
        return _apply(uow, report, drafted)


def _entries(uow: UnitOfWork, report: dict, drafted: Draft | None = None
             ) -> Sequence[tuple[int, Change]]:
    if drafted is not None and drafted.report_id == report["id"]:
        stored = uow.conn.execute(select(func.count()).select_from(s.report_entries).where(
            s.report_entries.c.report_id == report["id"])).scalar_one()
        if stored == len(drafted.entries):
            return drafted.entries
    rows = uow.conn.execute(
        select(s.report_entries.c.seq, s.report_entries.c.kind, s.report_entries.c.payload)
        .where(s.report_entries.c.report_id == report["id"]).order_by(s.report_entries.c.seq))
    rows = rows.all()
    changes = parse_changes([(kind, payload, _label(report["code"], seq))
                             for seq, kind, payload in rows])
    return [(seq, change) for (seq, _, _), change in zip(rows, changes, strict=True)]


def _apply(uow: UnitOfWork, report: dict, drafted: Draft | None = None) -> ApprovalResult:
    touched: set[int] = set()
    fresh: dict[int, HazardChange] = {}
    #: the metric remainder of new hazards, as recorded: the status refresh needs no read
    recorded: dict[int, Any] = {}
    result = ApprovalResult(report["code"])
    entries = _entries(uow, report, drafted)
    start = 0
    while start < len(entries):
        end = start
        while end < len(entries) and isinstance(entries[end][1], NewHazard):
            end += 1
        if end > start:  # consecutive new hazards are recorded together
            ids, ready, metric = _apply_new_hazards(uow, report, entries[start:end])
            fresh.update(ready)
            recorded.update(zip(ids, metric.tolist(), strict=True))
            touched |= set(ids) - set(ready)  # direct evidence or tiny: refolded below
            start = end
            continue
        seq, change = entries[start]
        touched |= _apply_change(uow, report, _label(report["code"], seq), change)
        start += 1
    for hazard_id in sorted(touched | set(fresh)):
        if hazard_id in fresh and hazard_id not in touched:
            result.hazards.append(fresh[hazard_id])
        else:
            result.hazards.append(rebuild_hazard(uow, hazard_id, report["id"]))
    # a refolded hazard's remainder may have changed since it was recorded
    known = {hid: geom for hid, geom in recorded.items() if hid not in touched}
    touched |= set(fresh)
    changes = status.refresh_after_hazards(uow, touched, report["id"], known=known)
    result.reopened, result.closed = changes.reopened, changes.closed
    return result


def _apply_new_hazards(uow: UnitOfWork, report: dict, run: Sequence[tuple[int, Change]]
                       ) -> tuple[list[int], dict[int, HazardChange], np.ndarray]:
    """Record consecutive new-hazard entries at once (:func:`bulk.store_hazards`).

    The same rows, spatial index entries, evidence and audit as recording them one by
    one, and the same refusal (the first entry whose code is already on the record).
    Returns the ids of every new hazard; by id, those whose refold has nothing to do:
    a new hazard has no outcome, activity or finding, so only direct evidence
    (SHA -> CHA) or an area under the release threshold gives its refold work (the
    caller refolds those with every hazard another entry touched); and the metric
    polygons recorded, in the order of the ids.
    """
    hazards = [change.hazard for _, change in run]
    codes = [hz.code for hz in hazards]
    stored = set(uow.conn.execute(select(s.hazard_areas.c.code).where(
        batch.one_of(uow.repo.dialect, s.hazard_areas.c.code, codes))).scalars())
    seen: set[str] = set()
    for (seq, _), code in zip(run, codes, strict=True):
        if code in stored or code in seen:
            raise RuleViolation(_label(report["code"], seq), "code",
                                f"hazard area {code} is already on the record")
        seen.add(code)  # a second entry of the same code finds the first recorded
    centre = hazards[0].polygon.centroid  # the first one picks the plane, as one by one
    ensure_metric_frame(uow, centre.x, centre.y)
    loaded = bulk.store_hazards(uow, hazards, report_id=report["id"])
    released_below = uow.settings().rules.released_below_m2
    fresh: dict[int, HazardChange] = {}
    for hid, hz, area in zip(loaded.ids, hazards, loaded.areas_m2, strict=True):
        direct = any(EvidenceKind(e.kind) is EvidenceKind.DIRECT for e in hz.evidence)
        if not direct and area >= released_below:
            fresh[hid] = HazardChange(hz.code, HazardStatus.OPEN.value, HazardStatus.OPEN.value,
                                      area, area)
    return loaded.ids, fresh, loaded.metric


def _hazard_id(uow: UnitOfWork, code: str, label: str, field_name: str = "hazard_code") -> int:
    row = uow.row(s.hazard_areas, code=code, for_update=True)
    if row is None:
        raise RuleViolation(label, field_name, f"hazard area {code} is not on the record")
    return row["id"]


def _activity_id(uow: UnitOfWork, code: str, label: str) -> int:
    row = uow.row(s.activities, code=code)
    if row is None:
        raise RuleViolation(label, "activity_code", f"activity {code} is not on the record")
    return row["id"]


def _apply_change(uow: UnitOfWork, report: dict, label: str, change: Change) -> set[int]:
    """Write one entry's facts; returns the hazards whose summary must be refolded."""
    rid, info_date = report["id"], report["info_date"]
    if isinstance(change, NewHazard):
        hz = change.hazard
        if uow.row(s.hazard_areas, code=hz.code) is not None:
            raise RuleViolation(label, "code", f"hazard area {hz.code} is already on the record")
        centre = hz.polygon.centroid
        ensure_metric_frame(uow, centre.x, centre.y)
        values = hazard_values(uow, hz)
        hid = uow.insert(s.hazard_areas, {**values, "report_id": rid}, report_id=rid)
        uow.spatial.index(uow.conn, "hazard_areas", "geom", [(hid, values["geom"])])
        uow.spatial.index(uow.conn, "hazard_areas", "remaining_m", [(hid, values["remaining_m"])])
        _add_evidence(uow, hid, rid, hz.evidence)
        return {hid}
    if isinstance(change, NewEvidence):
        hid = _hazard_id(uow, change.hazard_code, label)
        _add_evidence(uow, hid, rid, change.items)
        if change.eo_suspected:
            row = uow.row(s.hazard_areas, id=hid)
            added = [e.value for e in change.eo_suspected]
            merged = list(dict.fromkeys([*row["eo_suspected"], *added]))
            uow.update(s.hazard_areas, hid, {"eo_suspected": merged}, report_id=rid)
        return {hid}
    if isinstance(change, HazardRevision):
        hid = _hazard_id(uow, change.hazard_code, label)
        uow.update(s.hazard_areas, hid, _revised_columns(change), action="revise",
                   report_id=rid)
        return {hid}
    if isinstance(change, ActivityChange):
        return {_apply_activity(uow, report, label, change)}
    if isinstance(change, NewFinding):
        f = change.finding
        activity_id = _activity_id(uow, f.activity_code, label)
        fid = uow.insert(s.findings, {
            "activity_id": activity_id, "report_id": rid, "geom": f.point,
            "eo_category": f.eo_category.value, "model": f.model,
            "condition": f.condition.value, "depth_mm": f.depth_mm,
            "disposal": f.disposal.value, "found_on": f.found_on, "synthetic": f.synthetic,
        }, report_id=rid)
        uow.spatial.index(uow.conn, "findings", "geom", [(fid, f.point)])
        return {uow.row(s.activities, id=activity_id)["hazard_id"]}
    if isinstance(change, NewAccident):
        a = change.accident
        if uow.row(s.accidents, code=a.code) is not None:
            raise RuleViolation(label, "code", f"accident {a.code} is already on the record")
        aid = uow.insert(s.accidents, {
            "code": a.code, "accident_date": a.accident_date, "geom": a.point,
            "type": a.type.value, "device_category": a.device_category.value,
            "activity_id": _activity_id(uow, a.activity_code, label) if a.activity_code else None,
            "narrative": a.narrative, "report_id": rid, "synthetic": a.synthetic,
        }, report_id=rid)
        uow.spatial.index(uow.conn, "accidents", "geom", [(aid, a.point)])
        _add_victims(uow, aid, rid, a.victims)
        return set()
    if isinstance(change, AccidentRevision):
        _revise_accident(uow, rid, label, change)
        return set()
    assert isinstance(change, Reversal)
    return _reverse(uow, report, label, change, info_date)


#: A hazard revision's entry keys and the columns they set (the declared class: the
#: effective one is refolded from it and the evidence).
_REVISED_COLUMNS = {"name": "name", "classification": "declared_classification",
                    "eo_suspected": "eo_suspected", "blockages": "blockages"}


def _revised_columns(change: HazardRevision) -> dict[str, Any]:
    def stored(value: Any) -> Any:
        if isinstance(value, tuple):
            return [v.value for v in value]
        return value.value if hasattr(value, "value") else value
    return {_REVISED_COLUMNS[k]: stored(v) for k, v in change.attributes.items()}


def _add_victims(uow: UnitOfWork, accident_id: int, report_id: int,
                 victims: Sequence[Victim]) -> None:
    for v in victims:
        uow.conn.execute(s.victims.insert().values(
            accident_id=accident_id, outcome=v.outcome.value, role=v.role.value,
            sex=v.sex.value, age=v.age, activity_at_time=v.activity_at_time,
            report_id=report_id, void=False))


#: An accident revision's entry keys and the columns they set.
_ACCIDENT_COLUMNS = {"accident_date": "accident_date", "type": "type",
                     "device_category": "device_category", "narrative": "narrative",
                     "activity_code": "activity_id", "geometry": "geom"}


def _live_victims(uow: UnitOfWork, accident_id: int) -> list[dict[str, Any]]:
    v = s.victims
    return [dict(r) for r in uow.conn.execute(
        select(v).where(v.c.accident_id == accident_id, v.c.void.is_(False))
        .order_by(v.c.id)).mappings()]


def _victim_key(victim: Victim | dict[str, Any]) -> tuple:
    if isinstance(victim, Victim):
        return (victim.outcome.value, victim.role.value, victim.sex.value,
                -1 if victim.age is None else victim.age, victim.activity_at_time)
    return (victim["outcome"], victim["role"], victim["sex"],
            -1 if victim["age"] is None else victim["age"], victim["activity_at_time"] or "")


def _revise_accident(uow: UnitOfWork, rid: int, label: str, change: AccidentRevision) -> None:
    """A new version of an accident on the record, audited with the report.

    Only the attributes the entry has change. Given victims replace the accident's
    whole list when they differ from it: the standing victims are voided (pointing at
    this report) and the new ones recorded with it, so a reversal can swap them back.
    Victims are personal data: the audit counts them (``victims`` in its before and
    after) and never lists them.
    """
    row = uow.row(s.accidents, code=change.code, for_update=True)
    if row is None or row["void"]:
        raise RuleViolation(label, "code", f"accident {change.code} is not on the record")
    values: dict[str, Any] = {}
    for key, value in change.attributes.items():
        if key == "activity_code":
            value = _activity_id(uow, value, label) if value else None
        elif hasattr(value, "value"):
            value = value.value
        values[_ACCIDENT_COLUMNS[key]] = value
    standing = _live_victims(uow, row["id"])
    replaced = change.victims is not None and sorted(map(_victim_key, standing)) != sorted(
        map(_victim_key, change.victims))
    noted: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    if replaced:
        noted[0]["victims"], noted[1]["victims"] = len(standing), len(change.victims)
        v = s.victims
        uow.conn.execute(v.update().where(v.c.id.in_([x["id"] for x in standing]))
                         .values(void=True, voided_by_report_id=rid))
        _add_victims(uow, row["id"], rid, change.victims)
    moved = "geom" in values and not shapely.equals_exact(row["geom"], values["geom"], 0.0)
    if moved:  # exactly: the audit's text of a geometry is rounded, a reversal needs this
        noted[0]["point"] = [row["geom"].x, row["geom"].y]
        noted[1]["point"] = [values["geom"].x, values["geom"].y]
    uow.update(s.accidents, row["id"], values, action="revise", report_id=rid,
               beside=noted if noted[0] else None)
    if moved:
        uow.spatial.index(uow.conn, "accidents", "geom", [(row["id"], values["geom"])])


def _add_evidence(uow: UnitOfWork, hazard_id: int, report_id: int, items) -> None:
    for item in items:
        uow.insert(s.evidence_items, {
            "hazard_id": hazard_id, "report_id": report_id, "kind": item.kind.value,
            "type": item.type.value, "description": item.description}, report_id=report_id)


def _apply_activity(uow: UnitOfWork, report: dict, label: str, change: ActivityChange) -> int:
    rid, info_date = report["id"], report["info_date"]
    hid = _hazard_id(uow, change.hazard_code, label)
    attrs = dict(change.attributes)
    values: dict[str, Any] = {k: (v.value if hasattr(v, "value") else v) for k, v in attrs.items()
                              if k not in ("organisation_code", "team_code")}
    for key, table, column, entity in (
            ("organisation_code", s.organisations, "organisation_id", "organisation"),
            ("team_code", s.teams, "team_id", "team")):
        if attrs.get(key):
            found = uow.row(table, code=attrs[key])
            if found is None:
                raise RuleViolation(label, key, f"{entity} {attrs[key]} is not on the record")
            values[column] = found["id"]
    row = uow.row(s.activities, code=change.code, for_update=True)
    if row is None:
        if "type" not in values:
            raise ValidationError(label, "type", "a new activity needs its type")
        values.setdefault("organisation_id", report["organisation_id"])
        values.setdefault("status", ActivityStatus.PLANNED.value)
        activity_id = uow.insert(s.activities, {
            **values, "code": change.code, "hazard_id": hid, "info_date": info_date},
            report_id=rid)
    else:
        activity_id = row["id"]
        if row["hazard_id"] != hid:
            raise RuleViolation(label, "hazard_code",
                                f"activity {change.code} works on another hazard area")
        if row["info_date"] is None or info_date >= row["info_date"]:
            uow.update(s.activities, activity_id, {**values, "info_date": info_date},
                       report_id=rid)
    frame = uow.settings().frame
    if change.outcomes and uow.row(s.activities, id=activity_id)["type"] == \
            ActivityType.QC_INSPECTION.value:
        raise RuleViolation(label, "outcomes", f"activity {change.code} is a QC inspection; "
                            "an inspection releases no land")
    for outcome in change.outcomes:
        oid = uow.insert(s.outcome_polygons, {
            "activity_id": activity_id, "hazard_id": hid, "report_id": rid,
            "method": outcome.method.value, "geom": outcome.polygon,
            "area_m2": frame.area_m2(outcome.polygon), "info_date": info_date,
        }, report_id=rid)
        uow.spatial.index(uow.conn, "outcome_polygons", "geom", [(oid, outcome.polygon)])
    if change.qc is not None:
        kind = uow.row(s.activities, id=activity_id)["type"]
        if kind != ActivityType.QC_INSPECTION.value:
            raise RuleViolation(label, "qc", f"activity {change.code} is a {kind}, not a QC "
                                "inspection")
        _apply_qc(uow, report, label, activity_id, hid, change.qc)
    return hid


#: What a post-clearance inspection's lot is made of: land released by clearance or by
#: technical survey (cancelled land was never searched, so it is not inspected).
_INSPECTED_METHODS = (ReleaseMethod.CLEARED.value, ReleaseMethod.REDUCED.value)


def _apply_qc(uow: UnitOfWork, report: dict, label: str, activity_id: int, hid: int,
              qc: QcInspection) -> None:
    """Record one inspected lot; a failed lot gives its land back to the hazard.

    The lot is the land the inspected activity cleared. When the sample finds more
    defects than the plan accepts, that land can no longer be called safe: its cleared
    outcomes are voided (pointing at this inspection, so a reversal can restore them),
    the hazard's remainder grows back, settlements near it may close again, and the
    inspected task is back in progress until it is re-cleared and re-inspected.
    """
    inspected = uow.row(s.activities, code=qc.inspects, for_update=True)
    if inspected is None:
        raise RuleViolation(label, "qc.inspects", f"activity {qc.inspects} is not on the record")
    if inspected["hazard_id"] != hid:
        raise RuleViolation(label, "qc.inspects",
                            f"activity {qc.inspects} worked on another hazard area")
    if inspected["id"] == activity_id:
        raise RuleViolation(label, "qc.inspects", "an inspection cannot inspect itself")
    o = s.outcome_polygons
    # the lot is what the activity had released by the inspection's date of information
    lot = uow.conn.execute(select(o.c.id, o.c.area_m2).where(
        o.c.activity_id == inspected["id"], o.c.method.in_(_INSPECTED_METHODS),
        o.c.void.is_(False), o.c.info_date <= report["info_date"])).all()
    if not lot:
        raise RuleViolation(label, "qc.inspects",
                            f"activity {qc.inspects} had released no land to inspect by "
                            f"{report['info_date']}")
    lot_m2 = sum(area for _, area in lot)
    if qc.inspected_m2 > lot_m2 * (1 + 1e-6):
        raise RuleViolation(label, "qc.sample_units",
                            f"{qc.sample_units} units of {qc.unit_m2:g} m² cover more than the "
                            f"{lot_m2:,.0f} m² the activity cleared")
    qc_id = uow.insert(s.qc_inspections, {
        "activity_id": activity_id, "inspected_activity_id": inspected["id"], "hazard_id": hid,
        "report_id": report["id"], "plan": qc.plan, "lot_units": qc.lot_units,
        "sample_units": qc.sample_units, "unit_m2": qc.unit_m2,
        "accept_number": qc.accept_number, "defects": qc.defects, "result": qc.result.value,
        "lot_m2": lot_m2, "inspected_m2": qc.inspected_m2, "info_date": report["info_date"],
        "void": False}, report_id=report["id"])
    if qc.result is QcResult.PASS:
        return
    reason = (f"failed QC {report['code']}: {qc.defects} defect(s) in {qc.sample_units} "
              f"sample units, {qc.accept_number} accepted")
    for outcome_id, _ in lot:
        uow.update(o, outcome_id, {"void": True, "voided_by_qc_id": qc_id}, action="qc_fail",
                   report_id=report["id"], reason=reason)
    newer = inspected["info_date"] is not None and inspected["info_date"] > report["info_date"]
    if inspected["status"] != ActivityStatus.IN_PROGRESS.value and not newer:
        uow.update(s.activities, inspected["id"], {"status": ActivityStatus.IN_PROGRESS.value,
                                                   "info_date": report["info_date"]},
                   action="qc_fail", report_id=report["id"], reason=reason)


def _refuse_if_worked_again(uow: UnitOfWork, label: str, report_code: str, hazard_id: int,
                            lot: Sequence) -> None:
    """A failed lot that has been released again cannot be given back a second time."""
    if not lot:
        return
    o = s.outcome_polygons
    frame = uow.settings().frame
    restored = shapely.union_all([frame.to_metric(g) for _, g in lot])
    for code, geom in uow.conn.execute(
            select(s.activities.c.code, o.c.geom).join(s.activities,
                                                      s.activities.c.id == o.c.activity_id)
            .where(o.c.hazard_id == hazard_id, o.c.void.is_(False))).all():
        if frame.to_metric(geom).intersection(restored).area > _OVERLAP_M2:
            raise RuleViolation(
                label, "report_code",
                f"the land that report {report_code} found failing has been released again "
                f"since (activity {code}); record a new inspection instead of reversing it")


#: Overlap (m²) between restored and later released land that makes a reversal refused.
_OVERLAP_M2 = 1.0


def _restore_inspected_status(uow: UnitOfWork, report: dict, target: dict,
                              reason: str) -> None:
    """Put an inspected activity back to the status a reversed failed lot took from it.

    A failed lot set the inspected task back in progress; once the inspection is
    reversed it stands as it stood before (completed, usually). Only when nothing has
    changed the activity since (its version is still the one the failure wrote): a
    later report that resumed or completed the task is the newer information and wins.
    """
    a = s.audit_log
    for entity_id, version, before in uow.conn.execute(
            select(a.c.entity_id, a.c.version, a.c.before).where(
                a.c.entity == "activity", a.c.action == "qc_fail",
                a.c.report_id == target["id"])).all():
        current = uow.row(s.activities, id=entity_id, for_update=True)
        if current is None or current["version"] != version or not before:
            continue
        info = before.get("info_date")
        uow.update(s.activities, entity_id, {
            "status": before["status"],
            "info_date": date.fromisoformat(info) if isinstance(info, str) else info},
            action="reverse", report_id=report["id"], reason=reason)


def _revisions(uow: UnitOfWork, report_id: int, entity: str) -> list:
    """The revisions a report made of ``entity`` records, latest first, from the audit:
    (id, code, before, after)."""
    a = s.audit_log
    return uow.conn.execute(
        select(a.c.entity_id, a.c.entity_code, a.c.before, a.c.after)
        .where(a.c.report_id == report_id, a.c.entity == entity, a.c.action == "revise")
        .order_by(a.c.id.desc())).all()


def _undo_revisions(uow: UnitOfWork, label: str, target_code: str, target_id: int,
                    report_id: int, reason: str) -> list[int]:
    """Put back what the target report's hazard revisions changed; the hazards touched.

    The audit trail holds each revision's before and after. A value revised again
    since is not silently overwritten: the reversal is refused, naming the hazard and
    the field, so the later correction is reversed (or kept) first.
    """
    touched: list[int] = []
    for hid, code, before, after in _revisions(uow, target_id, "hazard_area"):
        current = uow.row(s.hazard_areas, id=hid, for_update=True)
        restore = {}
        for column in _REVISED_COLUMNS.values():
            if before.get(column) == after.get(column):
                continue
            if current[column] != after[column]:
                raise RuleViolation(label, "report_code",
                                    f"hazard area {code}: {column} was revised again after "
                                    f"report {target_code}; reverse that revision first")
            restore[column] = before[column]
        if restore:
            uow.update(s.hazard_areas, hid, restore, action="reverse", report_id=report_id,
                       reason=reason)
            touched.append(hid)
    return touched


def _undo_accident_revisions(uow: UnitOfWork, label: str, target_code: str, target_id: int,
                             report_id: int, reason: str) -> int:
    """Put back what the target report's accident revisions changed; how many accidents.

    The fields come back from the audit's before (the point from its exact coordinates
    kept there, the audit's text of a geometry being rounded), the victims the revision
    replaced stand again and those it recorded are voided. As for hazards, what was
    revised again since is not overwritten: the reversal is refused naming the accident
    and the field.
    """
    undone: list[int] = []
    for aid, code, before, after in _revisions(uow, target_id, "accident"):
        current = uow.row(s.accidents, id=aid, for_update=True)
        restore: dict[str, Any] = {}
        for column in _ACCIDENT_COLUMNS.values():
            exact = column == "geom" and "point" in after
            if before.get(column) == after.get(column) and not (
                    exact and before.get("point") != after["point"]):
                continue
            now = [current[column].x, current[column].y] if exact else \
                row_snapshot(current)[column]
            if now != (after["point"] if exact else after[column]):
                field_name = next(k for k, c in _ACCIDENT_COLUMNS.items() if c == column)
                raise RuleViolation(label, "report_code",
                                    f"accident {code}: {field_name} was revised again after "
                                    f"report {target_code}; reverse that revision first")
            restore[column] = _stored_before(column, before)
        counts = None
        if "victims" in before:
            counts = _swap_victims_back(uow, label, code, aid, target_code, target_id,
                                        report_id)
        if restore or counts:
            uow.update(s.accidents, aid, restore, action="reverse", report_id=report_id,
                       reason=reason, beside=counts)
            if "geom" in restore:
                uow.spatial.index(uow.conn, "accidents", "geom", [(aid, restore["geom"])])
        if aid not in undone:
            undone.append(aid)
    return len(undone)


def _stored_before(column: str, before: dict[str, Any]) -> Any:
    """A column's value as the audit's before snapshot of an accident revision had it."""
    value = before[column]
    if column == "geom":
        exact = before.get("point")
        return shapely.Point(*exact) if exact else shapely.from_wkt(value)
    if column == "accident_date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _swap_victims_back(uow: UnitOfWork, label: str, code: str, accident_id: int,
                       target_code: str, target_id: int, report_id: int
                       ) -> tuple[dict[str, int], dict[str, int]] | None:
    """The victims an accident had before the target's revision stand again, those the
    revision recorded are voided; the counts before and after (None: nothing to swap,
    done already for another revision of the same accident in the target)."""
    v = s.victims
    rows = uow.conn.execute(select(v.c.id, v.c.void, v.c.report_id, v.c.voided_by_report_id)
                            .where(v.c.accident_id == accident_id)).all()
    live = {r.id for r in rows if not r.void}
    recorded = {r.id for r in rows if r.report_id == target_id
                and r.voided_by_report_id != target_id}
    replaced = {r.id for r in rows if r.voided_by_report_id == target_id
                and r.report_id != target_id}
    if not recorded and not replaced:
        return None
    if live != recorded:
        raise RuleViolation(label, "report_code",
                            f"accident {code}: victims were revised again after report "
                            f"{target_code}; reverse that revision first")
    if recorded:
        uow.conn.execute(v.update().where(v.c.id.in_(sorted(recorded)))
                         .values(void=True, voided_by_report_id=report_id))
    if replaced:
        uow.conn.execute(v.update().where(v.c.id.in_(sorted(replaced)))
                         .values(void=False, voided_by_report_id=None))
    return {"victims": len(live)}, {"victims": len(replaced)}


def _reverse(uow: UnitOfWork, report: dict, label: str, change: Reversal, info_date) -> set[int]:
    target = uow.row(s.reports, code=change.report_code, for_update=True)
    if target is None or target["status"] != ReportStatus.APPROVED.value:
        raise RuleViolation(label, "report_code",
                            f"report {change.report_code} is not an approved report")
    if uow.conn.execute(select(s.report_entries.c.id).where(
            s.report_entries.c.report_id == target["id"],
            s.report_entries.c.kind == ChangeKind.NEW_HAZARD.value)).first():
        raise RuleViolation(label, "report_code",
                            f"report {change.report_code} recorded a new hazard area; a hazard "
                            "is not un-recorded but cancelled through non-technical survey")
    touched: set[int] = set()
    voided = 0
    reason = f"reversed by report {report['code']}: {change.reason}"
    for qc_id, hid in uow.conn.execute(select(s.qc_inspections.c.id, s.qc_inspections.c.hazard_id)
                                       .where(s.qc_inspections.c.report_id == target["id"],
                                              s.qc_inspections.c.void.is_(False))).all():
        # the lot a failed inspection voided is given back with the inspection
        o = s.outcome_polygons
        lot = uow.conn.execute(select(o.c.id, o.c.geom).where(
            o.c.voided_by_qc_id == qc_id, o.c.void.is_(True))).all()
        _refuse_if_worked_again(uow, label, change.report_code, hid, lot)
        for outcome_id, _ in lot:
            uow.update(o, outcome_id, {"void": False, "voided_by_qc_id": None},
                       action="reverse", report_id=report["id"], reason=reason)
        uow.update(s.qc_inspections, qc_id, {"void": True}, action="reverse",
                   report_id=report["id"], reason=reason)
        voided += 1
        touched.add(hid)
    _restore_inspected_status(uow, report, target, reason)
    # outcomes of the target that a failed inspection had already voided stay void, but
    # lose their link, so reversing that inspection later cannot bring them back
    o = s.outcome_polygons
    for outcome_id, hid in uow.conn.execute(select(o.c.id, o.c.hazard_id).where(
            o.c.report_id == target["id"], o.c.void.is_(True),
            o.c.voided_by_qc_id.is_not(None))).all():
        uow.update(o, outcome_id, {"voided_by_qc_id": None}, action="reverse",
                   report_id=report["id"], reason=reason)
        voided += 1
        touched.add(hid)
    for hid in _undo_revisions(uow, label, change.report_code, target["id"], report["id"],
                               reason):
        voided += 1
        touched.add(hid)
    voided += _undo_accident_revisions(uow, label, change.report_code, target["id"],
                                       report["id"], reason)
    for table in (s.outcome_polygons, s.evidence_items, s.findings, s.accidents):
        rows = uow.conn.execute(select(table.c.id).where(
            table.c.report_id == target["id"], table.c.void.is_(False))).all()
        voided += len(rows)
        for (row_id,) in rows:
            uow.update(table, row_id, {"void": True}, action="reverse", report_id=report["id"],
                       reason=reason)
            if table is s.accidents:  # its victims go with it
                v = s.victims
                uow.conn.execute(v.update().where(v.c.accident_id == row_id,
                                                  v.c.void.is_(False))
                                 .values(void=True, voided_by_report_id=report["id"]))
            row = uow.row(table, id=row_id)
            if "hazard_id" in row:
                touched.add(row["hazard_id"])
            elif row.get("activity_id"):
                touched.add(uow.row(s.activities, id=row["activity_id"])["hazard_id"])
    if not voided:
        raise RuleViolation(label, "report_code",
                            f"report {change.report_code} has nothing left to reverse")
    return touched
