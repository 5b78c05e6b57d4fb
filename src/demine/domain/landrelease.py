"""Land release accounting: what is left of a hazard after its outcomes are applied.

The identity original = cancelled + reduced + cleared + remaining (m²) is kept by
construction: each accepted outcome is clipped to the hazard and to the land not yet
released, so the released pieces and the remainder partition the hazard polygon.
Outcomes are folded in date-of-information order, so a late report of older work is
placed where it belongs instead of on top of newer work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from demine.domain.entities import EvidenceItem, Outcome
from demine.domain.errors import RuleViolation
from demine.domain.vocab import EvidenceKind, HazardClass, HazardStatus, ReleaseMethod
from demine.geo.crs import MetricFrame

RELEASED_BELOW_M2 = 1.0


@dataclass(frozen=True)
class ReleaseRules:
    """National settings that decide what counts as inside and overlapping."""

    inside_tolerance_m: float = 1.0
    overlap_tolerance_m2: float = 1.0
    released_below_m2: float = RELEASED_BELOW_M2


@dataclass
class Accounting:
    original_m2: float
    cancelled_m2: float = 0.0
    reduced_m2: float = 0.0
    cleared_m2: float = 0.0
    remaining_m2: float = 0.0
    remaining_metric: BaseGeometry | None = None
    effective: list[tuple[ReleaseMethod, BaseGeometry]] = field(default_factory=list)

    @property
    def released_m2(self) -> float:
        return self.cancelled_m2 + self.reduced_m2 + self.cleared_m2

    def identity_error_m2(self) -> float:
        return abs(self.original_m2 - self.released_m2 - self.remaining_m2)


#: Overlay results are snapped to a 1 mm grid: it removes the zero-width spikes that
#: floating-point differences leave along shared edges, far below survey accuracy.
GRID_M = 1e-3


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the area parts of an overlay result (drop spikes, stray lines, points)."""
    geom = shapely.set_precision(geom, GRID_M)
    if geom.is_empty or isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    return shapely.union_all(parts) if parts else Polygon()


#: Parts of the remainder thinner than twice this (4 mm) are floating-point residue of shared
#: edges, not land: a real strip left unworked is centimetres wide at the least.
SLIVER_M = 2e-3


def _without_slivers(geom: BaseGeometry) -> BaseGeometry:
    """Morphological opening: drop spikes and slivers, keep corners (mitred joins)."""
    if geom.is_empty:
        return geom
    opened = geom.buffer(-SLIVER_M, join_style="mitre", mitre_limit=1e4).buffer(
        SLIVER_M, join_style="mitre", mitre_limit=1e4)
    return _polygonal(opened.intersection(geom))


def refuse_outside(allowed: BaseGeometry, polygon: BaseGeometry, label: str,
                   hazard_code: str, rules: ReleaseRules) -> None:
    """Refuse an outcome polygon that reaches past its hazard (``allowed`` is the hazard
    grown by the tolerance). One wording whether it is caught when the draft is saved
    or when the report is approved."""
    if allowed.contains(polygon):
        return
    outside = polygon.difference(allowed).area
    raise RuleViolation(
        label, "outcome polygon",
        f"{outside:.1f} m² lie outside hazard area {hazard_code} "
        f"(tolerance {rules.inside_tolerance_m} m)",
    )


def account(
    hazard_metric: BaseGeometry,
    outcomes_metric: Sequence[tuple[ReleaseMethod, BaseGeometry, str]],
    rules: ReleaseRules = ReleaseRules(),
    *,
    hazard_code: str = "hazard",
) -> Accounting:
    """Fold outcome polygons (method, metric polygon, label) into the hazard's ledger.

    The label names the report or activity in any refusal so the author can find it.
    """
    result = Accounting(original_m2=float(hazard_metric.area))
    allowed = hazard_metric.buffer(rules.inside_tolerance_m)
    released = Polygon()
    for method, polygon, label in outcomes_metric:
        refuse_outside(allowed, polygon, label, hazard_code, rules)
        overlap = polygon.intersection(released).area if not released.is_empty else 0.0
        if overlap > rules.overlap_tolerance_m2:
            raise RuleViolation(
                label, "outcome polygon",
                f"overlaps {overlap:.1f} m² of land in {hazard_code} already released",
            )
        piece = _polygonal(polygon.intersection(hazard_metric).difference(released))
        released = _polygonal(released.union(piece))
        result.effective.append((method, piece))
        area = float(piece.area)
        if method is ReleaseMethod.CANCELLED:
            result.cancelled_m2 += area
        elif method is ReleaseMethod.REDUCED:
            result.reduced_m2 += area
        else:
            result.cleared_m2 += area
    if released.is_empty:
        remaining = hazard_metric
    else:
        remaining = _without_slivers(_polygonal(hazard_metric.difference(released)))
    result.remaining_metric = remaining
    result.remaining_m2 = float(remaining.area)
    return result


def classification(declared: HazardClass, evidence: Iterable[EvidenceItem],
                   has_findings: bool = False) -> HazardClass:
    """SHA becomes CHA as soon as direct evidence (or a found item) is on the record."""
    if has_findings or any(e.kind is EvidenceKind.DIRECT for e in evidence):
        return HazardClass.CHA
    return declared


def status(accounting: Accounting, work_started: bool,
           rules: ReleaseRules = ReleaseRules()) -> HazardStatus:
    if accounting.remaining_m2 < rules.released_below_m2:
        return HazardStatus.RELEASED
    if work_started or accounting.effective:
        return HazardStatus.WORKED_ON
    return HazardStatus.OPEN


def outcomes_to_metric(
    frame: MetricFrame, outcomes: Iterable[tuple[Outcome, str]]
) -> list[tuple[ReleaseMethod, BaseGeometry, str]]:
    return [(o.method, frame.to_metric(o.polygon), label) for o, label in outcomes]
