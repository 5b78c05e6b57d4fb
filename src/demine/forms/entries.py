"""One submission of a demine form -> the entries of a draft report.

Every answer is checked here, by the column it came from, so that a refusal reads
``file nts.csv row 4: survey/area: a geoshape needs at least 3 distinct points``
rather than naming a report entry the field team never saw. The entries are then
exactly those any other door (API, file import) would send to ``create_draft``: a form
adds no rule of its own and changes nothing by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from shapely.geometry import Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError
from demine.domain.vocab import (
    AccidentType,
    ActivityStatus,
    ActivityType,
    Blockage,
    ChangeKind,
    Disposal,
    EOCategory,
    EvidenceKind,
    EvidenceType,
    HazardClass,
    ItemCondition,
    ReleaseMethod,
    Sex,
    VictimOutcome,
    VictimRole,
    parse_enum,
)
from demine.forms.exports import Row, Submission, as_date
from demine.forms.geopoints import parse_geopoint, parse_geoshape
from demine.forms.xlsform import FormSpec
from demine.geo.checks import check_code, check_point, check_polygon


@dataclass
class Known:
    """What the record already holds, looked up once before the submissions are read."""

    organisations: set[str]
    hazards: set[str]
    activities: set[str]
    accidents: set[str]
    default_organisation: str | None = None


@dataclass
class Draft:
    """A draft report to be: its date of information, organisation and entries."""

    info_date: date
    organisation_code: str
    entries: list[tuple[str, dict[str, Any]]]
    #: geometries to hold against the project's area: (row, column, geometry)
    geometries: list[tuple[Row, str, BaseGeometry]] = field(default_factory=list)
    #: new hazard areas this draft would put on the record
    new_hazards: list[str] = field(default_factory=list)


class Answers:
    """Typed access to one row's answers; every refusal names its row and column."""

    def __init__(self, row: Row, spec: FormSpec) -> None:
        self.row = row
        self.names = {q.name for _, q in spec.questions()}
        self.geometries: list[tuple[Row, str, BaseGeometry]] = []

    def column(self, name: str) -> str:
        if name not in self.names:  # a programming error: the ingest reads its own forms
            raise KeyError(f"{name} is not a question of this form")
        return self.row.column(name) or name

    def fail(self, name: str, problem: str) -> ValidationError:
        return ValidationError(self.row.where, self.column(name), problem)

    def raw(self, name: str) -> Any:
        self.column(name)
        return self.row.get(name)

    def text(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else str(value)

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise self.fail(name, "is required")
        return value

    def code(self, name: str, *, required: bool = True) -> str | None:
        value = self.required(name) if required else self.text(name)
        return None if value is None else check_code(value, record=self.row.where,
                                                     field=self.column(name))

    def day(self, name: str) -> date:
        value = self.raw(name)
        if value is None:
            raise self.fail(name, "is required")
        found = as_date(value)
        if found is None:
            raise self.fail(name, f"{value!r} is not a date (YYYY-MM-DD)")
        return found

    def integer(self, name: str, *, maximum: int) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.fail(name, f"{value!r} is not a number") from None
        if not number.is_integer() or not 0 <= number <= maximum:
            raise self.fail(name, f"{value!r} is not a whole number from 0 to {maximum}")
        return int(number)

    def choice(self, enum: type[StrEnum], name: str, *, required: bool = True) -> str | None:
        value = self.required(name) if required else self.text(name)
        if value is None:
            return None
        return parse_enum(enum, value, record=self.row.where, field=self.column(name)).value

    def choices(self, enum: type[StrEnum], name: str) -> list[str]:
        value = self.text(name)
        return [parse_enum(enum, v, record=self.row.where, field=self.column(name)).value
                for v in (value or "").split()]

    def shape(self, name: str, *, required: bool = True,
              feature: BaseGeometry | None = None) -> Polygon | None:
        """A geoshape answer; from a GeoJSON export, the feature's own geometry."""
        if feature is not None:
            polygon = check_polygon(feature, record=self.row.where, field="geometry")
            self.geometries.append((self.row, "geometry", polygon))
            return polygon
        value = self.text(name)
        if value is None:
            if required:
                raise self.fail(name, "is required")
            return None
        polygon = parse_geoshape(value, record=self.row.where, field=self.column(name))
        self.geometries.append((self.row, self.column(name), polygon))
        return polygon

    def point(self, name: str, *, feature: BaseGeometry | None = None) -> Point:
        """A geopoint answer ("lat lon alt acc"), or its split columns."""
        if feature is not None:
            point = check_point(feature, record=self.row.where, field="geometry")
            self.geometries.append((self.row, "geometry", point))
            return point
        value = self.text(name)
        if value is None:
            # KoBo also splits a geopoint into _name_latitude/_name_longitude; ODK
            # Central only splits it, into group-name-Latitude/-Longitude
            lat = self.row.get(f"_{name}_latitude") or self.row.ending(f"{name}-Latitude")
            lon = self.row.get(f"_{name}_longitude") or self.row.ending(f"{name}-Longitude")
            if lat is None or lon is None:
                raise self.fail(name, "is required")
            value = f"{lat} {lon}"
        point = parse_geopoint(value, record=self.row.where, field=self.column(name))
        self.geometries.append((self.row, self.column(name), point))
        return point


def _organisation(a: Answers, known: Known) -> str:
    code = a.code("organisation_code", required=False) or known.default_organisation
    if code is None:
        raise a.fail("organisation_code", "no organisation: fill it in the form or give "
                                          "one at ingest (--org)")
    if code not in known.organisations:
        raise a.fail("organisation_code", f"organisation {code} is not on the record")
    return code


def _geo_feature(sub: Submission) -> BaseGeometry | None:
    return sub.geometry if sub.geometry is not None and not sub.geometry.is_empty else None


def nts(sub: Submission, spec: FormSpec, known: Known) -> Draft:
    """A survey of a new area is a new hazard; of a recorded one, new evidence on it."""
    a = Answers(sub.main, spec)
    code = a.code("hazard_code")
    info_date = a.day("survey_date")
    organisation = _organisation(a, known)
    classification = a.choice(HazardClass, "classification")
    suspected = a.choices(EOCategory, "eo_suspected")
    blockages = a.choices(Blockage, "blockages")
    polygon = a.shape("area", feature=_geo_feature(sub))
    evidence = []
    for row in sub.repeats.get("evidence", []):
        r = Answers(row, spec)
        evidence.append({"kind": r.choice(EvidenceKind, "evidence_kind"),
                         "type": r.choice(EvidenceType, "evidence_type"),
                         "description": r.text("evidence_description") or ""})
    if code in known.hazards:
        if not evidence:
            raise a.fail("hazard_code", f"hazard area {code} is already on the record; a "
                                        "survey of it must bring at least one evidence item")
        entries = [(ChangeKind.EVIDENCE.value, {"hazard_code": code, "items": evidence,
                                                "eo_suspected": suspected})]
        return Draft(info_date, organisation, entries, a.geometries)
    assert polygon is not None
    payload = {"code": code, "name": a.text("hazard_name") or code,
               "classification": classification, "geometry": mapping(polygon),
               "eo_suspected": suspected, "blockages": blockages, "evidence": evidence}
    return Draft(info_date, organisation, [(ChangeKind.NEW_HAZARD.value, payload)],
                 a.geometries, new_hazards=[code])


def _find(row: Row, spec: FormSpec, activity: str, found_on: date, a: Answers) -> dict:
    r = Answers(row, spec)
    point = r.point("find_point")
    a.geometries.extend(r.geometries)
    return {"activity_code": activity, "geometry": mapping(point),
            "eo_category": r.choice(EOCategory, "find_category"),
            "found_on": found_on.isoformat(), "model": r.text("find_model") or "",
            "condition": r.choice(ItemCondition, "find_condition", required=False)
            or ItemCondition.UNKNOWN.value,
            "depth_mm": r.integer("find_depth_mm", maximum=10000),
            "disposal": r.choice(Disposal, "find_disposal")}


def progress(sub: Submission, spec: FormSpec, known: Known) -> Draft:
    """A day's work on an activity: its status, the land released, the items found."""
    a = Answers(sub.main, spec)
    activity = a.code("activity_code")
    hazard = a.code("hazard_code")
    if hazard not in known.hazards:
        raise a.fail("hazard_code", f"hazard area {hazard} is not on the record")
    work_date = a.day("work_date")
    organisation = _organisation(a, known)
    status = a.choice(ActivityStatus, "status")
    payload: dict[str, Any] = {"code": activity, "hazard_code": hazard,
                               "type": a.choice(ActivityType, "activity_type"),
                               "status": status, "organisation_code": organisation}
    team = a.code("team_code", required=False)
    if team:
        payload["team_code"] = team
    if activity not in known.activities:
        payload["actual_start"] = work_date.isoformat()
    if status == ActivityStatus.COMPLETED.value:
        payload["actual_end"] = work_date.isoformat()
    if status == ActivityStatus.SUSPENDED.value:
        payload["suspension_reason"] = a.required("suspension_reason")
    depth = a.integer("clearance_depth_mm", maximum=5000)
    if depth:
        payload["clearance_depth_mm"] = depth
    worked = a.shape("worked_area", required=False, feature=_geo_feature(sub))
    method = a.choice(ReleaseMethod, "release_method", required=False)
    if worked is not None and method is None:
        raise a.fail("release_method", "is required when land was worked")
    payload["outcomes"] = [{"method": method, "geometry": mapping(worked)}] if worked else []
    entries = [(ChangeKind.ACTIVITY.value, payload)]
    for row in sub.repeats.get("finds", []):
        entries.append((ChangeKind.FINDING.value, _find(row, spec, activity, work_date, a)))
    return Draft(work_date, organisation, entries, a.geometries)


def finding(sub: Submission, spec: FormSpec, known: Known) -> Draft:
    """One item found on an activity's worksite."""
    a = Answers(sub.main, spec)
    found_on = a.day("found_on")
    payload = {"activity_code": a.code("activity_code"),
               "geometry": mapping(a.point("location", feature=_geo_feature(sub))),
               "eo_category": a.choice(EOCategory, "eo_category"),
               "found_on": found_on.isoformat(), "model": a.text("model") or "",
               "condition": a.choice(ItemCondition, "condition"),
               "depth_mm": a.integer("depth_mm", maximum=10000),
               "disposal": a.choice(Disposal, "disposal")}
    photo = a.text("photo")
    if photo:
        payload["photo"] = photo
    return Draft(found_on, _organisation(a, known), [(ChangeKind.FINDING.value, payload)],
                 a.geometries)


def accident(sub: Submission, spec: FormSpec, known: Known) -> Draft:
    """An accident and its victims (their details are personal data, as on the record)."""
    a = Answers(sub.main, spec)
    code = a.code("accident_code")
    if code in known.accidents:
        raise a.fail("accident_code", f"accident {code} is already on the record")
    when = a.day("accident_date")
    kind = a.choice(AccidentType, "accident_type")
    payload: dict[str, Any] = {
        "code": code, "accident_date": when.isoformat(),
        "geometry": mapping(a.point("location", feature=_geo_feature(sub))),
        "type": kind, "device_category": a.choice(EOCategory, "device_category"),
        "narrative": a.text("narrative") or "", "victims": []}
    activity = a.code("activity_code", required=False)
    if activity:
        payload["activity_code"] = activity
    for row in sub.repeats.get("victims", []):
        r = Answers(row, spec)
        payload["victims"].append({
            "outcome": r.choice(VictimOutcome, "victim_outcome"),
            "role": r.choice(VictimRole, "victim_role"),
            "sex": r.choice(Sex, "victim_sex", required=False) or Sex.UNKNOWN.value,
            "age": r.integer("victim_age", maximum=120),
            "activity_at_time": r.text("victim_activity") or ""})
    return Draft(when, _organisation(a, known), [(ChangeKind.ACCIDENT.value, payload)],
                 a.geometries)


Builder = Callable[[Submission, FormSpec, Known], Draft]
BUILDERS: dict[str, Builder] = {
    "demine_nts": nts, "demine_progress": progress, "demine_finding": finding,
    "demine_accident": accident,
}
