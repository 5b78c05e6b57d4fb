"""The entries a report can carry, parsed and checked before a report is stored.

Reports arrive as JSON from forms, files, the API and the CLI. Each entry is parsed
into a typed change here, so a draft with an unknown EO category or a bow-tie polygon
is refused at the door, naming the report entry and the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from demine.domain.entities import (
    Accident,
    EvidenceItem,
    Finding,
    HazardArea,
    Outcome,
    QcInspection,
    Victim,
)
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
    parse_enum_list,
)
from demine.geo.checks import (
    check_code,
    check_point,
    check_polygon,
    check_polygons,
    parse_geometry,
)


@dataclass(frozen=True)
class NewHazard:
    hazard: HazardArea


@dataclass(frozen=True)
class NewEvidence:
    hazard_code: str
    items: tuple[EvidenceItem, ...]
    eo_suspected: tuple[EOCategory, ...] = ()


@dataclass(frozen=True)
class HazardRevision:
    """Corrected descriptive attributes of a hazard on the record (name, declared
    classification, suspected EO, blockages): only those present in the entry change.

    The boundary is not among them: land leaves a hazard through survey and clearance
    outcomes, never by redrawing it.
    """

    hazard_code: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class ActivityChange:
    """New or progressed activity; only the attributes present in the entry are set."""

    code: str
    hazard_code: str
    attributes: Mapping[str, Any]
    outcomes: tuple[Outcome, ...] = ()
    qc: QcInspection | None = None


@dataclass(frozen=True)
class NewFinding:
    finding: Finding


@dataclass(frozen=True)
class NewAccident:
    accident: Accident


@dataclass(frozen=True)
class AccidentRevision:
    """Corrected facts of an accident on the record: only the attributes present in the
    entry change (``accident_date``, ``type``, ``device_category``, ``narrative``,
    ``activity_code`` (None unlinks it), ``geometry`` (the point)).

    ``victims``, when given, is the accident's whole list of victims as it should stand
    (an empty tuple: none); None leaves the victims as they are. The victims replaced
    are kept, void, so that a reversal can give them back.
    """

    code: str
    attributes: Mapping[str, Any]
    victims: tuple[Victim, ...] | None = None


@dataclass(frozen=True)
class Reversal:
    report_code: str
    reason: str


Change = (NewHazard | NewEvidence | HazardRevision | ActivityChange | NewFinding | NewAccident
          | AccidentRevision | Reversal)

ACTIVITY_ATTRIBUTES = (
    "type", "organisation_code", "team_code", "planned_start", "planned_end",
    "actual_start", "actual_end", "status", "suspension_reason", "clearance_depth_mm",
)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """A payload with geometries as GeoJSON, dates as ISO 8601 and enums as their values."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, BaseGeometry):
        return mapping(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class _Entry:
    """Field access on one payload that names the entry in every complaint."""

    def __init__(self, payload: Any, label: str) -> None:
        if not isinstance(payload, Mapping):
            raise ValidationError(label, "payload", "a report entry must be an object")
        self.payload = payload
        self.label = label

    def has(self, key: str) -> bool:
        return self.payload.get(key) is not None

    def required(self, key: str) -> Any:
        value = self.payload.get(key)
        if value is None or value == "":
            raise ValidationError(self.label, key, "is required")
        return value

    def text(self, key: str, default: str = "") -> str:
        value = self.payload.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ValidationError(self.label, key, f"expected text, got {value!r}")
        return value

    def code(self, key: str, required: bool = True) -> str | None:
        if not required and not self.has(key):
            return None
        return check_code(self.required(key), record=self.label, field=key)

    def enum(self, enum, key: str, default=None):
        if not self.has(key):
            if default is None:
                raise ValidationError(self.label, key, "is required")
            return default
        return parse_enum(enum, self.payload[key], record=self.label, field=key)

    def enums(self, enum, key: str) -> tuple:
        return parse_enum_list(enum, self.payload.get(key), record=self.label, field=key)

    def day(self, key: str, required: bool = False) -> date | None:
        value = self.payload.get(key)
        if value is None:
            if required:
                raise ValidationError(self.label, key, "is required")
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise ValidationError(self.label, key, f"{value!r} is not an ISO date") from exc

    def number(self, key: str, *, minimum: float | None = 0, integer: bool = False,
               maximum: float | None = None) -> float | int | None:
        value = self.payload.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(self.label, key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ValidationError(self.label, key, f"{value!r} is not a finite number")
        if integer and int(value) != value:
            raise ValidationError(self.label, key, f"expected a whole number, got {value!r}")
        if minimum is not None and value < minimum:
            raise ValidationError(self.label, key, f"{value!r} is below {minimum}")
        if maximum is not None and value > maximum:
            raise ValidationError(self.label, key, f"{value!r} is above {maximum}")
        return int(value) if integer else float(value)

    def items(self, key: str) -> list[_Entry]:
        values = self.payload.get(key) or []
        if not isinstance(values, list | tuple):
            raise ValidationError(self.label, key, "expected a list")
        return [_Entry(v, f"{self.label} {key}[{i}]") for i, v in enumerate(values)]


def _evidence(entry: _Entry) -> EvidenceItem:
    return EvidenceItem(
        kind=entry.enum(EvidenceKind, "kind"),
        type=entry.enum(EvidenceType, "type"),
        description=entry.text("description"),
    )


def _new_hazard(e: _Entry, polygon: BaseGeometry | None = None) -> NewHazard:
    code = e.code("code")
    return NewHazard(HazardArea(
        code=code,
        name=e.text("name") or code,
        classification=e.enum(HazardClass, "classification", HazardClass.SHA),
        polygon=polygon if polygon is not None else check_polygon(
            e.required("geometry"), record=e.label, field="geometry"),
        eo_suspected=e.enums(EOCategory, "eo_suspected"),
        blockages=e.enums(Blockage, "blockages"),
        evidence=tuple(_evidence(x) for x in e.items("evidence")),
        synthetic=bool(e.payload.get("synthetic", False)),
    ))


#: What a hazard revision may set (entry key); the boundary is not revisable.
REVISABLE_HAZARD_ATTRIBUTES = ("name", "classification", "eo_suspected", "blockages")


def _hazard_revision(e: _Entry) -> HazardRevision:
    code = e.code("hazard_code")
    unknown = sorted(set(e.payload) - {"hazard_code", *REVISABLE_HAZARD_ATTRIBUTES})
    if unknown:
        raise ValidationError(e.label, unknown[0], "a hazard revision sets only "
                              f"{', '.join(REVISABLE_HAZARD_ATTRIBUTES)}; the boundary "
                              "changes through survey and clearance outcomes")
    attributes: dict[str, Any] = {}
    if "name" in e.payload:
        name = e.text("name").strip()
        if not name:
            raise ValidationError(e.label, "name", "a hazard's name cannot be blank")
        attributes["name"] = name
    if "classification" in e.payload:
        attributes["classification"] = e.enum(HazardClass, "classification")
    for key, enum in (("eo_suspected", EOCategory), ("blockages", Blockage)):
        if key in e.payload:
            attributes[key] = e.enums(enum, key)
    if not attributes:
        raise ValidationError(e.label, "payload", "a hazard revision needs at least one of "
                              + ", ".join(REVISABLE_HAZARD_ATTRIBUTES))
    return HazardRevision(code, attributes)


def _activity(e: _Entry) -> ActivityChange:
    attributes: dict[str, Any] = {}
    if e.has("type"):
        attributes["type"] = e.enum(ActivityType, "type")
    if e.has("status"):
        attributes["status"] = e.enum(ActivityStatus, "status")
    for key in ("organisation_code", "team_code"):
        if e.has(key):
            attributes[key] = e.code(key)
    for key in ("planned_start", "planned_end", "actual_start", "actual_end"):
        if e.has(key):
            attributes[key] = e.day(key)
    if e.has("clearance_depth_mm"):
        attributes["clearance_depth_mm"] = e.number(
            "clearance_depth_mm", integer=True, maximum=5000)
    if e.has("suspension_reason"):
        attributes["suspension_reason"] = e.text("suspension_reason")
    if attributes.get("status") is ActivityStatus.SUSPENDED and not (
            attributes.get("suspension_reason") or "").strip():
        raise ValidationError(e.label, "suspension_reason", "a suspended activity needs a reason")
    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        if attributes.get(start) and attributes.get(end) and attributes[end] < attributes[start]:
            raise ValidationError(e.label, end, f"{attributes[end]} is before {start}")
    outcomes = tuple(
        Outcome(method=o.enum(ReleaseMethod, "method"),
                polygon=check_polygon(o.required("geometry"), record=o.label, field="geometry"))
        for o in e.items("outcomes")
    )
    if e.has("synthetic"):
        attributes["synthetic"] = bool(e.payload["synthetic"])
    qc = None
    if e.has("qc"):
        if attributes.get("type", ActivityType.QC_INSPECTION) is not ActivityType.QC_INSPECTION:
            raise ValidationError(e.label, "qc", "only a qc_inspection activity has QC results")
        if outcomes:
            raise ValidationError(e.label, "outcomes",
                                  "a QC inspection releases no land; its lot is the land the "
                                  "inspected activity released")
        qc = _qc(_Entry(e.payload["qc"], f"{e.label} qc"))
    return ActivityChange(code=e.code("code"), hazard_code=e.code("hazard_code"),
                          attributes=attributes, outcomes=outcomes, qc=qc)


#: the most sample units a lot can count (the stores keep the counts as 32-bit integers)
MAX_UNITS = 2**31 - 1


def _qc(e: _Entry) -> QcInspection:
    lot = e.number("lot_units", minimum=1, integer=True, maximum=MAX_UNITS)
    sample = e.number("sample_units", minimum=1, integer=True, maximum=MAX_UNITS)
    for key, value in (("lot_units", lot), ("sample_units", sample)):
        if value is None:
            raise ValidationError(e.label, key, "is required")
    if sample > lot:
        raise ValidationError(e.label, "sample_units",
                              f"{sample} sample units is more than the lot's {lot}")
    defects = e.number("defects", integer=True)
    if defects is None:
        raise ValidationError(e.label, "defects", "is required (0 when nothing was found)")
    if defects > sample:
        raise ValidationError(e.label, "defects",
                              f"{defects} defects in only {sample} sample units")
    unit = e.number("unit_m2", minimum=None)
    if unit is None or unit <= 0:
        raise ValidationError(e.label, "unit_m2", "the area of one sample unit (m²) is required")
    accept = e.number("accept_number", integer=True) or 0
    if accept >= sample:
        raise ValidationError(e.label, "accept_number",
                              f"accepting {accept} defects in {sample} sample units accepts "
                              "every lot")
    return QcInspection(
        inspects=e.code("inspects"),
        plan=e.text("plan") or "unspecified",
        lot_units=lot, sample_units=sample, unit_m2=unit,
        accept_number=accept,
        defects=defects,
    )


def _finding(e: _Entry) -> NewFinding:
    return NewFinding(Finding(
        activity_code=e.code("activity_code"),
        point=check_point(e.required("geometry"), record=e.label, field="geometry"),
        eo_category=e.enum(EOCategory, "eo_category"),
        found_on=e.day("found_on", required=True),
        model=e.text("model"),
        condition=e.enum(ItemCondition, "condition", ItemCondition.UNKNOWN),
        depth_mm=e.number("depth_mm", integer=True, maximum=10000),
        disposal=e.enum(Disposal, "disposal", Disposal.DESTROYED_IN_SITU),
        synthetic=bool(e.payload.get("synthetic", False)),
    ))


def _victim(e: _Entry) -> Victim:
    return Victim(
        outcome=e.enum(VictimOutcome, "outcome"),
        role=e.enum(VictimRole, "role"),
        sex=e.enum(Sex, "sex", Sex.UNKNOWN),
        age=e.number("age", integer=True, maximum=120),
        activity_at_time=e.text("activity_at_time"),
    )


def _accident(e: _Entry) -> NewAccident:
    return NewAccident(Accident(
        code=e.code("code"),
        accident_date=e.day("accident_date", required=True),
        point=check_point(e.required("geometry"), record=e.label, field="geometry"),
        type=e.enum(AccidentType, "type"),
        device_category=e.enum(EOCategory, "device_category"),
        activity_code=e.code("activity_code", required=False),
        narrative=e.text("narrative"),
        victims=tuple(_victim(v) for v in e.items("victims")),
        synthetic=bool(e.payload.get("synthetic", False)),
    ))


#: What an accident revision may set (entry key); ``victims`` replaces the whole list.
REVISABLE_ACCIDENT_ATTRIBUTES = ("accident_date", "type", "device_category", "narrative",
                                 "activity_code", "geometry", "victims")


def _accident_revision(e: _Entry) -> AccidentRevision:
    code = e.code("code")
    unknown = sorted(set(e.payload) - {"code", *REVISABLE_ACCIDENT_ATTRIBUTES})
    if unknown:
        raise ValidationError(e.label, unknown[0], "an accident revision sets only "
                              f"{', '.join(REVISABLE_ACCIDENT_ATTRIBUTES)}")
    attributes: dict[str, Any] = {}
    if "accident_date" in e.payload:
        attributes["accident_date"] = e.day("accident_date", required=True)
    if "type" in e.payload:
        attributes["type"] = e.enum(AccidentType, "type")
    if "device_category" in e.payload:
        attributes["device_category"] = e.enum(EOCategory, "device_category")
    if "narrative" in e.payload:
        attributes["narrative"] = e.text("narrative")
    if "activity_code" in e.payload:  # None: the accident is linked to no activity
        attributes["activity_code"] = e.code("activity_code", required=False)
    if "geometry" in e.payload:
        attributes["geometry"] = check_point(e.required("geometry"), record=e.label,
                                             field="geometry")
    victims = None
    if e.payload.get("victims") is not None:
        victims = tuple(_victim(v) for v in e.items("victims"))
    if not attributes and victims is None:
        raise ValidationError(e.label, "payload", "an accident revision needs at least one of "
                              + ", ".join(REVISABLE_ACCIDENT_ATTRIBUTES))
    return AccidentRevision(code, attributes, victims)


def parse_change(kind: ChangeKind | str, payload: Any, label: str, *,
                 _polygon: BaseGeometry | None = None) -> Change:
    """Parse one report entry; ``label`` names it in errors (e.g. ``RPT-000012 entry 2``)."""
    kind = parse_enum(ChangeKind, kind, record=label, field="kind")
    e = _Entry(payload, label)
    if kind is ChangeKind.NEW_HAZARD:
        return _new_hazard(e, _polygon)
    if kind is ChangeKind.EVIDENCE:
        items = tuple(_evidence(x) for x in e.items("items"))
        if not items:
            raise ValidationError(label, "items", "at least one evidence item is required")
        return NewEvidence(e.code("hazard_code"), items, e.enums(EOCategory, "eo_suspected"))
    if kind is ChangeKind.HAZARD_REVISION:
        return _hazard_revision(e)
    if kind is ChangeKind.ACTIVITY:
        return _activity(e)
    if kind is ChangeKind.FINDING:
        return _finding(e)
    if kind is ChangeKind.ACCIDENT:
        return _accident(e)
    if kind is ChangeKind.ACCIDENT_REVISION:
        return _accident_revision(e)
    return Reversal(e.code("report_code"), e.text("reason") or e.required("reason"))


def parse_changes(entries: Sequence[tuple[ChangeKind | str, Any, str]]) -> list[Change]:
    """:func:`parse_change` over many ``(kind, payload, label)`` entries, in order.

    The same checks and the same first error as parsing them one by one; the polygons of
    new hazards (a national import puts thousands in one report) are checked together
    with the vectorised screen of :func:`demine.geo.checks.check_polygons`, and only
    those it cannot pass are checked one by one (where a bad one raises, in order).
    """
    kinds = [k.value if isinstance(k, ChangeKind) else k for k, _, _ in entries]
    at: list[int] = []
    raw: list[Any] = []
    for i, (kind, payload, _label) in enumerate(entries):
        if kind == ChangeKind.NEW_HAZARD.value and isinstance(payload, Mapping) and \
                payload.get("geometry") is not None:
            try:
                raw.append(parse_geometry(payload["geometry"], record="", field="geometry"))
            except ValidationError:
                continue  # refused in order below, with the entry named
            at.append(i)
    polygons: dict[int, BaseGeometry] = {}
    if at:
        checked, _refused = check_polygons(raw, [entries[i][2] for i in at])
        polygons = {i: g for i, g in zip(at, checked.tolist(), strict=True) if g is not None}
    return [parse_change(kinds[i], payload, label, _polygon=polygons.get(i))
            for i, (_kind, payload, label) in enumerate(entries)]


def hazard_codes_touched(change: Change) -> set[str]:
    if isinstance(change, NewHazard):
        return {change.hazard.code}
    if isinstance(change, NewEvidence | HazardRevision | ActivityChange):
        return {change.hazard_code}
    return set()  # findings, accidents and their revisions, reversals: no hazard by code
