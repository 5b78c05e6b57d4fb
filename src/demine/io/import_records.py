"""Import of operational records: activities, findings and accidents (issue 3, "Import").

These are facts reported by an operator, not reference data, so they enter the record
the way hazards do: one report per import, holding an entry per new or changed record
(``activity``, ``finding``, ``accident``), submitted, and approved in the same call only
when asked (``--approve``). Approval applies them through the core's own code
(:mod:`demine.service.reports`): hazard areas are refolded, settlements re-derived, and
every version audited with the report. Nothing here writes a record directly.

Matching, so that importing the same file again changes nothing:

- activities by code. A changed attribute becomes an ``activity`` entry carrying only
  what changed (a new version of the activity once approved); an activity cannot move
  to another hazard area.
- accidents by code. A changed date, type, device, narrative, activity or point
  becomes an ``accident_revision`` entry carrying only what changed (a new version of
  the accident once approved, reversible by a later report). Victims are compared when
  the file has a victims layer, over the victim fields that layer has (an export
  without personal data still matches); other victims become the revision's whole new
  list of victims, the replaced ones kept void on the record, but only from a layer
  with every victim field: one without sex, age and activity at the time is refused
  rather than erase them. A blank activity does not unlink an accident, and the
  synthetic label is never changed.
- findings have no code of their own: a finding is the same when it has the same
  activity, EO category, date found and point (to 1e-9°). The same item with other
  details (model, condition, depth, disposal) is refused, not duplicated.
A record already waiting in an open (draft or submitted) report, new or as a revision,
counts as unchanged when the file says the same, and is refused naming that report when
it says otherwise.

Links are by code and must exist on the record: an activity's hazard area (and its
organisation and team when given), a finding's activity (and, when the file has one,
that activity's hazard), an accident's activity. A code that is not on the record is
refused naming it, and one still waiting in an open report names that report.

Victims of an accident come from a ``victims`` layer or sheet of the same file, or from
the ``victims`` file beside it in an export folder (demine's own export layout:
``accident_code``, ``outcome``, ``role``, ``sex``, ``age``, ``activity_at_time``). Sex,
age, activity at the time and the accident's narrative are personal data: the report
entry stores them as the core does, and no rejection message quotes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Table, select

from demine.domain.errors import ValidationError
from demine.domain.vocab import ChangeKind, ReportStatus
from demine.io import import_rows as rows_
from demine.io.import_rows import Candidate, Plan, Rejection, label_clash, shape_key
from demine.io.mapping import normalise
from demine.io.reading import companion
from demine.store import schema as s
from demine.store.repository import UnitOfWork

_CHUNK = 5_000
_OPEN = (ReportStatus.DRAFT.value, ReportStatus.SUBMITTED.value)

#: The report entry kind each layer's records become.
ENTRY_KIND = {"activities": ChangeKind.ACTIVITY.value, "findings": ChangeKind.FINDING.value,
              "accidents": ChangeKind.ACCIDENT.value}
#: The entry kind of a changed record, where it is not the layer's own.
REVISION_KIND = {"accidents": ChangeKind.ACCIDENT_REVISION.value}
ACTIVITY_ATTRIBUTES = ("type", "status", "organisation_code", "team_code", "planned_start",
                       "planned_end", "actual_start", "actual_end", "suspension_reason",
                       "clearance_depth_mm")


def _chunks(values: Sequence) -> list[Sequence]:
    return [values[i:i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _codes_on_record(uow: UnitOfWork, table: Table, codes: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(codes)):
        found.update((c, int(i)) for c, i in uow.conn.execute(
            select(table.c.code, table.c.id).where(table.c.code.in_(list(chunk)))))
    return found


def open_entries(uow: UnitOfWork, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(report code, payload) of every entry of ``kind`` in a draft or submitted report."""
    e, r = s.report_entries, s.reports
    return [(code, payload) for code, payload in uow.conn.execute(
        select(r.c.code, e.c.payload).join(r, r.c.id == e.c.report_id)
        .where(e.c.kind == kind, r.c.status.in_(_OPEN)).order_by(r.c.id, e.c.seq))]


def _pending_codes(uow: UnitOfWork, kind: str, key: str = "code") -> dict[str, str]:
    """{record code: report code} of records of ``kind`` waiting in an open report."""
    return {payload[key]: report for report, payload in open_entries(uow, kind)
            if isinstance(payload, dict) and payload.get(key)}


def _missing(entity: str, code: str, pending: dict[str, str]) -> str:
    if code in pending:
        return (f"{entity} {code} awaits approval in report {pending[code]}; approve that "
                "report before importing records that refer to it")
    return f"{entity} {code} is not on the record; import or report it first"


def _same_entry(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two entry payloads say the same (geometries to 1e-9°, absent = empty)."""
    keys = set(a) | set(b)
    for key in keys:
        x, y = a.get(key), b.get(key)
        if key == "geometry":
            gx, gy = (shapely.geometry.shape(g) if isinstance(g, dict) else g for g in (x, y))
            if not rows_.same_shape(gx, gy):
                return False
        elif key == "synthetic":  # unlabelled is real
            if bool(x) != bool(y):
                return False
        elif (x in (None, "", [])) != (y in (None, "", [])) or (x not in (None, "", [])
                                                                 and x != y):
            return False
    return True


# --- activities -------------------------------------------------------------------------

def compare_activities(uow: UnitOfWork, file: str, candidates: list[Candidate]) -> Plan:
    plan = Plan()
    a, h, o, t = s.activities, s.hazard_areas, s.organisations, s.teams
    stored: dict[str, dict[str, Any]] = {}
    codes = [c.code for c in candidates]
    for chunk in _chunks(codes):
        query = select(a, h.c.code.label("hazard_code"), o.c.code.label("organisation_code"),
                       t.c.code.label("team_code")) \
            .join(h, h.c.id == a.c.hazard_id).join(o, o.c.id == a.c.organisation_id) \
            .outerjoin(t, t.c.id == a.c.team_id).where(a.c.code.in_(list(chunk)))
        for row in uow.conn.execute(query).mappings():
            stored[row["code"]] = {k: (v.isoformat() if isinstance(v, date) else v)
                                   for k, v in row.items()}
    hazards = _codes_on_record(uow, h, {c.values["hazard_code"] for c in candidates})
    pending_hazards = _pending_codes(uow, ChangeKind.NEW_HAZARD.value)
    orgs = _codes_on_record(uow, o, {c.values["organisation_code"] for c in candidates
                                     if c.values.get("organisation_code")})
    teams = _codes_on_record(uow, t, {c.values["team_code"] for c in candidates
                                      if c.values.get("team_code")})
    pending = defaultdict(list)
    for report, payload in open_entries(uow, ChangeKind.ACTIVITY.value):
        pending[payload.get("code")].append((report, payload))
    for c in candidates:
        v = c.values
        refusals = []
        if v["hazard_code"] not in hazards:
            refusals.append(("hazard_code", _missing("hazard area", v["hazard_code"],
                                                     pending_hazards)))
        for key, found, entity in (("organisation_code", orgs, "organisation"),
                                   ("team_code", teams, "team")):
            if v.get(key) and v[key] not in found:
                refusals.append((key, f"{entity} {v[key]} is not on the record"))
        row = stored.get(c.code)
        clash = None if row is None else label_clash("activity", c.code, row, v)
        if clash:
            refusals.append(("synthetic", clash))
        if row is not None and row["hazard_code"] != v["hazard_code"]:
            refusals.append(("hazard_code", f"activity {c.code} works on hazard area "
                                            f"{row['hazard_code']}; an activity does not move "
                                            "to another hazard area"))
        if row is None and not v.get("type"):
            refusals.append(("type", f"activity {c.code} is new: its type is required"))
        if refusals:
            plan.rejected.extend(Rejection(file, c.row, f, p) for f, p in refusals)
            continue
        attrs = {k: v[k] for k in ACTIVITY_ATTRIBUTES if k in v}
        changed = attrs if row is None else {k: x for k, x in attrs.items() if row.get(k) != x}
        entry = {"code": c.code, "hazard_code": v["hazard_code"], **changed}
        if row is None and "synthetic" in v:
            entry["synthetic"] = v["synthetic"]
        waiting = pending.get(c.code, [])
        if waiting:
            report, payload = waiting[-1]
            if _same_entry({**payload, **entry}, payload):
                plan.unchanged += 1
            else:
                plan.rejected.append(Rejection(
                    file, c.row, "code", f"activity {c.code} awaits approval in report "
                    f"{report} with other values; approve or reject that report first"))
            continue
        if row is not None and not changed:
            plan.unchanged += 1
            continue
        c.values = entry
        if row is None:
            plan.new.append(c)
        else:
            plan.changed.append((c, row, changed))
    return plan


# --- findings ---------------------------------------------------------------------------

def _finding_key(activity_code: str, eo_category: str, found_on: str, point) -> tuple:
    return (activity_code, eo_category, found_on, shape_key(point))


_FINDING_DETAILS = ("model", "condition", "depth_mm", "disposal")


def compare_findings(uow: UnitOfWork, file: str, candidates: list[Candidate]) -> Plan:
    plan = Plan()
    a, h, f = s.activities, s.hazard_areas, s.findings
    wanted = sorted({c.values["activity_code"] for c in candidates})
    activities: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(wanted):
        for code, aid, hazard in uow.conn.execute(
                select(a.c.code, a.c.id, h.c.code).join(h, h.c.id == a.c.hazard_id)
                .where(a.c.code.in_(list(chunk)))):
            activities[code] = (int(aid), hazard)
    pending_activities = _pending_codes(uow, ChangeKind.ACTIVITY.value)
    stored: dict[tuple, dict[str, Any]] = {}
    ids = {aid: code for code, (aid, _) in activities.items()}
    for chunk in _chunks(sorted(ids)):
        for row in uow.conn.execute(select(f).where(f.c.activity_id.in_(list(chunk)),
                                                    f.c.void.is_(False))).mappings():
            key = _finding_key(ids[row["activity_id"]], row["eo_category"],
                               row["found_on"].isoformat(), row["geom"])
            stored[key] = dict(row)
    pending: dict[tuple, tuple[str, dict[str, Any]]] = {}
    for report, payload in open_entries(uow, ChangeKind.FINDING.value):
        try:
            point = shapely.geometry.shape(payload["geometry"])
            key = _finding_key(payload["activity_code"], payload["eo_category"],
                               str(payload["found_on"]), point)
        except (KeyError, TypeError, ValueError, shapely.errors.ShapelyError):
            continue
        pending[key] = (report, payload)
    for c in candidates:
        v = c.values
        code = v["activity_code"]
        if code not in activities:
            plan.rejected.append(Rejection(file, c.row, "activity_code",
                                           _missing("activity", code, pending_activities)))
            continue
        hazard = activities[code][1]
        if v.get("hazard_code") and v["hazard_code"] != hazard:
            plan.rejected.append(Rejection(
                file, c.row, "hazard_code", f"activity {code} works on hazard area {hazard}, "
                                            f"not {v['hazard_code']}"))
            continue
        key = _finding_key(code, v["eo_category"], v["found_on"], c.geometry)
        known = stored.get(key)
        if known is None and key in pending:
            known = pending[key][1]
        if known is not None:
            other = [d for d in _FINDING_DETAILS if (known.get(d) or None) != (v.get(d) or None)]
            if "synthetic" in v and bool(known.get("synthetic")) != v["synthetic"]:
                other.append("synthetic")
            if other:
                where = "on the record" if key in stored else \
                    f"awaiting approval in report {pending[key][0]}"
                plan.rejected.append(Rejection(
                    file, c.row, other[0],
                    f"this {v['eo_category']} found on {v['found_on']} by activity {code} is "
                    f"{where} with other {', '.join(other)}; changing a finding by import is "
                    "not supported: report a reversal and the corrected finding"))
            else:
                plan.unchanged += 1
            continue
        c.values = {"activity_code": code, "geometry": c.geometry,
                    **{k: v[k] for k in ("eo_category", "found_on", *_FINDING_DETAILS,
                                         "synthetic") if v.get(k) is not None}}
        plan.new.append(c)
    return plan


# --- accidents --------------------------------------------------------------------------

_ACCIDENT_FIELDS = ("accident_date", "type", "device_category", "activity_code")


def _accident_state(row: dict[str, Any], victims: list[dict[str, Any]]) -> dict[str, Any]:
    """A stored accident as a file's row gives it: dates as ISO text, its point, and its
    standing victims."""
    state = {k: (row[k].isoformat() if isinstance(row[k], date) else row[k])
             for k in _ACCIDENT_FIELDS}
    return {**state, "narrative": row["narrative"] or "", "geometry": row["geom"],
            "victims": victims}


def _revised(state: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """``state`` as a waiting ``accident_revision`` entry will leave it."""
    out = dict(state)
    for key, value in payload.items():
        if key == "geometry":
            out[key] = shapely.geometry.shape(value) if isinstance(value, dict) else value
        elif key == "victims":
            if value is not None:
                out[key] = list(value)
        elif key in out:
            out[key] = value
    return out


def _accident_changes(code: str, state: dict[str, Any], v: dict[str, Any], point,
                      victims: list[dict[str, Any]], read: VictimsRead
                      ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """What a file's row changes of an accident (entry key -> value, only what differs),
    and what it cannot change by import (field, problem). Victims are compared over the
    fields the victims layer has, and named, never quoted."""
    changed: dict[str, Any] = {}
    refused: list[tuple[str, str]] = []
    for key in ("accident_date", "type", "device_category"):
        if (state[key] or None) != (v.get(key) or None):
            changed[key] = v[key]
    if v.get("activity_code"):
        if v["activity_code"] != state["activity_code"]:
            changed["activity_code"] = v["activity_code"]
    elif state["activity_code"]:
        refused.append(("activity_code", f"accident {code} is linked to activity "
                                         f"{state['activity_code']}; a blank activity_code "
                                         "does not unlink it (an accident_revision entry "
                                         "with activity_code null does)"))
    if "narrative" in v and (state["narrative"] or "") != v["narrative"]:
        changed["narrative"] = v["narrative"]
    if not rows_.same_shape(state["geometry"], point):
        changed["geometry"] = point
    if read.source is not None and sorted(_victim_key(x, read.fields) for x in victims) != \
            sorted(_victim_key(x, read.fields) for x in state["victims"]):
        missing = [f for f in rows_.VICTIM_FIELDS if f not in read.fields]
        if missing:  # the record's personal fields would be lost, not corrected
            refused.append(("victims", f"accident {code} is on the record with other "
                                       f"victims, and the victims layer has no "
                                       f"{', '.join(missing)}: replacing them from it would "
                                       "erase those; import a victims layer with every field"))
        else:
            changed["victims"] = victims
    return changed, refused


def _pending_accident_revisions(uow: UnitOfWork) -> dict[str, tuple[str, list[dict]]]:
    """{accident code: (report code of the latest, the waiting revision payloads in order)}
    of ``accident_revision`` entries in open reports."""
    out: dict[str, tuple[str, list[dict]]] = {}
    for report, payload in open_entries(uow, ChangeKind.ACCIDENT_REVISION.value):
        if isinstance(payload, dict) and payload.get("code"):
            _, earlier = out.get(payload["code"], ("", []))
            out[payload["code"]] = (report, [*earlier, payload])
    return out


def compare_accidents(uow: UnitOfWork, file: str, candidates: list[Candidate],
                      read: VictimsRead) -> Plan:
    """New accidents become ``accident`` entries; one on the record that the file
    changes becomes an ``accident_revision`` entry carrying only what changed (its
    victims as a whole list, when the file has a victims layer with every field and
    they differ), and is unchanged when the file says the same of it."""
    plan = Plan()
    victims = read.by_accident
    t, a = s.accidents, s.activities
    stored: dict[str, dict[str, Any]] = {}
    for chunk in _chunks([c.code for c in candidates]):
        for row in uow.conn.execute(
                select(t, a.c.code.label("activity_code")).outerjoin(a, a.c.id == t.c.activity_id)
                .where(t.c.code.in_(list(chunk)))).mappings():
            stored[row["code"]] = dict(row)
    recorded = _stored_victims(uow, [int(r["id"]) for r in stored.values()]) \
        if read.source is not None else {}
    activities = _codes_on_record(uow, a, {c.values["activity_code"] for c in candidates
                                           if c.values.get("activity_code")})
    pending_activities = _pending_codes(uow, ChangeKind.ACTIVITY.value)
    pending = {payload.get("code"): (report, payload)
               for report, payload in open_entries(uow, ChangeKind.ACCIDENT.value)}
    revising = _pending_accident_revisions(uow) if stored else {}
    for c in candidates:
        v = c.values
        if v.get("activity_code") and v["activity_code"] not in activities:
            plan.rejected.append(Rejection(file, c.row, "activity_code", _missing(
                "activity", v["activity_code"], pending_activities)))
            continue
        entry = {"code": c.code, "geometry": c.geometry, **v,
                 "victims": victims.get(c.code, [])}
        row = stored.get(c.code)
        if row is not None:
            clash = label_clash("accident", c.code, row, v)
            if clash:
                plan.rejected.append(Rejection(file, c.row, "synthetic", clash))
                continue
            state = _accident_state(row, recorded.get(row["id"], []))
            if c.code in revising:
                for payload in revising[c.code][1]:
                    state = _revised(state, payload)
            changed, refused = _accident_changes(c.code, state, v, c.geometry,
                                                 victims.get(c.code, []), read)
            if c.code in revising and (changed or refused):
                plan.rejected.append(Rejection(
                    file, c.row, sorted([*changed, *(f for f, _ in refused)])[0],
                    f"accident {c.code} awaits a revision in report {revising[c.code][0]} "
                    "with other values; approve or reject that report first"))
            elif refused:
                plan.rejected.extend(Rejection(file, c.row, f, why) for f, why in refused)
            elif changed:
                c.values = {"code": c.code, **changed}
                plan.changed.append((c, row, changed))
            else:
                plan.unchanged += 1
            continue
        if c.code in pending:
            report, payload = pending[c.code]
            if _same_entry({k: x for k, x in entry.items() if k != "victims"},
                           {k: x for k, x in payload.items() if k in entry and k != "victims"}):
                plan.unchanged += 1
            else:
                plan.rejected.append(Rejection(
                    file, c.row, "code", f"accident {c.code} awaits approval in report "
                    f"{report} with other values; approve or reject that report first"))
            continue
        c.values = entry
        plan.new.append(c)
    return plan


#: Column names of a victims layer: demine field -> names recognised (normalised); the
#: Shapefile export's short names last.
VICTIM_COLUMNS = {
    "accident_code": ("accident_code", "accident_id", "incident_code", "accident", "code",
                      "acc_code"),
    "outcome": ("outcome", "killed_injured", "victim_outcome"),
    "role": ("role", "victim_role", "victim_type"),
    "sex": ("sex", "gender"),
    "age": ("age", "age_years"),
    "activity_at_time": ("activity_at_time", "activity_at_accident", "doing", "act_at_tim"),
}


@dataclass
class VictimsRead:
    """The victims a file brings, by accident code, and where they were read."""

    by_accident: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: the layer they came from (None: the file has no victims layer)
    source: str | None = None
    #: the victim fields the layer has: only these are held against the record (an
    #: export without personal data has outcome and role only)
    fields: tuple[str, ...] = ()


def read_victims(path: Path, file: str, rejected: list[Rejection]) -> VictimsRead:
    """Victims by accident code (an empty :class:`VictimsRead` when there is no layer).

    From the file's ``victims`` layer or sheet, or from the ``victims`` file beside it
    (see :func:`demine.io.reading.companion`). A bad victim row is refused as
    ``<victims file> row N``; its values are not quoted.
    """
    found_at = companion(path, "victims")
    if found_at is None:
        return VictimsRead()
    source, label, layer = found_at
    suffix = Path(source).suffix.lower() if layer is None else path.suffix.lower()
    options = {"HEADERS": "FORCE", "FIELD_TYPES": "AUTO"} if suffix == ".xlsx" else {}
    try:
        frame: pd.DataFrame = pyogrio.read_dataframe(source, layer=layer,
                                                     read_geometry=False, **options)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        rejected.append(Rejection(label, 0, "file", f"cannot be read: {exc}"))
        return VictimsRead(source=label)
    by_norm = {normalise(c): c for c in frame.columns}
    columns = {}
    for fld, variants in VICTIM_COLUMNS.items():
        column = next((by_norm[v] for v in variants if v in by_norm), None)
        if column is not None:
            columns[fld] = column
    for needed in ("accident_code", "outcome", "role"):
        if needed not in columns:
            rejected.append(Rejection(label, 1, needed, "required column not found in the "
                                                        "victims layer"))
            return VictimsRead(source=label)
    first = 2 if suffix in (".csv", ".xlsx") else 1
    cells_of = {fld: frame[col].tolist() for fld, col in columns.items()}
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in range(len(frame)):
        cells = {fld: values[i] for fld, values in cells_of.items()}
        record = f"{label} row {first + i}"
        try:
            code = rows_.code_of(cells["accident_code"], record, "accident_code")
        except ValidationError as exc:
            rejected.append(Rejection(label, first + i, "accident_code", exc.problem))
            continue
        values, problems = rows_.victim(cells, record)
        rejected.extend(Rejection(label, first + i, fld, why) for fld, why in problems)
        if values is not None:
            found[code].append(values)
    return VictimsRead(dict(found), label,
                       tuple(f for f in rows_.VICTIM_FIELDS if f in columns))


def _victim_key(victim: dict[str, Any], fields: tuple[str, ...]) -> tuple[str, ...]:
    """A victim as comparable text over ``fields``, blanks as the record stores them."""
    blank = {"sex": "unknown", "activity_at_time": ""}
    return tuple(repr(victim.get(f) if victim.get(f) not in (None, "") else blank.get(f))
                 for f in fields)


def _stored_victims(uow: UnitOfWork, accident_ids: list[int]) -> dict[int, list[dict]]:
    v = s.victims
    found: dict[int, list[dict]] = defaultdict(list)
    for chunk in _chunks(accident_ids):
        for row in uow.conn.execute(select(v).where(v.c.accident_id.in_(list(chunk)),
                                                    v.c.void.is_(False))
                                    .order_by(v.c.id)).mappings():
            found[row["accident_id"]].append(dict(row))
    return found


def entries(layer: str, plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """The report entries of a plan: one per new or changed record, in file order (a
    changed accident is an ``accident_revision``; a changed activity an ``activity``)."""
    kind = ENTRY_KIND[layer]
    revised = REVISION_KIND.get(layer, kind)
    chosen = sorted([*((c, kind) for c in plan.new),
                     *((c, revised) for c, _, _ in plan.changed)], key=lambda x: x[0].row)
    return [(k, c.values) for c, k in chosen]
