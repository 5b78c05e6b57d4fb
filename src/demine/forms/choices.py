"""Choice lists of the field forms, built from demine's vocabularies.

A form whose lists were typed by hand drifts from the record: a new EO category in
``vocab.py`` would never reach the phones, and a typo in a choice name would only show
when an approval refuses the report weeks later. Building the lists from the enums
makes the form and the record speak the same words by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from demine.domain.vocab import (
    AccidentType,
    ActivityStatus,
    ActivityType,
    Blockage,
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
)

#: Labels a deminer reads; any value not listed reads as its name in words.
LABELS: dict[StrEnum, str] = {
    HazardClass.SHA: "Suspected hazardous area (SHA): indirect evidence only",
    HazardClass.CHA: "Confirmed hazardous area (CHA): direct evidence",
    EOCategory.AP_MINE: "Anti-personnel mine",
    EOCategory.AT_MINE: "Anti-tank (anti-vehicle) mine",
    EOCategory.CLUSTER_MUNITION: "Cluster munition / submunition",
    EOCategory.UXO: "Unexploded ordnance (UXO)",
    EOCategory.AXO: "Abandoned explosive ordnance (AXO)",
    EOCategory.BOOBY_TRAP: "Booby trap / other device",
    EOCategory.IED: "Improvised explosive device (IED)",
    EvidenceType.ACCIDENT_KNOWN_PLACE: "Accident at a known place",
    EvidenceType.ACCIDENT_UNKNOWN_PLACE: "Accident at an unknown place",
    EvidenceType.OLD_SURVEY: "Old survey data",
    EvidenceType.UNUSED_PRODUCTIVE_LAND: "Unused productive land",
    ActivityType.NTS: "Non-technical survey",
    ActivityType.TS: "Technical survey",
    ActivityType.BAC: "Battle area clearance",
    ActivityType.EOD_SPOT: "EOD spot task",
    ActivityType.QC_INSPECTION: "Post-clearance inspection (QC)",
    AccidentType.DEMINING: "Demining accident (at a worksite, to a deminer)",
    AccidentType.MINE_ERW: "Mine/ERW accident (civilians)",
    Disposal.DESTROYED_IN_SITU: "Destroyed in situ",
}


def label(member: StrEnum) -> str:
    return LABELS.get(member, member.value.replace("_", " ").capitalize())


@dataclass(frozen=True)
class ChoiceList:
    """One list of the choices sheet: (name, label) pairs under ``list_name``."""

    list_name: str
    choices: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.choices)


def from_enum(list_name: str, enum: type[StrEnum],
              leave_out: Iterable[StrEnum] = ()) -> ChoiceList:
    """The members of ``enum`` in their declared order, less those a form cannot use."""
    skipped = set(leave_out)
    return ChoiceList(list_name, tuple((m.value, label(m)) for m in enum if m not in skipped))


#: Activities whose daily progress releases land: a QC inspection releases none, an
#: EOD spot task and an NTS have their own forms (finding, survey).
PROGRESS_ACTIVITIES = (ActivityType.TS, ActivityType.CLEARANCE, ActivityType.BAC)
#: Land is cancelled by non-technical survey only; technical survey and clearance
#: reduce or clear it.
PROGRESS_METHODS = (ReleaseMethod.REDUCED, ReleaseMethod.CLEARED)

HAZARD_CLASS = from_enum("hazard_class", HazardClass)
EO_CATEGORY = from_enum("eo_category", EOCategory)
BLOCKAGE = from_enum("blockage", Blockage)
EVIDENCE_KIND = from_enum("evidence_kind", EvidenceKind)
EVIDENCE_TYPE = from_enum("evidence_type", EvidenceType)
ACTIVITY_TYPE = from_enum("activity_type", ActivityType,
                          leave_out=set(ActivityType) - set(PROGRESS_ACTIVITIES))
ACTIVITY_STATUS = from_enum("activity_status", ActivityStatus,
                            leave_out=(ActivityStatus.PLANNED,))
RELEASE_METHOD = from_enum("release_method", ReleaseMethod,
                           leave_out=set(ReleaseMethod) - set(PROGRESS_METHODS))
ITEM_CONDITION = from_enum("item_condition", ItemCondition)
DISPOSAL = from_enum("disposal", Disposal)
ACCIDENT_TYPE = from_enum("accident_type", AccidentType)
VICTIM_OUTCOME = from_enum("victim_outcome", VictimOutcome)
VICTIM_ROLE = from_enum("victim_role", VictimRole)
SEX = from_enum("sex", Sex)
