"""Controlled vocabularies of mine action (IMAS, GICHD Minimum Data Requirements, IMSMA).

Every enumerated field in demine takes its values from here so that a file, a form or
an API call with a value outside the list is refused by name instead of being stored
as free text that no report can count.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from demine.domain.errors import ValidationError


class OrganisationKind(StrEnum):
    NMAA = "nmaa"
    OPERATOR = "operator"
    QA_BODY = "qa_body"
    DONOR = "donor"


class HazardClass(StrEnum):
    """SHA rests on indirect evidence only; CHA on at least one direct evidence item."""

    SHA = "SHA"
    CHA = "CHA"


class EvidenceKind(StrEnum):
    DIRECT = "direct"
    INDIRECT = "indirect"


class EvidenceType(StrEnum):
    DETONATION = "detonation"
    ACCIDENT_KNOWN_PLACE = "accident_known_place"
    MINE_SIGN = "mine_sign"
    VISUAL_SIGHTING = "visual_sighting"
    RELIABLE_RECORD = "reliable_record"
    FORMER_FRONT_LINE = "former_front_line"
    OLD_SURVEY = "old_survey"
    ACCIDENT_UNKNOWN_PLACE = "accident_unknown_place"
    UNUSED_PRODUCTIVE_LAND = "unused_productive_land"
    HEARSAY = "hearsay"
    OTHER = "other"


class EOCategory(StrEnum):
    AP_MINE = "ap_mine"
    AT_MINE = "at_mine"
    CLUSTER_MUNITION = "cluster_munition"
    UXO = "uxo"
    AXO = "axo"
    BOOBY_TRAP = "booby_trap"
    IED = "ied"


class Blockage(StrEnum):
    ROAD = "road"
    AGRICULTURE = "agriculture"
    HOUSING = "housing"
    INFRASTRUCTURE = "infrastructure"
    WATER = "water"


class RoadClass(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    TRACK = "track"


class HazardStatus(StrEnum):
    """IMAS 07.11 land status as the map draws it."""

    OPEN = "open"
    WORKED_ON = "worked_on"
    RELEASED = "released"


class ActivityType(StrEnum):
    NTS = "nts"
    TS = "ts"
    CLEARANCE = "clearance"
    BAC = "bac"
    EOD_SPOT = "eod_spot"
    QC_INSPECTION = "qc_inspection"


class ActivityStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    SUSPENDED = "suspended"
    COMPLETED = "completed"


class ReleaseMethod(StrEnum):
    """How a piece of land left the hazard: the three terms of the accounting identity."""

    CANCELLED = "cancelled"
    REDUCED = "reduced"
    CLEARED = "cleared"


class ItemCondition(StrEnum):
    ARMED = "armed"
    UNARMED = "unarmed"
    DAMAGED = "damaged"
    UNKNOWN = "unknown"


class Disposal(StrEnum):
    DESTROYED_IN_SITU = "destroyed_in_situ"
    REMOVED = "removed"
    RENDERED_SAFE = "rendered_safe"


class AccidentType(StrEnum):
    DEMINING = "demining"
    MINE_ERW = "mine_erw"


class VictimOutcome(StrEnum):
    KILLED = "killed"
    INJURED = "injured"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class VictimRole(StrEnum):
    DEMINER = "deminer"
    CIVILIAN = "civilian"


class AssetType(StrEnum):
    MANUAL_TEAM = "manual_team"
    MDD_TEAM = "mdd_team"
    MECHANICAL = "mechanical"
    ROBOTIC_PLATFORM = "robotic_platform"
    DRONE_SURVEY = "drone_survey"


class ReportStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class QcResult(StrEnum):
    """Outcome of a post-clearance inspection of one lot (IMAS 09.20)."""

    PASS = "pass"
    FAIL = "fail"


class ChangeKind(StrEnum):
    """What one entry of a report does to the official record."""

    NEW_HAZARD = "new_hazard"
    EVIDENCE = "evidence"
    HAZARD_REVISION = "hazard_revision"
    ACTIVITY = "activity"
    FINDING = "finding"
    ACCIDENT = "accident"
    ACCIDENT_REVISION = "accident_revision"
    REVERSAL = "reversal"


E = TypeVar("E", bound=StrEnum)


def parse_enum(enum: type[E], value: object, *, record: str, field: str) -> E:
    """Turn outside text into an enumeration member or say exactly which value is wrong."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        text = value.strip()
        for member in enum:
            if text == member.value or text.lower() == member.value.lower():
                return member
    allowed = ", ".join(m.value for m in enum)
    raise ValidationError(record, field, f"unknown value {value!r}; expected one of: {allowed}")


def parse_enum_list(enum: type[E], values: object, *, record: str, field: str) -> tuple[E, ...]:
    if values is None:
        return ()
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise ValidationError(record, field, f"expected a list of values, got {values!r}")
    parsed = [parse_enum(enum, v, record=record, field=field) for v in values]
    return tuple(dict.fromkeys(parsed))
