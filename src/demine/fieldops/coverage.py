"""Coverage paths for demining flails and remote-controlled robotic platforms.

``plan_coverage`` lays a machine's passes over a hazardous area (metres, a metric
plane: project WGS84 first with ``demine.geo.crs.MetricFrame``) so that the union of
the flail's footprints covers *all* of it: demining cannot leave a strip. It returns
the passes, the turns and transits joining them, the route, its length and duration,
and what is left uncovered (should be nothing) or worked twice, as shapely geometry.

The model, and why:

- **No-go zones.** Holes of the area and obstacle polygons are never entered by the
  route (the machine's centre line); the flail works up to their edge from outside,
  and where the machine overruns a corner its body never overhangs them.
- **Headland passes are worked.** Every hole and obstacle is ringed by contour passes
  (centre line ``w/2 + i * (w - overlap)`` off its edge), at least one, more when a
  configured ``headland_width_m`` asks for it or when the U-turns at the swath ends
  need the room. ``headland_width_m`` also rings the outer boundary with passes; without
  it the swaths run over the outer edge by up to ``w/2`` and the machine turns on the
  ground beyond it (``outside_lane_m`` limits how far; ``None`` means as far as needed).
- **Corners.** At a sharp corner of a contour pass the machine overruns, reverses and
  swings into the next side (two short out-and-back spurs), so the flat flail reaches
  the corner's tip. Corners whose tip lies towards a no-go zone cannot be reached that
  way; what is left there is returned in ``uncovered`` with its area, never hidden.
- **Swaths.** Parallel swaths over the inner field, their direction chosen by trying
  the hull edge directions and a 5° fan (fewest swaths and shortest path), grouped
  into boustrophedon cells that are worked back and forth and visited nearest first.
- **Touch-up passes.** Whatever ground the contours and swaths still leave (a lens
  where the merged rings of close holes meet, a reflex corner a swath end misses) gets
  straight passes of its own along each piece's long axis, driven last, joined by
  transits. Only ground no pass can reach without overhanging a no-go zone stays in
  ``uncovered``.
- **Turns** honour the minimum turning radius (Dubins paths, forward only); a radius of
  0 is a tracked machine pivoting on the spot. A turn that does not fit in the free
  ground is an error naming the cell, the swaths and the room missing. Transits are
  driven flail up along the shortest way around the no-go zones.
- **Accounting.** The footprint of a swath is its centre line buffered by ``w/2`` with
  flat caps; of a contour pass, the same with round joins (the machine pivots at each
  vertex) plus its corner spurs. ``uncovered`` = area minus the union of footprints
  (slivers thinner than ``SLIVER_M`` dropped as numerical noise); ``double_covered`` =
  the ground inside two or more footprints, the configured overlap included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError
from demine.fieldops.cells import decompose
from demine.fieldops.swath_order import TurnLengths, ranked_orders
from demine.fieldops.swaths import (
    Layout,
    candidate_angles,
    field_edges,
    layout,
    quick_cost,
    strip_counts,
    to_world,
)
from demine.fieldops.turns import TransitGraph, turn_options

#: Uncovered slivers thinner than this (m) are floating-point noise, not ground left.
SLIVER_M = 1e-3
#: A contour vertex turning by more than this is a corner (spurs, a manoeuvre).
CORNER_RAD = math.radians(20.0)
#: A corner's bisector spur reaches at most this many working widths (sampled finely).
TIP_MAX = 4
TIP_SAMPLES = 321
#: A bisector spur is added when it reaches further than the side spurs by this (m).
TIP_TOL_M = 1e-6
#: Tolerance (m) when checking that a turn stays in the free ground.
FREE_TOL_M = 1e-6
#: Angles (best quick estimates) laid out exactly before choosing.
REFINE_ANGLES = 4
#: Around the chosen angle, directions this far apart (degrees) are laid out too, up to
#: FINE_SPAN either side: between hull-edge directions and the coarse fan, a slight
#: turn often keeps the swath count and shortens the slanted swath ends.
FINE_STEP_DEG = 0.25
FINE_SPAN_DEG = 3.0

LegKind = Literal["swath", "headland", "touch-up", "turn", "transit"]


@dataclass(frozen=True)
class Machine:
    """A clearance machine as the planner needs it (all in metres, seconds).

    ``overlap_m`` or ``overlap_fraction`` (of the working width) is the overlap that
    neighbouring passes must keep at least; it must stay below half the width,
    beyond which every point would be worked twice and the setting is surely a typo.
    ``turn_time_s`` is the extra time of each turn or manoeuvre (stop, lift the flail,
    pivot); ``turn_speed_m_s`` the speed on turns and transits (default: working speed).
    """

    working_width_m: float
    min_turn_radius_m: float = 0.0
    speed_m_s: float = 0.3
    overlap_m: float | None = None
    overlap_fraction: float | None = None
    turn_time_s: float = 0.0
    turn_speed_m_s: float | None = None
    headland_width_m: float | None = None
    name: str = "machine"

    def __post_init__(self) -> None:
        record = f"machine {self.name}"

        def finite(name: str, value: Any, *, positive: bool) -> None:
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise ValidationError(record, name, f"must be a finite number, got {value!r}")
            if positive and value <= 0:
                raise ValidationError(record, name, f"must be greater than 0, got {value!r}")
            if value < 0:
                raise ValidationError(record, name, f"must not be negative, got {value!r}")

        finite("working_width_m", self.working_width_m, positive=True)
        finite("min_turn_radius_m", self.min_turn_radius_m, positive=False)
        finite("speed_m_s", self.speed_m_s, positive=True)
        finite("turn_time_s", self.turn_time_s, positive=False)
        if self.turn_speed_m_s is not None:
            finite("turn_speed_m_s", self.turn_speed_m_s, positive=True)
        if self.headland_width_m is not None:
            finite("headland_width_m", self.headland_width_m, positive=False)
        if self.overlap_m is not None and self.overlap_fraction is not None:
            raise ValidationError(record, "overlap_m",
                                  "give the overlap in metres or as a fraction, not both")
        if self.overlap_m is not None:
            finite("overlap_m", self.overlap_m, positive=False)
        if self.overlap_fraction is not None:
            finite("overlap_fraction", self.overlap_fraction, positive=False)
        if self.overlap >= self.working_width_m / 2:
            raise ValidationError(
                record, "overlap_m" if self.overlap_m is not None else "overlap_fraction",
                f"overlap {self.overlap:g} m must be less than half the working width "
                f"({self.working_width_m / 2:g} m)")

    @property
    def overlap(self) -> float:
        if self.overlap_m is not None:
            return float(self.overlap_m)
        if self.overlap_fraction is not None:
            return float(self.overlap_fraction) * self.working_width_m
        return 0.0

    @property
    def spacing(self) -> float:
        """Distance between neighbouring pass centre lines at the required overlap."""
        return self.working_width_m - self.overlap

    @property
    def travel_speed(self) -> float:
        return self.turn_speed_m_s if self.turn_speed_m_s is not None else self.speed_m_s


@dataclass(frozen=True)
class Leg:
    """One piece of the route. ``number`` is the swath or headland pass number."""

    kind: LegKind
    geometry: LineString
    cell: int | None = None
    number: int | None = None
    radius_m: float | None = None
    manoeuvres: int = 0

    @property
    def length(self) -> float:
        return float(self.geometry.length)

    def properties(self) -> dict[str, Any]:
        return {"kind": self.kind, "cell": self.cell, "number": self.number,
                "length_m": round(self.length, 3), "radius_m": self.radius_m,
                "manoeuvres": self.manoeuvres}


@dataclass(frozen=True)
class CoveragePlan:
    """What ``plan_coverage`` returns; every length in m, area in m², time in s."""

    machine: Machine
    angle_deg: float
    area: BaseGeometry                 # the ground to work: area minus obstacles
    cells: list[Polygon]               # inner-field cells, numbered from 1 in work order
    legs: list[Leg]
    route: LineString
    footprint: BaseGeometry
    uncovered: BaseGeometry
    double_covered: BaseGeometry
    hole_passes: int
    outer_passes: int
    extra: dict[str, Any] = field(default_factory=dict)

    def _sum(self, *kinds: str) -> float:
        return float(sum(leg.length for leg in self.legs if leg.kind in kinds))

    @property
    def swaths(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.kind == "swath"]

    @property
    def headland(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.kind == "headland"]

    @property
    def swath_count(self) -> int:
        return len(self.swaths)

    @property
    def turn_count(self) -> int:
        return sum(1 for leg in self.legs if leg.kind == "turn")

    @property
    def manoeuvre_count(self) -> int:
        return sum(leg.manoeuvres for leg in self.legs)

    @property
    def path_length_m(self) -> float:
        return self._sum("swath", "headland", "touch-up", "turn", "transit")

    @property
    def working_length_m(self) -> float:
        return self._sum("swath", "headland", "touch-up")

    @property
    def touch_ups(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.kind == "touch-up"]

    @property
    def turn_length_m(self) -> float:
        return self._sum("turn")

    @property
    def transit_length_m(self) -> float:
        return self._sum("transit")

    @property
    def time_s(self) -> float:
        m = self.machine
        return (self.working_length_m / m.speed_m_s
                + (self.turn_length_m + self.transit_length_m) / m.travel_speed
                + m.turn_time_s * (self.turn_count + self.manoeuvre_count))

    @property
    def area_m2(self) -> float:
        return float(self.area.area)

    @property
    def uncovered_m2(self) -> float:
        return float(self.uncovered.area)

    @property
    def double_covered_m2(self) -> float:
        return float(self.double_covered.area)

    @property
    def coverage_fraction(self) -> float:
        return 1.0 - self.uncovered_m2 / self.area_m2

    def features(self) -> list[tuple[BaseGeometry, dict[str, Any]]]:
        """(geometry, properties) of every leg in route order, for the exporters."""
        return [(leg.geometry, leg.properties()) for leg in self.legs]


# --- input checks ----------------------------------------------------------------------

def _parts(geom: BaseGeometry) -> list[Polygon]:
    return list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]


def _check_polygonal(geom: Any, record: str, field_name: str) -> BaseGeometry:
    if not isinstance(geom, Polygon | MultiPolygon):
        raise ValidationError(record, field_name,
                              f"must be a shapely Polygon or MultiPolygon in metres, "
                              f"got {type(geom).__name__}")
    if geom.is_empty:
        raise ValidationError(record, field_name, "is empty")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise ValidationError(record, field_name, "has non-finite coordinates")
    for i, part in enumerate(_parts(geom), start=1):
        ring = shapely.get_coordinates(part.exterior)
        spread = ring - ring[0]
        if len(np.unique(ring, axis=0)) < 3 or np.linalg.matrix_rank(spread, 1e-9) < 2:
            raise ValidationError(record, field_name,
                                  f"part {i} is degenerate: fewer than 3 distinct vertices "
                                  f"or all of them on one line")
    if not geom.is_valid:
        raise ValidationError(record, field_name,
                              f"is not a valid polygon: {shapely.is_valid_reason(geom)}")
    return geom


def _narrowest(poly: Polygon) -> float:
    rect = poly.minimum_rotated_rectangle
    xy = shapely.get_coordinates(rect)
    if len(xy) < 4:
        return 0.0
    sides = np.hypot(*np.diff(xy[:3], axis=0).T)
    return float(sides.min())


# --- headland (contour) passes ---------------------------------------------------------

def _tip_reach(p: np.ndarray, b: np.ndarray, ringed: BaseGeometry, half: float
               ) -> tuple[float, np.ndarray]:
    """How far from corner ``p`` (towards ``b``) the ground is ``half`` nearer to ``ringed``.

    The contour pass through ``p`` (at distance ``d`` from what it rings) must work
    the ground down to ``d - half``; beyond that the previous pass takes over. Along
    the corner's bisector the distance falls at the rate sin(θ/2) of the angle θ at
    which the two offset fronts meet, slower where they are arcs. Returns 0 when the
    distance never falls that far within ``TIP_MAX`` working widths. Where the corner
    is the meeting of two zones' rings, the medial axis between them curves, so the
    spur is aimed at the point where their offsets at ``d - half`` cross instead.
    Returns (length, direction).
    """
    d0 = float(shapely.distance(shapely.points(p), ringed))
    target = d0 - half
    parts = shapely.get_parts(ringed)
    if len(parts) >= 2 and target > 0:
        # a corner where the rings of two zones merge: the lens follows their medial
        # axis (curved between arcs); aim at where their offsets at ``target`` cross
        near = parts[np.argsort(shapely.distance(parts, shapely.points(p)))[:2]]
        da, db = shapely.distance(near, shapely.points(p))
        if abs(da - db) <= 0.05 * half:
            rings = shapely.boundary(shapely.buffer(near, target, quad_segs=64))
            cross = shapely.get_coordinates(shapely.intersection(rings[0], rings[1]))
            if len(cross):
                gap = np.hypot(*(cross - p).T)
                k = int(gap.argmin())
                if gap[k] > 1e-9 and np.dot(cross[k] - p, b) > 0:
                    return float(gap[k]), (cross[k] - p) / gap[k]
    steps = np.linspace(0.0, TIP_MAX * 2 * half, TIP_SAMPLES)
    dist = shapely.distance(shapely.points(p + steps[:, None] * b), ringed)
    hit = np.flatnonzero(dist <= target)
    if len(hit) == 0 or hit[0] == 0:
        return 0.0, b
    lo, hi = float(steps[hit[0] - 1]), float(steps[hit[0]])
    for _ in range(40):  # the first crossing, to well under a millimetre
        mid = (lo + hi) / 2.0
        if float(shapely.distance(shapely.points(p + mid * b), ringed)) <= target:
            hi = mid
        else:
            lo = mid
    return hi, b


def _corner_spurs(coords: np.ndarray, closed: bool, half: float, free: BaseGeometry,
                  ringed: BaseGeometry | None = None
                  ) -> tuple[np.ndarray, list[np.ndarray], int]:
    """Insert out-and-back spurs at the corners of a contour pass.

    Returns the route coordinates, the spur segments (for the footprint) and the
    number of corners (each a stop-and-swing manoeuvre).

    The two spurs along the sides reach the tip of a corner between straight offset
    fronts. Where the fronts are arcs (round the vertices of two no-go zones whose
    rings merge, or round a notch) they curve away from the tip and leave a lens of
    ground on the corner's bisector between this pass and the previous one; there a
    third spur runs down the bisector (towards ``ringed``, what the pass rings) until
    the previous pass's band is met.
    """
    n = len(coords)
    if n < 3:
        return coords, [], 0
    pts = coords[:-1] if closed else coords
    m = len(pts)
    idx = np.arange(m) if closed else np.arange(1, m - 1)
    if len(idx) == 0:
        return coords, [], 0
    u_in = pts[idx] - pts[idx - 1]
    u_out = pts[(idx + 1) % m] - pts[idx]
    len_in = np.hypot(*u_in.T)
    len_out = np.hypot(*u_out.T)
    ok = (len_in > 1e-9) & (len_out > 1e-9)
    u_in = u_in / np.where(ok, len_in, 1.0)[:, None]
    u_out = u_out / np.where(ok, len_out, 1.0)[:, None]
    cos_d = np.clip(np.sum(u_in * u_out, axis=1), -1.0, 1.0)
    delta = np.arccos(cos_d)
    corner = ok & (delta > CORNER_RAD)
    if not corner.any():
        return coords, [], 0
    ell = np.minimum(half * np.tan(np.minimum(delta, math.radians(170.0)) / 2.0), 4 * half)
    ci = idx[corner]
    p = pts[ci]
    fwd = p + ell[corner, None] * u_in[corner]
    back = p - ell[corner, None] * u_out[corner]
    segs_f = shapely.linestrings(np.stack([p, fwd], axis=1))
    segs_b = shapely.linestrings(np.stack([p, back], axis=1))
    ok_f = shapely.covered_by(segs_f, free)
    ok_b = shapely.covered_by(segs_b, free)
    # how far down the bisector (towards the tip) the side spurs already work
    half_d = delta[corner] / 2.0
    tip_dir = u_in[corner] - u_out[corner]
    tip_dir = tip_dir / np.hypot(*tip_dir.T)[:, None]
    with np.errstate(divide="ignore"):
        side = np.minimum(ell[corner] / np.sin(half_d), half / np.cos(half_d))
    covered = np.where(ok_f | ok_b, np.maximum(side, half), half)
    spurs: dict[int, list[np.ndarray]] = {}
    spur_segments = []
    for k, i in enumerate(ci.tolist()):
        extra = []
        if ok_f[k]:
            extra += [fwd[k], p[k]]
            spur_segments.append(np.stack([p[k], fwd[k]]))
        reach, aim = (_tip_reach(p[k], tip_dir[k], ringed, half) if ringed is not None
                      else (0.0, tip_dir[k]))
        if reach > covered[k] + TIP_TOL_M:
            tip = p[k] + reach * aim
            if bool(shapely.covered_by(shapely.linestrings([p[k], tip]), free)):
                extra += [tip, p[k]]
                spur_segments.append(np.stack([p[k], tip]))
        if ok_b[k]:
            extra += [back[k], p[k]]
            spur_segments.append(np.stack([p[k], back[k]]))
        spurs[i] = extra
    out = []
    for i in range(m):
        out.append(pts[i])
        out.extend(spurs.get(i, []))
    if closed:
        out.append(pts[0])
    return np.asarray(out), spur_segments, int(corner.sum())


def _contours(noway: BaseGeometry, outer: BaseGeometry, ground: BaseGeometry,
              free: BaseGeometry, m: Machine, hole_passes: int, outer_passes: int
              ) -> list[tuple[str, LineString]]:
    """Centre lines of the contour passes: (what they ring, line), innermost first."""
    w, s = m.working_width_m, m.spacing
    reach = ground.buffer(w / 2.0)
    lines: list[tuple[str, LineString]] = []
    for i in range(outer_passes):
        ring = shapely.boundary(outer.buffer(-(w / 2.0 + i * s)))
        if not ring.is_empty:
            lines += [(f"outer boundary, pass {i + 1}", g)
                      for g in shapely.get_parts(shapely.line_merge(ring.intersection(free)))]
    if not noway.is_empty:
        for i in range(hole_passes):
            ring = shapely.boundary(noway.buffer(w / 2.0 + i * s))
            ring = shapely.line_merge(ring.intersection(reach).intersection(free))
            lines += [(f"no-go zones, pass {i + 1}", g) for g in shapely.get_parts(ring)]
    return [(what, g) for what, g in lines
            if isinstance(g, LineString) and g.length > 1e-6]


# --- the planner -----------------------------------------------------------------------

def _uturn_depth(m: Machine) -> float:
    """How far beyond a swath end the U-turn onto the neighbouring swath reaches."""
    r = m.min_turn_radius_m
    if r <= 0:
        return 0.0
    opts = turn_options((0.0, 0.0, math.pi / 2), (m.spacing, 0.0, -math.pi / 2), r)
    return float(shapely.get_coordinates(opts[0])[:, 1].max())


def _choose_layout(field_: BaseGeometry, m: Machine, angle_deg: float | None) -> Layout:
    """Swaths at the angle with the fewest swaths, then the shortest working length.

    Fewest swaths first: every swath end is a turn on hazardous ground (time, wear,
    a manoeuvre next to the edge), and for a convex field it is what the operator's
    rule of thumb ``ceil(narrowest width / effective width)`` expects.

    On a convex field, directions a fraction of a degree around the best are laid out
    too: the swath count often holds there while the slanted ends get shorter (an
    ellipse's path fell from 1.101 to 1.095 times its bound).
    """
    w, o = m.working_width_m, m.overlap
    if angle_deg is not None:
        return layout(field_, math.radians(angle_deg), w, o)
    angles = candidate_angles(field_)
    edges = field_edges(field_)
    quick = np.array([quick_cost(edges, a, w, o) for a in angles])
    rank = np.lexsort((quick[:, 1], quick[:, 0]))
    # the best few estimates, and the best estimate among the angles with fewest strips
    fewest = strip_counts(field_, angles, w, o)
    pick = set(rank[:REFINE_ANGLES].tolist())
    least = np.flatnonzero(fewest == fewest.min())
    pick.add(int(least[np.lexsort((quick[least, 1], quick[least, 0]))[0]]))
    lays = [layout(field_, a, w, o) for a in angles[sorted(pick)]]
    best = min(lays, key=lambda lay: (lay.count, lay.length))
    if field_.convex_hull.area - field_.area > 1e-9 * field_.area:
        # cells and transits, which the layout's length does not see, decide here
        return best
    steps = np.arange(-FINE_SPAN_DEG, FINE_SPAN_DEG + 1e-9, FINE_STEP_DEG)
    fine = np.mod(best.angle_rad + np.radians(steps[steps != 0.0]), math.pi)
    return min([best] + [layout(field_, a, w, o) for a in fine],
               key=lambda lay: (lay.count, lay.length))


@dataclass
class _Job:
    kind: Literal["cell", "contour"]
    label: str
    coords: np.ndarray | None = None          # contour centre line
    closed: bool = False
    pieces: np.ndarray | None = None          # cell: piece indices in strip order
    ringed: BaseGeometry | None = None        # contour: what it is offset from


def plan_coverage(area: Polygon | MultiPolygon, machine: Machine,
                  obstacles: list[Polygon] | tuple[Polygon, ...] = (), *,
                  angle_deg: float | None = None, start: tuple[float, float] | None = None,
                  outside_lane_m: float | None = None, record: str = "coverage area"
                  ) -> CoveragePlan:
    """Plan the passes, turns and transits that work the whole of ``area``.

    ``area`` and ``obstacles`` are in metres. ``angle_deg`` forces the swath direction
    (degrees from the x axis) instead of searching; ``start`` is where the machine
    arrives (default: the south-west corner of the area's bounds). ``outside_lane_m``
    limits how far beyond the outer edge the machine may drive to turn (None: no limit).
    Raises ``ValidationError`` for degenerate geometry, a machine wider than the area,
    and parts or turns the machine cannot reach, naming the part and the reason.
    """
    m = machine
    w, s, r = m.working_width_m, m.spacing, m.min_turn_radius_m
    area = _check_polygonal(area, record, "geometry")
    obs = [_check_polygonal(g, record, f"obstacle {i}") for i, g in enumerate(obstacles, 1)]
    if outside_lane_m is not None and (not math.isfinite(outside_lane_m) or outside_lane_m < 0):
        raise ValidationError(record, "outside_lane_m",
                              f"must be a finite number ≥ 0, got {outside_lane_m!r}")
    for i, part in enumerate(_parts(area), start=1):
        narrow = _narrowest(part)
        if narrow < w:
            where = f"part {i}" if isinstance(area, MultiPolygon) else "the area"
            raise ValidationError(
                record, "working_width_m",
                f"the working width {w:g} m is wider than {where} ({narrow:.2f} m at its "
                f"narrowest): the machine would flail more ground outside it than inside; "
                f"work it manually or with a narrower machine")

    outers = [Polygon(p.exterior) for p in _parts(area)]
    outer = shapely.union_all(outers)
    holes = [Polygon(ring) for p in _parts(area) for ring in p.interiors]
    noway = shapely.union_all(holes + obs)
    ground = area.difference(noway) if not noway.is_empty else area
    ground = shapely.make_valid(ground) if not ground.is_valid else ground
    if ground.is_empty or ground.area <= 0:
        raise ValidationError(record, "obstacles", "the obstacles cover the whole area")

    outer_passes = math.ceil(m.headland_width_m / s - 1e-9) if m.headland_width_m else 0
    depth = _uturn_depth(m)
    hole_passes = max(1, outer_passes, math.ceil((depth + w / 2.0) / s - 1e-9))

    if outside_lane_m is None:
        x0, y0, x1, y1 = shapely.union_all([ground, noway]).bounds
        margin = 4 * (w + r + depth) + 10.0
        region = shapely.box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    else:
        reach = outside_lane_m if outer_passes else max(outside_lane_m, w / 2.0)
        region = outer.buffer(reach + FREE_TOL_M, join_style="mitre")
    free = region.difference(noway) if not noway.is_empty else region
    shapely.prepare(free)
    free_tol = free.buffer(FREE_TOL_M)
    shapely.prepare(free_tol)
    # corner spurs: the machine body (as wide as its flail) never overhangs a no-go zone
    spur_free = free.difference(noway.buffer(w / 2.0 - 1e-6)) if not noway.is_empty else free
    shapely.prepare(spur_free)

    # inner field: what the contour passes do not already work
    inner = ground
    if not noway.is_empty:
        inner = inner.difference(noway.buffer(hole_passes * s))
    if outer_passes:
        inner = inner.intersection(outer.buffer(-outer_passes * s))
    lay = _choose_layout(inner, m, angle_deg) if inner.area > 1e-6 else None

    jobs: list[_Job] = []
    outer_edge = outer.boundary
    shapely.prepare(outer_edge)
    for what, line in _contours(noway, outer, ground, free, m, hole_passes, outer_passes):
        coords = shapely.get_coordinates(line)
        ringed = noway if what.startswith("no-go") else outer_edge
        jobs.append(_Job("contour", what, coords=coords, closed=bool(line.is_closed),
                         ringed=ringed))
    cells = decompose(lay) if lay is not None else []
    for k, cell in enumerate(cells):
        jobs.append(_Job("cell", f"cell {k + 1}", pieces=cell))

    if lay is not None:
        a = lay.angle_rad
        starts = to_world(np.c_[lay.x0, lay.y], a)
        ends = to_world(np.c_[lay.x1, lay.y], a)
        heading = a
    else:
        starts = ends = np.empty((0, 2))
        heading = 0.0

    turns = TurnLengths(starts, ends, heading, r)
    if start is None:
        bx0, by0, _, _ = ground.bounds
        start = (bx0, by0)
    graph: TransitGraph | None = None

    def transit(p: np.ndarray, q: np.ndarray, label: str) -> LineString:
        nonlocal graph
        if graph is None:
            graph = TransitGraph(free)
        path = graph.path(tuple(p), tuple(q))
        if path is None:
            raise ValidationError(
                record, "geometry",
                f"{label} cannot be reached from ({p[0]:.1f}, {p[1]:.1f}): no way around the "
                f"holes and obstacles" + (f" within the outside lane of {outside_lane_m:g} m"
                                          if outside_lane_m is not None else ""))
        return path

    # greedy nearest-first order of the jobs, each entered at its nearest end
    legs: list[Leg] = []
    footprints: list[BaseGeometry] = []
    cell_polys: list[Polygon] = []
    pos = np.asarray(start, dtype=float)
    first = True
    todo = list(range(len(jobs)))
    swath_no = 0
    pass_no = 0
    while todo:
        best = None
        for j in todo:
            job = jobs[j]
            if job.kind == "contour":
                c = job.coords
                if job.closed:
                    d = np.hypot(*(c[:-1] - pos).T)
                    opt = (float(d.min()), j, int(d.argmin()))
                else:
                    d0, d1 = np.hypot(*(c[0] - pos)), np.hypot(*(c[-1] - pos))
                    opt = (min(d0, d1), j, 0 if d0 <= d1 else -1)
            else:
                p = job.pieces
                opts = [(np.hypot(*(starts[p[0]] - pos)), 0), (np.hypot(*(ends[p[0]] - pos)), 1),
                        (np.hypot(*(starts[p[-1]] - pos)), 2),
                        (np.hypot(*(ends[p[-1]] - pos)), 3)]
                dmin, o = min(opts)
                opt = (float(dmin), j, o)
            if best is None or opt[0] < best[0]:
                best = opt
        assert best is not None
        _, j, option = best
        todo.remove(j)
        job = jobs[j]
        if job.kind == "contour":
            c = job.coords
            if job.closed:
                c = np.vstack([np.roll(c[:-1], -option, axis=0), np.roll(c[:-1], -option,
                                                                          axis=0)[:1]])
            elif option == -1:
                c = c[::-1]
            entry = c[0]
        else:
            p, forward, orders = _enter_cell(job.pieces, option, starts, ends, turns, m,
                                             None if first else pos)
            entry = starts[p[0]] if forward else ends[p[0]]
        if not first and np.hypot(*(entry - pos)) > 1e-9:
            legs.append(Leg("transit", transit(pos, entry, job.label),
                            manoeuvres=1 if r > 0 else 0))
        first = False
        if job.kind == "contour":
            pass_no += 1
            route, spurs, corners = _corner_spurs(c, job.closed, w / 2.0, spur_free,
                                                  job.ringed)
            sharp = corners if r > 0 or m.turn_time_s > 0 else 0
            legs.append(Leg("headland", LineString(route), number=pass_no, manoeuvres=sharp))
            footprints.append(LineString(c).buffer(w / 2.0, cap_style="flat",
                                                   join_style="round"))
            footprints.extend(shapely.buffer(shapely.linestrings(spurs), w / 2.0,
                                             cap_style="flat") if spurs else [])
            pos = route[-1]
            continue
        cell_no = len(cell_polys) + 1
        cell_polys.append(shapely.union_all(lay.pieces[p]))
        best_legs: list[Leg] | None = None
        best_turns = math.inf
        for estimate, order in orders:
            if estimate >= best_turns - 1e-9:
                break  # every order left turns at least this long even where all fit
            try:
                cell_legs = _work_cell(p[order], forward, starts, ends, heading, m, free_tol,
                                       cell_no, swath_no, record, transit)
            except ValidationError:
                if len(order) and np.all(np.diff(order) == 1):
                    raise
                continue  # a skip pattern that does not fit: the plain order decides
            turned = sum(g.length for g in cell_legs if g.kind != "swath")
            if turned < best_turns:
                best_legs, best_turns = cell_legs, turned
        assert best_legs is not None
        legs.extend(best_legs)
        for leg in best_legs:
            if leg.kind == "swath":
                footprints.append(leg.geometry.buffer(w / 2.0, cap_style="flat"))
        swath_no += len(p)
        pos = np.asarray(best_legs[-1].geometry.coords[-1])

    covered = shapely.union_all(np.asarray(footprints, dtype=object))
    for line in _touch_up_lines(ground.difference(covered), m, spur_free, pos):
        entry = np.asarray(line.coords[0])
        if np.hypot(*(entry - pos)) > 1e-9:
            legs.append(Leg("transit", transit(pos, entry, "a touch-up pass"),
                            manoeuvres=1 if r > 0 else 0))
        pass_no += 1
        legs.append(Leg("touch-up", line, number=pass_no))
        footprints.append(line.buffer(w / 2.0, cap_style="flat"))
        covered = covered.union(footprints[-1])
        pos = np.asarray(line.coords[-1])
    return _account(m, lay, ground, cell_polys, legs, footprints, covered, hole_passes,
                    outer_passes)


def _touch_up_lines(left: BaseGeometry, m: Machine, spur_free: BaseGeometry,
                    pos: np.ndarray) -> list[LineString]:
    """Straight passes over the ground the contours and swaths still left, nearest first.

    Where the merged rings of close holes meet, or a swath end falls short of a
    reflex corner, a lens of ground can stay unworked. Demining cannot leave it, and
    patching each geometric case has proved endless, so whatever is left gets passes
    of its own: along the long axis of the piece's minimum rotated rectangle, side by
    side across its width, each reaching the rectangle's ends (so the flat-capped
    footprint holds the piece). A pass whose machine body would overhang a no-go zone
    is not driven; that ground stays in ``uncovered``, reported rather than hidden.
    """
    left = left.buffer(-SLIVER_M / 2, join_style="mitre").buffer(SLIVER_M / 2,
                                                                  join_style="mitre")
    w, s = m.working_width_m, m.spacing
    lines: list[LineString] = []
    for piece in shapely.get_parts(left):
        if piece.area <= 0:
            continue
        rect = shapely.get_coordinates(piece.minimum_rotated_rectangle)
        if len(rect) < 4:
            continue
        e1, e2 = rect[1] - rect[0], rect[2] - rect[1]
        along, across = (e1, e2) if np.hypot(*e1) >= np.hypot(*e2) else (e2, e1)
        length, width = max(float(np.hypot(*along)), 1e-3), float(np.hypot(*across))
        u = along / max(np.hypot(*along), 1e-12)
        v = across / max(width, 1e-12)
        centre = rect[:4].mean(axis=0)
        count = 1 if width <= w else math.ceil((width - m.overlap) / s - 1e-9)
        span = max(width - w, 0.0)
        offsets = np.linspace(-span / 2, span / 2, count) if count > 1 else np.zeros(1)
        for off in offsets:
            mid = centre + off * v
            line = LineString([mid - u * length / 2, mid + u * length / 2])
            if bool(shapely.covered_by(line, spur_free)):
                lines.append(line)
    ordered: list[LineString] = []
    here = np.asarray(pos, dtype=float)
    while lines:
        ends = np.array([[ln.coords[0], ln.coords[-1]] for ln in lines])
        d = np.hypot(*(ends - here).transpose(2, 0, 1))
        k, end = np.unravel_index(np.argmin(d), d.shape)
        line = lines.pop(int(k))
        line = line if end == 0 else LineString(line.coords[::-1])
        ordered.append(line)
        here = np.asarray(line.coords[-1])
    return ordered


def _enter_cell(pieces: np.ndarray, nearest: int, starts: np.ndarray, ends: np.ndarray,
                turns: TurnLengths, m: Machine, pos: np.ndarray | None
                ) -> tuple[np.ndarray, bool, list[tuple[float, np.ndarray]]]:
    """Which corner to enter a cell by, and the orders to try: (pieces, forward, orders).

    Entry options 0-3: first or last swath first, worked from its start or its end.
    A pivoting machine simply enters at the ``nearest`` corner. With a turning radius
    the corner decides which end every turn falls on, and so what skipping saves on
    slanted ends: each corner's best order is estimated (Dubins lengths, plus the
    straight way there from ``pos``, none for the first cell) and the cheapest taken.
    """
    r, s = m.min_turn_radius_m, m.spacing

    def option(o: int) -> tuple[float, np.ndarray, bool, list[tuple[float, np.ndarray]]]:
        p = pieces if o in (0, 1) else pieces[::-1]
        forward = o in (0, 2)
        ranked = ranked_orders(p, forward, turns, s)
        entry = starts[p[0]] if forward else ends[p[0]]
        way = 0.0 if pos is None else float(np.hypot(*(entry - pos)))
        return ranked[0][0] + way, p, forward, ranked

    if r <= 0 or s >= 2 * r:
        _, p, forward, ranked = option(nearest)
    else:
        _, p, forward, ranked = min((option(o) for o in range(4)), key=lambda x: x[0])
    return p, forward, ranked


def _work_cell(pieces: np.ndarray, forward: bool, starts: np.ndarray, ends: np.ndarray,
               heading: float, m: Machine, free: BaseGeometry, cell_no: int,
               first_swath: int, record: str, transit) -> list[Leg]:
    """Swaths of one cell in the given order, joined by drivable turns."""
    legs: list[Leg] = []
    prev_end: np.ndarray | None = None
    prev_heading = 0.0
    swath_no = first_swath
    for k, piece in enumerate(pieces.tolist()):
        fwd = forward == (k % 2 == 0)
        a_pt, b_pt = (starts[piece], ends[piece]) if fwd else (ends[piece], starts[piece])
        h = heading if fwd else heading + math.pi
        if prev_end is not None:
            legs.append(_turn(prev_end, prev_heading, a_pt, h, m, free, cell_no, swath_no,
                              record, transit))
        swath_no += 1
        legs.append(Leg("swath", LineString([a_pt, b_pt]), cell=cell_no, number=swath_no))
        prev_end, prev_heading = b_pt, h
    return legs


def _turn(p: np.ndarray, hp: float, q: np.ndarray, hq: float, m: Machine,
          free: BaseGeometry, cell: int, swath: int, record: str, transit) -> Leg:
    """The shortest drivable U-turn from swath ``swath`` onto the next that stays free."""
    r = m.min_turn_radius_m
    options = turn_options((p[0], p[1], hp), (q[0], q[1], hq), r)
    fits = shapely.covered_by(np.asarray(options, dtype=object), free) if options else []
    for option, ok in zip(options, fits, strict=True):
        if ok:
            return Leg("turn", option, cell=cell, radius_m=r)
    if r <= 0:  # a pivoting machine simply drives around, flail up
        return Leg("turn", transit(p, q, f"cell {cell}"), cell=cell, radius_m=0.0)
    need = options[0].length if options else float("nan")
    raise ValidationError(
        record, "min_turn_radius_m",
        f"cell {cell} is unreachable with a {r:g} m turning radius: the turn from swath "
        f"{swath} onto swath {swath + 1} near ({p[0]:.1f}, {p[1]:.1f}) needs a "
        f"{need:.1f} m loop reaching {_uturn_depth(m):.1f} m beyond the swath end, and "
        f"every such loop crosses a hole, an obstacle or the edge of the ground the "
        f"machine may use; widen headland_width_m or outside_lane_m, or use a machine "
        f"with a smaller turning radius")


def _account(m: Machine, lay: Layout | None, ground: BaseGeometry, cell_polys: list[Polygon],
             legs: list[Leg], footprints: list[BaseGeometry], footprint: BaseGeometry,
             hole_passes: int, outer_passes: int) -> CoveragePlan:
    """Route, footprint, uncovered and double-covered ground."""
    angle = math.degrees(lay.angle_rad) % 180.0 if lay is not None else 0.0
    cells = [shapely.transform(c, lambda xy: to_world(xy, lay.angle_rad)) for c in cell_polys]
    coords: list[np.ndarray] = []
    for leg in legs:
        xy = shapely.get_coordinates(leg.geometry)
        coords.append(xy if not coords else xy[1:])
    route_xy = np.vstack(coords) if coords else np.empty((0, 2))
    route = LineString(route_xy) if len(route_xy) >= 2 else LineString()
    fp = np.asarray(footprints, dtype=object)
    uncovered = ground.difference(footprint)
    uncovered = uncovered.buffer(-SLIVER_M / 2, join_style="mitre").buffer(
        SLIVER_M / 2, join_style="mitre").intersection(ground)
    tree = shapely.STRtree(fp)
    i, j = tree.query(fp, predicate="intersects")
    keep = i < j
    overlaps = shapely.intersection(fp[i[keep]], fp[j[keep]])
    double = shapely.union_all(overlaps).intersection(ground) if keep.any() else Polygon()
    return CoveragePlan(m, angle, ground, cells, legs, route, footprint, uncovered, double,
                        hole_passes, outer_passes)
