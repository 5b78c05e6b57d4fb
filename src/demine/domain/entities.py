"""The records of a mine action programme, as plain dataclasses.

Geometry is held in WGS84 (shapely); areas are always m² measured on the project's
metric plane. Fields holding personal data carry ``metadata={"sensitive": True}`` so
that exports and the API can leave them out without each keeping its own list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon

from demine.domain.vocab import (
    AccidentType,
    ActivityStatus,
    ActivityType,
    AssetType,
    Blockage,
    Disposal,
    EOCategory,
    EvidenceKind,
    EvidenceType,
    HazardClass,
    HazardStatus,
    ItemCondition,
    OrganisationKind,
    QcResult,
    ReleaseMethod,
    RoadClass,
    Sex,
    VictimOutcome,
    VictimRole,
)

AreaGeometry = Polygon | MultiPolygon
SENSITIVE = {"sensitive": True}


def sensitive_fields(cls: type) -> frozenset[str]:
    """Names of the fields of a record type that hold personal data."""
    return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("sensitive"))


@dataclass
class Organisation:
    code: str
    name: str
    kind: OrganisationKind
    synthetic: bool = False


@dataclass
class Team:
    """A team or asset: what does the work and how fast, for the planner and the record."""

    code: str
    organisation_code: str
    asset_type: AssetType
    headcount: int
    productivity_m2_day: float
    working_width_m: float | None = None
    available: bool = True
    synthetic: bool = False


@dataclass
class Settlement:
    code: str
    name: str
    admin_area: str
    point: Point
    population: int
    footprint: AreaGeometry | None = None
    synthetic: bool = False

    @property
    def closure_geometry(self) -> Point | AreaGeometry:
        """Where the settlement's people live: its footprint if drawn, else its point."""
        return self.footprint if self.footprint is not None else self.point


@dataclass
class Road:
    """A road of the programme area: access for teams and the basemap of the web map."""

    code: str
    road_class: RoadClass
    line: LineString | MultiLineString
    name: str = ""
    synthetic: bool = False


@dataclass(frozen=True)
class EvidenceItem:
    kind: EvidenceKind
    type: EvidenceType
    description: str = ""


@dataclass(frozen=True)
class Outcome:
    """A piece of land released by an activity: cancelled, reduced or cleared."""

    method: ReleaseMethod
    polygon: AreaGeometry


@dataclass(frozen=True)
class QcInspection:
    """A post-clearance inspection of the land one activity released (the lot).

    The lot is cut into ``lot_units`` sample units of ``unit_m2`` each; ``sample_units``
    of them were searched and ``defects`` held a missed item (or a depth or coverage
    fault the plan counts). The lot passes while defects stay within the accept number.
    """

    inspects: str
    plan: str
    lot_units: int
    sample_units: int
    unit_m2: float
    accept_number: int
    defects: int

    @property
    def result(self) -> QcResult:
        return QcResult.PASS if self.defects <= self.accept_number else QcResult.FAIL

    @property
    def inspected_m2(self) -> float:
        return self.sample_units * self.unit_m2


@dataclass
class HazardArea:
    code: str
    name: str
    classification: HazardClass
    polygon: AreaGeometry
    eo_suspected: tuple[EOCategory, ...] = ()
    eo_confirmed: tuple[EOCategory, ...] = ()
    blockages: tuple[Blockage, ...] = ()
    evidence: tuple[EvidenceItem, ...] = ()
    original_m2: float = 0.0
    cancelled_m2: float = 0.0
    reduced_m2: float = 0.0
    cleared_m2: float = 0.0
    remaining_m2: float = 0.0
    remaining_polygon: AreaGeometry | None = None
    status: HazardStatus = HazardStatus.OPEN
    synthetic: bool = False


@dataclass
class Activity:
    code: str
    type: ActivityType
    hazard_code: str
    organisation_code: str
    team_code: str | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    status: ActivityStatus = ActivityStatus.PLANNED
    suspension_reason: str | None = None
    clearance_depth_mm: int | None = None
    outcomes: tuple[Outcome, ...] = ()
    synthetic: bool = False


@dataclass
class Finding:
    activity_code: str
    point: Point
    eo_category: EOCategory
    found_on: date
    model: str = ""
    condition: ItemCondition = ItemCondition.UNKNOWN
    depth_mm: int | None = None
    disposal: Disposal = Disposal.DESTROYED_IN_SITU
    synthetic: bool = False


@dataclass
class Victim:
    outcome: VictimOutcome
    role: VictimRole
    sex: Sex = field(default=Sex.UNKNOWN, metadata=SENSITIVE)
    age: int | None = field(default=None, metadata=SENSITIVE)
    activity_at_time: str = field(default="", metadata=SENSITIVE)


@dataclass
class Accident:
    code: str
    accident_date: date
    point: Point
    type: AccidentType
    device_category: EOCategory
    activity_code: str | None = None
    narrative: str = field(default="", metadata=SENSITIVE)
    victims: tuple[Victim, ...] = ()
    synthetic: bool = False
