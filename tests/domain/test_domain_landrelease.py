"""Land release accounting (demine.domain.landrelease), checked against independent sums.

Expected areas come from pyproj's geodesic area on the WGS84 ellipsoid (not from the
UTM plane the code uses) or from analytic shapes drawn in metres; the accounting
identity, the remaining polygon and the released threshold are then checked on random
hazards split into random pieces by random grid cells, in random order and methods.
"""

from __future__ import annotations

import math
import random

import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, box

from demine.domain.entities import EvidenceItem, Outcome
from demine.domain.errors import RuleViolation, ValidationError
from demine.domain.landrelease import (
    ReleaseRules,
    account,
    classification,
    outcomes_to_metric,
    status,
)
from demine.domain.vocab import EvidenceKind, EvidenceType, HazardClass, HazardStatus, ReleaseMethod
from demine.geo.crs import MetricFrame

GEOD = Geod(ellps="WGS84")
M_PER_DEG_LAT = 111_320.0


def geod_area(geom) -> float:
    """Geodesic area on the ellipsoid, m²: independent of any map projection."""
    if geom is None or geom.is_empty:
        return 0.0
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def polygon_parts(geom) -> list[Polygon]:
    """The polygons of an overlay result, however deeply they are nested."""
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    out: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        out.extend(polygon_parts(part))
    return out


def as_area(parts: list[Polygon]):
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


@st.composite
def hazard_polygons(draw) -> Polygon:
    """A valid radial polygon of 60-600 m radius somewhere on Earth, sometimes with a hole."""
    lon0 = draw(st.floats(-170.0, 170.0))
    lat0 = draw(st.floats(-70.0, 70.0))
    n = draw(st.integers(3, 10))
    angles = sorted(draw(st.lists(st.floats(0.0, 2 * math.pi, exclude_max=True),
                                  min_size=n, max_size=n, unique=True)))
    gaps = [b - a for a, b in zip(angles, [*angles[1:], angles[0] + 2 * math.pi], strict=True)]
    assume(min(gaps) > 0.08)
    radii = draw(st.lists(st.floats(60.0, 600.0), min_size=n, max_size=n))
    m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians(lat0))
    ring = [(lon0 + r * math.cos(a) / m_per_deg_lon, lat0 + r * math.sin(a) / M_PER_DEG_LAT)
            for a, r in zip(angles, radii, strict=True)]
    poly = Polygon(ring)
    if draw(st.booleans()):
        hole = Point(lon0, lat0).buffer(20.0 / M_PER_DEG_LAT)
        if poly.buffer(-5.0 / M_PER_DEG_LAT).contains(hole):
            poly = poly.difference(hole)
    assume(isinstance(poly, Polygon) and poly.is_valid and not poly.is_empty)
    return poly


@st.composite
def hazard_and_pieces(draw):
    """A hazard, its metric frame, a random ordered subset of its pieces with random
    methods, and the pieces left out.

    The pieces are the hazard cut by a random grid on the metric plane and carried back
    to WGS84, as a field team's outcome polygons share the hazard's boundary there;
    cutting in degrees instead would leave slivers of a few dm² where a straight edge in
    degrees bends on the metric plane.
    """
    hazard = draw(hazard_polygons())
    c = hazard.centroid
    frame = MetricFrame.for_centroid(c.x, c.y)
    metric = frame.to_metric(hazard)
    nx, ny = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    minx, miny, maxx, maxy = metric.bounds
    # jitter the grid so that cell edges do not line up with vertices
    jx = draw(st.floats(0.0, 0.3)) * (maxx - minx) / nx
    jy = draw(st.floats(0.0, 0.3)) * (maxy - miny) / ny
    xs = [minx - jx + i * (maxx - minx + jx) / nx for i in range(nx + 1)]
    ys = [miny - jy + j * (maxy - miny + jy) / ny for j in range(ny + 1)]
    pieces = []
    for i in range(nx):
        for j in range(ny):
            parts = polygon_parts(metric.intersection(box(xs[i], ys[j], xs[i + 1], ys[j + 1])))
            parts = [p for p in parts if p.area > 0]
            if parts:
                pieces.append(frame.to_wgs84(as_area(parts)))
    keep = [draw(st.booleans()) for _ in pieces] if draw(st.booleans()) else [True] * len(pieces)
    chosen = [p for p, k in zip(pieces, keep, strict=True) if k]
    left_out = [p for p, k in zip(pieces, keep, strict=True) if not k]
    order = draw(st.permutations(list(range(len(chosen)))))
    methods = draw(st.lists(st.sampled_from(list(ReleaseMethod)),
                            min_size=len(chosen), max_size=len(chosen)))
    return hazard, frame, [(methods[k], chosen[i]) for k, i in enumerate(order)], left_out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hazard_and_pieces())
def test_accounting_identity_and_areas_in_metres(case):
    hazard, frame, pieces, left_out = case
    outcomes = [(Outcome(m, p), f"piece {i}") for i, (m, p) in enumerate(pieces)]
    acc = account(frame.to_metric(hazard), outcomes_to_metric(frame, outcomes),
                  hazard_code="HA-T")

    # the identity, in m², within 1 m²
    total = acc.cancelled_m2 + acc.reduced_m2 + acc.cleared_m2 + acc.remaining_m2
    assert abs(acc.original_m2 - total) <= 1.0
    assert min(acc.cancelled_m2, acc.reduced_m2, acc.cleared_m2, acc.remaining_m2) >= 0.0

    # each term agrees with the geodesic area of the same land within 0.5 %
    assert acc.original_m2 == pytest.approx(geod_area(hazard), rel=0.005)
    for method, got in ((ReleaseMethod.CANCELLED, acc.cancelled_m2),
                        (ReleaseMethod.REDUCED, acc.reduced_m2),
                        (ReleaseMethod.CLEARED, acc.cleared_m2)):
        expected = sum(geod_area(p) for m, p in pieces if m is method)
        assert got == pytest.approx(expected, rel=0.005, abs=0.05), method
    expected_remaining = sum(geod_area(p) for p in left_out)
    assert acc.remaining_m2 == pytest.approx(expected_remaining, rel=0.005, abs=0.05)

    # the remaining polygon is the hazard minus everything released (on the metric plane)
    released_metric = shapely.union_all([frame.to_metric(p) for _, p in pieces]) \
        if pieces else Polygon()
    expected_poly = frame.to_metric(hazard).difference(released_metric)
    assert acc.remaining_metric is not None
    # within the 1 m² of the spec: slivers under 4 mm wide are dropped (landrelease.SLIVER_M)
    assert acc.remaining_metric.symmetric_difference(expected_poly).area < 0.5
    assert acc.remaining_metric.area == pytest.approx(acc.remaining_m2)

    # released exactly when less than 1 m² remains
    got_status = status(acc, work_started=bool(pieces))
    if expected_remaining < 0.9:
        assert got_status is HazardStatus.RELEASED
    elif expected_remaining > 1.1:
        assert got_status is (HazardStatus.WORKED_ON if pieces else HazardStatus.OPEN)


@settings(max_examples=40, deadline=None)
@given(hazard_and_pieces())
def test_effective_pieces_partition_the_hazard(case):
    hazard, frame, pieces, _ = case
    metric = [(m, frame.to_metric(p), f"p{i}") for i, (m, p) in enumerate(pieces)]
    acc = account(frame.to_metric(hazard), metric)
    assert [m for m, _ in acc.effective] == [m for m, _, _ in metric]
    geoms = [g for _, g in acc.effective]
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert geoms[i].intersection(geoms[j]).area < 1e-3
    union = shapely.union_all([*geoms, acc.remaining_metric])
    # within the 1 m² of the spec; see landrelease.SLIVER_M
    # ... and the 1 mm grid costs up to ~1 mm along every edge of a needle-thin hazard
    allowed = max(0.5, 2e-3 * frame.to_metric(hazard).length)
    assert union.symmetric_difference(frame.to_metric(hazard)).area < allowed


# --- analytic cases on the metric plane ------------------------------------------

HAZARD = box(0.0, 0.0, 200.0, 100.0)  # 20,000 m²


def test_full_release_by_three_methods():
    pieces = [(ReleaseMethod.CANCELLED, box(0, 0, 50, 100), "nts"),
              (ReleaseMethod.REDUCED, box(50, 0, 120, 100), "ts"),
              (ReleaseMethod.CLEARED, box(120, 0, 200, 100), "clr")]
    acc = account(HAZARD, pieces)
    assert acc.original_m2 == pytest.approx(20_000.0)
    assert acc.cancelled_m2 == pytest.approx(5_000.0)
    assert acc.reduced_m2 == pytest.approx(7_000.0)
    assert acc.cleared_m2 == pytest.approx(8_000.0)
    assert acc.remaining_m2 == pytest.approx(0.0, abs=1e-6)
    assert status(acc, work_started=True) is HazardStatus.RELEASED


@pytest.mark.parametrize("left, expected", [(0.5, HazardStatus.RELEASED),
                                            (0.99, HazardStatus.RELEASED),
                                            (1.5, HazardStatus.WORKED_ON),
                                            (10.0, HazardStatus.WORKED_ON)])
def test_released_below_one_square_metre(left, expected):
    # leave a strip of `left` m² (left x 1 m) in a corner
    cleared = HAZARD.difference(box(200.0 - left, 0.0, 200.0, 1.0))
    acc = account(HAZARD, [(ReleaseMethod.CLEARED, cleared, "clr")])
    assert acc.remaining_m2 == pytest.approx(left, rel=1e-6)
    assert status(acc, work_started=True) is expected


def test_released_threshold_is_a_setting():
    cleared = HAZARD.difference(box(195.0, 0.0, 200.0, 1.0))  # 5 m² left
    acc = account(HAZARD, [(ReleaseMethod.CLEARED, cleared, "clr")])
    assert status(acc, True) is HazardStatus.WORKED_ON
    assert status(acc, True, ReleaseRules(released_below_m2=10.0)) is HazardStatus.RELEASED


def test_untouched_hazard_is_open_and_work_started_is_worked_on():
    acc = account(HAZARD, [])
    assert acc.remaining_m2 == pytest.approx(20_000.0)
    assert status(acc, work_started=False) is HazardStatus.OPEN
    assert status(acc, work_started=True) is HazardStatus.WORKED_ON


@pytest.mark.parametrize("shift", [5.0, 20.0, 300.0])
def test_outcome_outside_hazard_is_refused_naming_label_and_field(shift):
    outcome = box(150.0, 50.0, 200.0 + shift, 100.0 + shift)
    with pytest.raises(RuleViolation) as info:
        account(HAZARD, [(ReleaseMethod.CLEARED, box(0, 0, 10, 10), "report R1 entry 1"),
                         (ReleaseMethod.CLEARED, outcome, "report R2 entry 3")],
                hazard_code="HA-000007")
    err = info.value
    assert isinstance(err, ValidationError)
    assert err.record == "report R2 entry 3"
    assert err.field == "outcome polygon"
    assert "HA-000007" in err.problem
    assert "report R2 entry 3" in str(err)


def test_outcome_within_tolerance_is_clipped_to_the_hazard():
    outcome = box(150.0, 50.0, 200.5, 100.5)  # 0.5 m beyond two edges, tolerance 1 m
    acc = account(HAZARD, [(ReleaseMethod.CLEARED, outcome, "o")])
    assert acc.cleared_m2 == pytest.approx(50.0 * 50.0)
    assert acc.remaining_m2 == pytest.approx(20_000.0 - 2_500.0)


def test_inside_tolerance_is_a_setting():
    outcome = box(150.0, 50.0, 205.0, 100.0)  # 5 m beyond the east edge
    with pytest.raises(RuleViolation):
        account(HAZARD, [(ReleaseMethod.CLEARED, outcome, "o")])
    acc = account(HAZARD, [(ReleaseMethod.CLEARED, outcome, "o")],
                  ReleaseRules(inside_tolerance_m=10.0))
    assert acc.cleared_m2 == pytest.approx(2_500.0)


def test_outcome_entirely_elsewhere_is_refused():
    with pytest.raises(RuleViolation) as info:
        account(HAZARD, [(ReleaseMethod.CANCELLED, box(1000, 1000, 1100, 1100), "far")])
    assert info.value.record == "far"
    assert "10000.0" in info.value.problem  # the whole 100 x 100 m lies outside


@pytest.mark.parametrize("methods", [(ReleaseMethod.CLEARED, ReleaseMethod.CLEARED),
                                     (ReleaseMethod.CANCELLED, ReleaseMethod.REDUCED)])
def test_overlapping_outcomes_are_refused(methods):
    first = box(0.0, 0.0, 100.0, 100.0)
    second = box(98.0, 0.0, 150.0, 100.0)  # 2 m x 100 m = 200 m² overlap
    with pytest.raises(RuleViolation) as info:
        account(HAZARD, [(methods[0], first, "first"), (methods[1], second, "second")],
                hazard_code="HA-9")
    assert info.value.record == "second"
    assert info.value.field == "outcome polygon"
    assert "200.0" in info.value.problem
    assert "HA-9" in info.value.problem


def test_overlap_below_tolerance_is_not_counted_twice():
    first = box(0.0, 0.0, 100.0, 100.0)
    second = box(99.5, 99.0, 150.0, 100.0)  # overlap 0.5 x 1 m = 0.5 m²
    acc = account(HAZARD, [(ReleaseMethod.REDUCED, first, "a"),
                           (ReleaseMethod.CLEARED, second, "b")])
    assert acc.reduced_m2 == pytest.approx(10_000.0)
    assert acc.cleared_m2 == pytest.approx(50.5 - 0.5)
    assert acc.identity_error_m2() < 1e-6


def test_outcomes_projected_from_wgs84_keep_their_labels():
    frame = MetricFrame("EPSG:32636")
    poly = box(30.50, 50.40, 30.51, 50.41)
    got = outcomes_to_metric(frame, [(Outcome(ReleaseMethod.REDUCED, poly), "RPT-1 entry 2")])
    assert got[0][0] is ReleaseMethod.REDUCED
    assert got[0][2] == "RPT-1 entry 2"
    assert got[0][1].area == pytest.approx(geod_area(poly), rel=0.005)


# --- classification -----------------------------------------------------------------

DIRECT = EvidenceItem(EvidenceKind.DIRECT, EvidenceType.MINE_SIGN)
INDIRECT = EvidenceItem(EvidenceKind.INDIRECT, EvidenceType.FORMER_FRONT_LINE)


@pytest.mark.parametrize("evidence, findings, expected", [
    ((), False, HazardClass.SHA),
    ((INDIRECT,), False, HazardClass.SHA),
    ((INDIRECT, INDIRECT), False, HazardClass.SHA),
    ((INDIRECT, DIRECT), False, HazardClass.CHA),
    ((DIRECT,), False, HazardClass.CHA),
    ((), True, HazardClass.CHA),
    ((INDIRECT,), True, HazardClass.CHA),
])
def test_sha_becomes_cha_on_direct_evidence_or_findings(evidence, findings, expected):
    assert classification(HazardClass.SHA, evidence, findings) is expected


def test_declared_cha_stays_cha():
    assert classification(HazardClass.CHA, (INDIRECT,), False) is HazardClass.CHA


# --- outcome polygons drawn in degrees ----------------------------------------------

@pytest.mark.parametrize("size_m", [200.0, 500.0, 2000.0])
def test_hazard_split_in_degrees_is_released_when_every_part_is_cleared(size_m):
    """A 'size_m' square hazard at 50°N split in half along a meridian in WGS84 (as an
    operator does in QGIS on a lon/lat map), both halves cleared: nothing is left.

    The halves share the hazard's boundary in degrees; on the UTM plane the new
    mid-edge vertices sit off the hazard's straight projected edge by centimetres, and
    the slivers between them must not keep the hazard (and its settlements) closed.
    """
    lon0, lat0 = 30.0, 50.0
    dlon = size_m / (M_PER_DEG_LAT * math.cos(math.radians(lat0)))
    dlat = size_m / M_PER_DEG_LAT
    hazard = box(lon0, lat0, lon0 + dlon, lat0 + dlat)
    west = box(lon0, lat0, lon0 + dlon / 2, lat0 + dlat)
    east = box(lon0 + dlon / 2, lat0, lon0 + dlon, lat0 + dlat)
    frame = MetricFrame.for_centroid(*hazard.centroid.coords[0])
    # projected for accounting as the store does it (edges densified first)
    acc = account(frame.to_metric_exact(hazard), [
        (ReleaseMethod.CLEARED, frame.to_metric_exact(west), "west half"),
        (ReleaseMethod.CLEARED, frame.to_metric_exact(east), "east half"),
    ])
    assert acc.identity_error_m2() <= 1.0
    assert acc.cleared_m2 == pytest.approx(geod_area(hazard), rel=0.005)
    assert status(acc, work_started=True) is HazardStatus.RELEASED, (
        f"{acc.remaining_m2:.2f} m² of slivers left after clearing both halves")


# --- the remaining polygon keeps no spikes --------------------------------------------

_RNG = random.Random(7)
PARTIAL_CASES = [(0.0, 0.0, 30.0, 30.0, 0.5), (0.0, 0.0, 200.0, 100.0, 0.5)] + [
    (_RNG.uniform(0, 4_000), _RNG.uniform(0, 4_000), _RNG.uniform(30, 400),
     _RNG.uniform(30, 400), _RNG.uniform(0.2, 0.8)) for _ in range(6)]


@pytest.mark.parametrize("x, y, w, h, cut", PARTIAL_CASES)
def test_remaining_polygon_after_a_partial_release_has_no_spikes(x, y, w, h, cut):
    """Hazard and outcome are stored in WGS84 and projected to metres, as the store does;
    the outcome shares three of the hazard's edges. What remains must be the other part
    only: a zero-area spike running back along a shared edge would put the remainder
    (and every settlement-closure distance) where the land has already been released."""
    frame = MetricFrame("EPSG:32632")
    ox, oy = frame.to_metric(Point(9.0, 45.0)).coords[0]

    def stored(local):
        return frame.to_wgs84(shapely.affinity.translate(local, ox, oy))

    hazard_local = box(x, y, x + w, y + h)
    released_local = box(x, y, x + cut * w, y + h)
    expected_local = box(x + cut * w, y, x + w, y + h)
    # projected for accounting as the store does it (edges densified first)
    acc = account(frame.to_metric_exact(stored(hazard_local)), [
        (ReleaseMethod.CLEARED, frame.to_metric_exact(stored(released_local)), "west part")])
    expected = frame.to_metric_exact(stored(expected_local))
    assert acc.remaining_m2 == pytest.approx(expected.area, abs=0.1)
    assert acc.remaining_metric.hausdorff_distance(expected) < 0.01, acc.remaining_metric.wkt
    west = frame.to_metric(stored(Point(x - 450.0, y + h / 2)))
    assert acc.remaining_metric.distance(west) == pytest.approx(450.0 + cut * w, abs=0.01)
