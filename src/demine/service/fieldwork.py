"""Field operations on the record: lanes, coverage paths, QC plans and residual risk.

The computations live in ``demine.fieldops`` and ``demine.analysis`` and know nothing
of the database; this module reads what they need from the record (a hazard's original
polygon or its remainder, an activity's released land, the findings and the teams that
worked a hazard), projects it onto the project's metric frame and hands the result back
with the frame and the synthetic flag, so that every door (CLI, API, map) exports the
same geometry with the same label.

The only write here is :func:`lane_progress_draft`, and it writes a *draft* report:
daily progress enters the record the way every change does, through submission and an
information manager's approval.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

from demine.analysis.residual_risk import (  # private helpers: one wording for all statements
    Density,
    ResidualRisk,
    _density,
    _num,
    _pct,
    density_from_findings,
    prior_density,
    residual_risk,
)
from demine.analysis.sampling import (
    SampleUnit,
    SamplingPlan,
    code_letter,
    iso2859_plan,
    random_sample_units,
    stratified_sample_units,
    unit_grid,
    zero_acceptance_plan,
)
from demine.domain.errors import NotFound, ValidationError
from demine.domain.vocab import ActivityStatus, ActivityType, AssetType, ReleaseMethod
from demine.fieldops.coverage import CoveragePlan, Machine, plan_coverage
from demine.fieldops.export import ExportFeature
from demine.fieldops.lanes import (
    DEFAULT_BOX_LENGTH_M,
    DEFAULT_LANE_WIDTH_M,
    LaneLayout,
    default_base_line,
    layout_lanes,
    progress_polygon,
)
from demine.geo.crs import MetricFrame
from demine.service import reports
from demine.store import schema as s
from demine.store.repository import Repository, UnitOfWork

# --- assumptions (named so that a statement can cite them and a programme replace them) --

#: Probability that clearance by each asset type finds (and removes) a given item. These
#: are ASSUMPTIONS for the residual-risk statement, not measured figures: manual teams
#: with detectors and prodders are the reference; dogs slightly below; flails and
#: remote-controlled platforms destroy or expose most items but miss some (skips, deep
#: items, AT mines under the working depth); drone survey sees surface items only.
#: Replace them with the programme's own figures or pass ``pd=`` explicitly.
DEFAULT_PD_BY_ASSET: dict[str, float] = {
    AssetType.MANUAL_TEAM.value: 0.99,
    AssetType.MDD_TEAM.value: 0.95,
    AssetType.MECHANICAL.value: 0.90,
    AssetType.ROBOTIC_PLATFORM.value: 0.90,
    AssetType.DRONE_SURVEY.value: 0.50,
}
#: Pd assumed for work recorded without a team: the lowest of the clearance assets, so
#: that a missing team never makes the statement look better.
DEFAULT_PD_UNKNOWN_ASSET = 0.90
#: Detection probability of a post-clearance inspector (manual search of sample units).
DEFAULT_QC_PQ = 0.95
#: One-sided confidence of the density bound taken from findings: the plain ratio is 0
#: after a clean area and would claim that nothing can remain (see density_from_findings).
DEFAULT_DENSITY_CONFIDENCE = 0.95

#: Machine settings by asset type when a coverage path is planned for a team: working
#: width (m, the team's own ``working_width_m`` wins), minimum turning radius (m, 0 for a
#: tracked machine that pivots), working speed (m/s) and the time of one turn (s). Typical
#: of the class, to be replaced by the machine's data sheet.
MACHINE_DEFAULTS: dict[str, dict[str, float]] = {
    AssetType.ROBOTIC_PLATFORM.value: {"working_width_m": 1.7, "min_turn_radius_m": 0.0,
                                       "speed_m_s": 0.2, "turn_time_s": 10.0},
    AssetType.MECHANICAL.value: {"working_width_m": 3.0, "min_turn_radius_m": 5.0,
                                 "speed_m_s": 0.3, "turn_time_s": 20.0},
}

#: Pieces of a progress polygon smaller than this (m²) are crumbs of floating point where
#: a box edge runs along an earlier outcome's edge; nobody can report 1 dm² as cleared.
PROGRESS_CRUMB_M2 = 0.01
#: Parts of a remainder smaller than this (m²) are accounting crumbs, not ground a
#: machine is sent to; they are left out of a coverage plan and reported as such.
COVERAGE_CRUMB_M2 = 1.0
#: Fractions nonconforming at which a QC plan's acceptance probability is shown.
OC_POINTS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.02, 0.05)

_RELEASE_METHODS = (ReleaseMethod.CLEARED.value, ReleaseMethod.REDUCED.value)

#: Activities whose teams work lanes and boxes, hence may report boxes as cleared.
_LANE_WORK = frozenset({ActivityType.CLEARANCE.value, ActivityType.TS.value,
                        ActivityType.BAC.value})


# --- reading the record ------------------------------------------------------------------


def _hazard(uow: UnitOfWork, code: str) -> dict[str, Any]:
    return uow.require(s.hazard_areas, code)


def _part(geom: BaseGeometry, part: int | None, record: str) -> Polygon:
    """One polygon of a hazard: lanes are laid per polygon, a multipolygon needs a choice."""
    if isinstance(geom, Polygon):
        if part not in (None, 1):
            raise ValidationError(record, "part", f"is a single polygon; there is no part {part}")
        return geom
    parts = list(geom.geoms)
    if part is None:
        raise ValidationError(
            record, "part",
            f"is a multipolygon of {len(parts)} parts; lay out lanes for one part at a time "
            f"(part 1 to {len(parts)})",
        )
    if not 1 <= part <= len(parts):
        raise ValidationError(record, "part", f"has parts 1 to {len(parts)}, not {part}")
    return parts[part - 1]


def _polygons(geom: BaseGeometry | None, min_area: float = 0.0) -> BaseGeometry:
    """The polygonal parts of ``geom`` at least ``min_area`` large, as one geometry."""
    if geom is None or geom.is_empty:
        return Polygon()
    parts: list[Polygon] = []
    for piece in shapely.get_parts(geom):
        if isinstance(piece, MultiPolygon):
            parts.extend(piece.geoms)
        elif isinstance(piece, Polygon):
            parts.append(piece)
    parts = [p for p in parts if not p.is_empty and p.area > 0 and p.area >= min_area]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


# --- lanes ---------------------------------------------------------------------------------


class LanePlan(NamedTuple):
    layout: LaneLayout
    frame: MetricFrame
    synthetic: bool


def hazard_lanes(
    repo: Repository,
    hazard_code: str,
    *,
    lane_width: float = DEFAULT_LANE_WIDTH_M,
    box_length: float = DEFAULT_BOX_LENGTH_M,
    base_line: LineString | None = None,
    part: int | None = None,
) -> LanePlan:
    """Lanes and boxes over the hazard's ORIGINAL polygon, in the project's metric frame.

    The original polygon, not the remainder: box ``L012-B004`` must name the same ground
    on the first day and the last, whatever has been released in between. The polygon is
    projected as the accounting projects it (``to_metric_exact``), so box edges on the
    hazard's boundary coincide with the boundary the approval checks against. Without a
    ``base_line`` (WGS84), the default base line is taken from the hazard's own corners
    (the densified projection would make every side a short chord). ``part`` (1-based)
    picks one polygon of a multipolygon hazard.
    """
    with repo.reader() as uow:
        frame = uow.settings().frame
        row = _hazard(uow, hazard_code)
    record = f"hazard {hazard_code}" + (f" part {part}" if part else "")
    original = _part(row["geom"], part, f"hazard {hazard_code}")
    area = frame.to_metric_exact(original)
    if base_line is None:
        line = default_base_line(frame.to_metric(original))
    else:
        if not isinstance(base_line, LineString) or base_line.is_empty:
            raise ValidationError(record, "base_line", "must be a line of two or more points")
        line = frame.to_metric(base_line)
    layout = layout_lanes(area, base_line=line, lane_width=lane_width, box_length=box_length,
                          record=record)
    return LanePlan(layout, frame, bool(row["synthetic"]))


def lane_features(layout: LaneLayout) -> list[ExportFeature]:
    """The base line, every lane and every box, as features for a GPS or GIS file."""
    lid = layout.id
    features = [ExportFeature(layout.base_line, {
        "name": "base line", "kind": "base_line", "layout": lid, "record": layout.record,
        "description": f"start line of {layout.record} (layout {lid}): lanes advance away "
                       f"from it"})]
    for lane in layout.lanes:
        features.append(ExportFeature(lane.geometry, {
            "name": lane.id, "kind": "lane", "layout": lid, "lane": lane.id, "row": None,
            "area_m2": round(lane.area_m2, 2), "boxes": len(lane.boxes),
            "description": f"lane {lane.id} of {layout.record} (layout {lid}), "
                           f"{layout.lane_width:g} m wide"}))
    for lane in layout.lanes:
        for box in lane.boxes:
            features.append(ExportFeature(box.geometry, {
                "name": box.id, "kind": "box", "layout": lid, "lane": lane.id,
                "row": box.row, "area_m2": round(box.area_m2, 2), "boxes": None,
                "description": f"box {box.id} of {layout.record} (layout {lid})"}))
    return features


def lane_progress_polygon(
    repo: Repository,
    hazard_code: str,
    box_ids: Iterable[str],
    *,
    lane_width: float = DEFAULT_LANE_WIDTH_M,
    box_length: float = DEFAULT_BOX_LENGTH_M,
    base_line: LineString | None = None,
    part: int | None = None,
    layout_id: str | None = None,
) -> tuple[BaseGeometry, LanePlan]:
    """The WGS84 polygon a day's boxes release: their union within the current remainder.

    Land already released (by this team's earlier reports or anyone else's) cannot be
    released twice, so it is cut out; boxes that hold no remaining land at all are an
    error naming them, since the report would release nothing. ``layout_id`` (printed by
    the plan and carried by every exported box) must match the layout these options
    lay out: the same box id names other ground in another layout.
    """
    ids = [str(i).strip() for i in box_ids if str(i).strip()]
    plan = hazard_lanes(repo, hazard_code, lane_width=lane_width, box_length=box_length,
                        base_line=base_line, part=part)
    record = plan.layout.record
    if layout_id is not None and layout_id.strip().upper() != plan.layout.id:
        raise ValidationError(
            record, "layout",
            f"the boxes are of layout {layout_id.strip()}, but a lane width of "
            f"{lane_width:g} m, boxes of {box_length:g} m and "
            f"{'this base line' if base_line is not None else 'the default base line'} "
            f"lay out {plan.layout.id} (or the hazard's polygon has changed since): use the "
            f"options the lanes were planned with")
    if not ids:
        raise ValidationError(record, "box_ids", "no box ids given")
    done = progress_polygon(plan.layout, ids)
    with repo.reader() as uow:
        remaining = _hazard(uow, hazard_code)["remaining_m"]
    shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    if remaining is None or remaining.is_empty:
        raise ValidationError(record, "box_ids",
                              f"the hazard has no remaining land; boxes {shown} release nothing")
    released = _polygons(done.intersection(shapely.set_srid(remaining, 0)), PROGRESS_CRUMB_M2)
    if released.is_empty:
        raise ValidationError(
            record, "box_ids",
            f"boxes {shown} hold no remaining land (already released); nothing to report")
    wgs = plan.frame.to_wgs84(released)
    if not wgs.is_valid:
        wgs = _polygons(shapely.make_valid(wgs))
    return wgs, plan


class LaneProgress(NamedTuple):
    report_code: str
    released_wgs84: BaseGeometry
    released_m2: float
    plan: LanePlan


def lane_progress_draft(
    repo: Repository,
    *,
    author: str,
    organisation_code: str,
    hazard_code: str,
    activity_code: str,
    box_ids: Iterable[str],
    info_date: date,
    team_code: str | None = None,
    lane_width: float = DEFAULT_LANE_WIDTH_M,
    box_length: float = DEFAULT_BOX_LENGTH_M,
    base_line: LineString | None = None,
    part: int | None = None,
    summary: str | None = None,
    layout_id: str | None = None,
) -> LaneProgress:
    """File the boxes finished on ``info_date`` as a DRAFT clearance report.

    The entry progresses (or creates) the clearance activity ``activity_code`` with one
    ``cleared`` outcome; nothing reaches the record until the report is submitted and
    approved. Pass the same ``lane_width``/``box_length``/``base_line`` as the layout the
    team works from, or the box ids name other ground; ``layout_id`` checks that they are.
    The summary names the layout either way, so the reviewer sees which grid was meant.
    """
    ids = list(box_ids)
    released, plan = lane_progress_polygon(
        repo, hazard_code, ids, lane_width=lane_width, box_length=box_length,
        base_line=base_line, part=part, layout_id=layout_id)
    with repo.reader() as uow:
        activity = uow.row(s.activities, code=activity_code)
        if activity is not None:
            hazard_id = _hazard(uow, hazard_code)["id"]
            if activity["hazard_id"] != hazard_id:
                other = uow.row(s.hazard_areas, id=activity["hazard_id"])["code"]
                raise ValidationError(f"activity {activity_code}", "hazard_code",
                                      f"works on hazard {other}, not {hazard_code}")
            if activity["type"] not in _LANE_WORK:
                raise ValidationError(f"activity {activity_code}", "type",
                                      f"a {activity['type']} activity does not clear lanes; "
                                      f"report boxes on a {' or '.join(sorted(_LANE_WORK))} "
                                      "activity")
    payload: dict[str, Any] = {"code": activity_code, "hazard_code": hazard_code,
                               "outcomes": [{"method": ReleaseMethod.CLEARED.value,
                                             "geometry": shapely.geometry.mapping(released)}]}
    if activity is None:
        payload.update(type=ActivityType.CLEARANCE.value, actual_start=info_date.isoformat(),
                       synthetic=plan.synthetic)
    if activity is None or activity["status"] in (ActivityStatus.PLANNED.value,
                                                  ActivityStatus.SUSPENDED.value):
        payload["status"] = ActivityStatus.IN_PROGRESS.value
    if activity is not None and activity["status"] == ActivityStatus.PLANNED.value \
            and activity["actual_start"] is None:
        payload["actual_start"] = info_date.isoformat()
    if team_code:
        payload["team_code"] = team_code
    text = summary or (f"daily progress on {hazard_code}: {len(dict.fromkeys(ids))} box(es) "
                       f"of {plan.layout.lane_width:g} m x {plan.layout.box_length:g} m, "
                       f"layout {plan.layout.id}")
    code = reports.create_draft(repo, author=author, organisation_code=organisation_code,
                                info_date=info_date, entries=[("activity", payload)],
                                summary=text, synthetic=plan.synthetic)
    return LaneProgress(code, released, plan.frame.area_m2(released), plan)


# --- coverage --------------------------------------------------------------------------------


class HazardCoverage(NamedTuple):
    plan: CoveragePlan
    frame: MetricFrame
    synthetic: bool
    left_out_m2: float = 0.0


def machine_for_team(repo: Repository, team_code: str, **overrides: Any) -> Machine:
    """A team's machine: defaults of its asset type, its own working width, then overrides.

    ``overrides`` are Machine fields; ``None`` values are ignored so a door can pass its
    options through unchanged.
    """
    with repo.reader() as uow:
        team = uow.require(s.teams, team_code)
    asset = team["asset_type"]
    if asset not in MACHINE_DEFAULTS:
        raise ValidationError(
            f"team {team_code}", "asset_type",
            f"is a {asset}; coverage paths are for machines "
            f"({', '.join(sorted(MACHINE_DEFAULTS))})")
    values: dict[str, Any] = dict(MACHINE_DEFAULTS[asset])
    if team["working_width_m"]:
        values["working_width_m"] = float(team["working_width_m"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    values.setdefault("name", team_code)
    return Machine(**values)


def choose_machine(repo: Repository, team_code: str | None = None,
                   **options: Any) -> Machine:
    """The machine a coverage plan is for: a team's (its type's defaults, its width, then
    ``options``), or one described by ``options`` alone, which then needs its width."""
    if team_code is not None:
        return machine_for_team(repo, team_code, **options)
    given = {k: v for k, v in options.items() if v is not None}
    if "working_width_m" not in given:
        raise ValidationError("coverage", "machine",
                              "give the machine's working width, or a team to take it from")
    return Machine(**given, name="machine")


def hazard_coverage(
    repo: Repository,
    hazard_code: str,
    machine: Machine,
    obstacles_wgs84: Sequence[BaseGeometry] = (),
    **options: Any,
) -> HazardCoverage:
    """A coverage path over what remains of the hazard (``remaining_m``), in metres.

    Released land is not worked again. Crumbs of the remainder below ``COVERAGE_CRUMB_M2``
    are left out (and their area returned) rather than failing the plan as "narrower than
    the machine". ``options`` go to :func:`plan_coverage` (angle_deg, start, ...).
    """
    with repo.reader() as uow:
        frame = uow.settings().frame
        row = _hazard(uow, hazard_code)
    record = f"hazard {hazard_code}"
    remaining = shapely.set_srid(row["remaining_m"], 0) if row["remaining_m"] is not None \
        else None
    if remaining is None or remaining.is_empty:
        raise ValidationError(record, "remaining", "nothing remains to be worked")
    area = _polygons(remaining, COVERAGE_CRUMB_M2)
    if area.is_empty:
        raise ValidationError(record, "remaining",
                              f"only crumbs of less than {COVERAGE_CRUMB_M2:g} m² remain")
    obstacles = [frame.to_metric(g) for g in obstacles_wgs84]
    plan = plan_coverage(area, machine, obstacles, record=record, **options)
    return HazardCoverage(plan, frame, bool(row["synthetic"]),
                          float(remaining.area - area.area))


def coverage_features(plan: CoveragePlan) -> list[ExportFeature]:
    """Every leg of the route in order, then uncovered ground if any (never hidden)."""
    features: list[ExportFeature] = []
    for index, (geom, props) in enumerate(plan.features(), start=1):
        label = props["kind"] if props.get("number") is None else \
            f"{props['kind']} {props['number']}"
        features.append(ExportFeature(geom, {"name": f"{index:04d} {label}", "seq": index,
                                             **props}))
    if not plan.uncovered.is_empty:
        features.append(ExportFeature(plan.uncovered, {
            "name": "uncovered", "kind": "uncovered",
            "area_m2": round(plan.uncovered_m2, 2),
            "description": "ground the machine cannot reach: work it manually"}))
    return features


# --- QC sampling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleasedArea:
    """Non-void cleared/reduced land of a hazard or an activity, in metres."""

    target: str
    kind: str  # "hazard" or "activity"
    hazard_code: str
    geometry: BaseGeometry
    by_activity: dict[str, BaseGeometry]
    frame: MetricFrame
    synthetic: bool

    @property
    def area_m2(self) -> float:
        return float(self.geometry.area)


def released_area(
    repo: Repository, target_code: str, *, methods: Sequence[str] = _RELEASE_METHODS
) -> ReleasedArea:
    """The union of the non-void outcome polygons of a hazard or an activity (metric).

    ``target_code`` is looked up as an activity first, then as a hazard. Cancelled land
    (no physical work) is left out by default: QC inspects what was worked.
    """
    o, a = s.outcome_polygons, s.activities
    with repo.reader() as uow:
        frame = uow.settings().frame
        activity = uow.row(a, code=target_code)
        if activity is not None:
            kind, where = "activity", o.c.activity_id == activity["id"]
            hazard = uow.row(s.hazard_areas, id=activity["hazard_id"])
        else:
            hazard = uow.row(s.hazard_areas, code=target_code)
            if hazard is None:
                raise NotFound("hazard area or activity", target_code)
            kind, where = "hazard", o.c.hazard_id == hazard["id"]
        rows = uow.conn.execute(
            select(a.c.code, o.c.geom).join(a, a.c.id == o.c.activity_id)
            .where(where, o.c.void.is_(False), o.c.method.in_(list(methods)))
            .order_by(o.c.id)).all()
    if not rows:
        raise ValidationError(
            f"{kind} {target_code}", "released_area",
            f"has no {' or '.join(methods)} land on the record to inspect")
    pieces: dict[str, list[BaseGeometry]] = {}
    for code, geom in rows:
        pieces.setdefault(code, []).append(frame.to_metric_exact(geom))
    by_activity = {c: _polygons(shapely.union_all(g)) for c, g in pieces.items()}
    union = _polygons(shapely.union_all(list(by_activity.values())))
    return ReleasedArea(target_code, kind, hazard["code"], union, by_activity, frame,
                        bool(hazard["synthetic"]))


@dataclass(frozen=True)
class QcPlan:
    """A post-clearance inspection plan for one lot, with the sample units to inspect."""

    released: ReleasedArea
    unit_size: float
    lot_size: int
    plan: SamplingPlan
    confidence: float | None
    fraction: float | None
    oc: tuple[tuple[float, float], ...]
    units: tuple[SampleUnit, ...]
    seed: int
    stratified: bool

    @property
    def kind(self) -> str:
        return "ISO 2859-1 level II, normal, single" if self.plan.aql is not None \
            else "zero acceptance"

    @property
    def sample_area_m2(self) -> float:
        return len(self.units) * self.unit_size ** 2


def qc_plan(
    repo: Repository,
    target_code: str,
    *,
    confidence: float = 0.95,
    fraction: float = 0.01,
    aql: float | None = None,
    unit_size: float = 1.0,
    seed: int | None = None,
    stratified: bool = True,
) -> QcPlan:
    """Sample size, acceptance number and the units to inspect on a released lot.

    Zero acceptance by default (the smallest sample that shows a fraction ``fraction`` of
    bad units with probability ``confidence``); ISO 2859-1 Table 2-A at general level II
    when an ``aql`` is given. Stratified sampling spreads the units over the activities
    that released the land (for a hazard) or over even blocks (for one activity), so no
    team's part goes uninspected. Without ``seed`` one is drawn and returned, so the
    inspector's draw can always be repeated.
    """
    released = released_area(repo, target_code)
    record = f"{released.kind} {target_code} released area"
    grid = unit_grid(released.geometry, unit_size, record)
    lot = grid.lot_size
    if aql is not None:
        plan = iso2859_plan(lot, aql)
        used_confidence, used_fraction = None, None
    else:
        plan = zero_acceptance_plan(confidence, fraction, lot)
        used_confidence, used_fraction = confidence, fraction
    if seed is None:
        seed = secrets.randbelow(2**31)
    if stratified:
        strata = list(released.by_activity.values()) if len(released.by_activity) > 1 else None
        units = stratified_sample_units(released.geometry, plan.sample_size, seed=seed,
                                        unit_size=unit_size, strata=strata, record=record)
    else:
        units = random_sample_units(released.geometry, plan.sample_size, seed=seed,
                                    unit_size=unit_size, record=record)
    oc = tuple((p, float(plan.acceptance_probability(p))) for p in OC_POINTS)
    return QcPlan(released, float(unit_size), lot, plan, used_confidence, used_fraction, oc,
                  units, int(seed), stratified)


def qc_letter(plan: QcPlan) -> str | None:
    """The ISO 2859-1 code letter of the lot (None for a zero-acceptance plan)."""
    return code_letter(plan.lot_size) if plan.plan.aql is not None else None


def qc_features(result: QcPlan) -> list[ExportFeature]:
    """The lot boundary, each sample unit, and a waypoint at each unit's centre."""
    r = result.released
    features = [ExportFeature(r.geometry, {
        "name": f"lot {r.target}", "kind": "lot", "area_m2": round(r.area_m2, 2),
        "lot_units": result.lot_size, "sample_units": result.plan.sample_size,
        "accept": result.plan.accept, "seed": result.seed,
        "description": f"QC lot of {r.kind} {r.target}: inspect {result.plan.sample_size} of "
                       f"{result.lot_size} units, accept with at most {result.plan.accept} "
                       f"defective"})]
    for unit in result.units:
        features.append(ExportFeature(unit.geometry, {
            "name": unit.id, "kind": "sample_unit", "stratum": unit.stratum,
            "description": f"sample unit {unit.id} ({result.unit_size:g} m square)"}))
    for unit in result.units:
        c = unit.geometry.centroid
        features.append(ExportFeature(Point(c.x, c.y), {
            "name": unit.id, "kind": "unit_centre", "stratum": unit.stratum,
            "description": f"centre of sample unit {unit.id}"}))
    return features


# --- residual risk ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HazardRisk:
    """Residual risk of a hazard: the worked (cleared) part per activity and in all, and
    the part not yet worked, with the assumptions that produced the figures."""

    hazard_code: str
    density: Density
    released: ResidualRisk | None
    parts: tuple[ResidualRisk, ...]
    remaining: ResidualRisk | None
    assumptions: tuple[str, ...]
    synthetic: bool

    @property
    def expected_remaining(self) -> float:
        """Items expected on the whole hazard (worked parts and unworked land)."""
        worked = sum(p.expected_remaining for p in self.parts)
        return worked + (self.remaining.expected_remaining if self.remaining else 0.0)

    def statements(self) -> list[str]:
        """One sentence per part: the cleared total, each activity when there are
        several, and the unworked remainder."""
        lines = [self.released.statement()] if self.released is not None else []
        if len(self.parts) > 1:
            lines += [p.statement() for p in self.parts]
        if self.remaining is not None:
            lines.append(unworked_statement(self.remaining))
        return lines


def unworked_statement(risk: ResidualRisk) -> str:
    """What land nobody has searched yet holds: the density's items, none removed.

    ``ResidualRisk.statement`` speaks of clearance and inspection, which would read as
    "cleared with detection probability 0" for land that was never entered.
    """
    r = risk
    return (f"{r.label[:1].upper()}{r.label[1:]} ({r.area_m2:,.0f} m², not yet searched): "
            f"expected items {_num(r.expected_remaining)}; probability that it holds none "
            f"{_pct(r.p_none_remaining, -math.expm1(-r.expected_remaining))}, assuming "
            f"{_density(r.density)} (Poisson model).")


@dataclass(frozen=True)
class _Worked:
    activity: str
    asset_type: str | None
    area_m2: float


def _strongest_evidence(uow: UnitOfWork, hazard: dict[str, Any]) -> str | None:
    if hazard["eo_confirmed"]:
        return "direct"
    kinds = {k for (k,) in uow.conn.execute(
        select(s.evidence_items.c.kind).where(s.evidence_items.c.hazard_id == hazard["id"],
                                              s.evidence_items.c.void.is_(False)))}
    if "direct" in kinds or hazard["classification"] == "CHA":
        return "direct"
    return "indirect" if "indirect" in kinds else None


def _worked(uow: UnitOfWork, hazard_id: int) -> list[_Worked]:
    """Cleared m² per activity (non-void outcomes), with the asset type of its team."""
    o, a, t = s.outcome_polygons, s.activities, s.teams
    rows = uow.conn.execute(
        select(a.c.code, t.c.asset_type, func.sum(o.c.area_m2))
        .join(a, a.c.id == o.c.activity_id).join(t, t.c.id == a.c.team_id, isouter=True)
        .where(o.c.hazard_id == hazard_id, o.c.void.is_(False),
               o.c.method == ReleaseMethod.CLEARED.value)
        .group_by(a.c.code, t.c.asset_type).order_by(a.c.code)).all()
    return [_Worked(code, asset, float(area)) for code, asset, area in rows if area]


def _passed_qc_fraction(uow: UnitOfWork, activity_code: str, cleared_m2: float) -> float:
    """Share of what an activity has cleared *now* that passed inspections searched.

    Only passes after the activity's last failed inspection count: a failure voided
    the land earlier passes had searched, and its re-clearance is new ground for QC.
    """
    q, a = s.qc_inspections, s.activities
    rows = uow.conn.execute(
        select(q.c.inspected_m2, q.c.result).join(a, a.c.id == q.c.inspected_activity_id)
        .where(a.c.code == activity_code, q.c.void.is_(False))
        .order_by(q.c.info_date, q.c.id)).all()
    fails = [i for i, (_, result) in enumerate(rows) if result == "fail"]
    recent = rows[fails[-1] + 1:] if fails else rows
    searched = sum(m2 for m2, result in recent if result == "pass")
    return min(1.0, searched / cleared_m2) if cleared_m2 > 0 else 0.0


def hazard_risk(
    repo: Repository,
    hazard_code: str,
    *,
    pd: float | None = None,
    qc_fraction: float | None = None,
    pq: float | None = None,
    prior: Density | None = None,
    density_confidence: float | None = DEFAULT_DENSITY_CONFIDENCE,
) -> HazardRisk:
    """Residual risk of a hazard from what the record says was found, worked and inspected.

    * Density: items found on the hazard's activities over the m² they cleared (the
      one-sided ``density_confidence`` upper bound, ``None`` for the plain ratio); with no
      cleared land yet, the prior for the hazard's strongest evidence. ``prior`` replaces
      both.
    * Pd: by the asset type of the team of each activity (``DEFAULT_PD_BY_ASSET``), or
      ``pd`` for all.
    * QC: passed post-clearance inspections of each activity (inspected m² / lot m²) with
      inspector detection ``DEFAULT_QC_PQ``; ``qc_fraction``/``pq`` replace them.
    * The unworked remainder holds density x area items, none removed (Pd 0).

    The per-activity parts are exact under the model (uniform density, independent
    detection); the ``released`` total uses the area-weighted Pd and the pooled QC
    fraction, which is exact when those are the same for every activity.
    """
    with repo.reader() as uow:
        hazard = _hazard(uow, hazard_code)
        worked = _worked(uow, hazard["id"])
        items = uow.conn.execute(
            select(func.count()).select_from(s.findings)
            .join(s.activities, s.activities.c.id == s.findings.c.activity_id)
            .where(s.activities.c.hazard_id == hazard["id"], s.findings.c.void.is_(False))
        ).scalar_one()
        qc = {w.activity: _passed_qc_fraction(uow, w.activity, w.area_m2) for w in worked}
        evidence = _strongest_evidence(uow, hazard)
    cleared = sum(w.area_m2 for w in worked)
    notes: list[str] = []
    if prior is not None:
        density = prior
    elif cleared > 0:
        density = density_from_findings(int(items), cleared,
                                        upper_confidence=density_confidence)
    else:
        density = prior_density(evidence)
    notes.append(f"density: {density.source}")
    inspector = DEFAULT_QC_PQ if pq is None else pq
    parts = []
    for w in worked:
        part_pd = pd if pd is not None else DEFAULT_PD_BY_ASSET.get(
            w.asset_type or "", DEFAULT_PD_UNKNOWN_ASSET)
        fraction = qc[w.activity] if qc_fraction is None else qc_fraction
        parts.append(residual_risk(
            w.area_m2, density, part_pd, qc_fraction=fraction,
            pq=inspector if fraction > 0 else 0.0,
            label=f"land cleared by activity {w.activity} ({w.asset_type or 'no team'})"))
        if pd is None:
            notes.append(f"Pd {part_pd:g} for activity {w.activity}: assumed for "
                         f"{w.asset_type or 'work without a recorded team'}")
    if pd is not None:
        notes.append(f"Pd {pd:g} for all clearance (given)")
    released = None
    if parts:
        mean_pd = sum(p.pd * p.area_m2 for p in parts) / cleared
        inspected = sum(p.qc_fraction * p.area_m2 for p in parts) / cleared
        released = residual_risk(
            cleared, density, min(1.0, mean_pd), qc_fraction=min(1.0, inspected),
            pq=inspector if inspected > 0 else 0.0,
            label=f"the cleared part of {hazard_code}")
        if inspected > 0:
            notes.append(f"QC: {inspected:.1%} of the cleared land inspected and passed, "
                         f"inspector Pq {inspector:g}"
                         + (" (assumed)" if pq is None else " (given)"))
        else:
            notes.append("QC: no passed post-clearance inspection on record")
    surveyed = (hazard["cancelled_m2"] or 0.0) + (hazard["reduced_m2"] or 0.0)
    if surveyed > 0:
        notes.append(f"{surveyed:,.0f} m² released by survey (cancelled "
                     f"{hazard['cancelled_m2']:,.0f}, reduced {hazard['reduced_m2']:,.0f}) "
                     "are not covered by these statements")
    remaining = None
    if hazard["remaining_m2"] and hazard["remaining_m2"] > 0:
        remaining = residual_risk(hazard["remaining_m2"], density, 0.0,
                                  label=f"the remaining (unworked) part of {hazard_code}")
    return HazardRisk(hazard_code, density, released, tuple(parts), remaining, tuple(notes),
                      bool(hazard["synthetic"]))

