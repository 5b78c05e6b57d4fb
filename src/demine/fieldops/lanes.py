"""Manual demining lanes and boxes laid over a hazard polygon, in metres.

A manual team starts from a base line on safe ground and advances lanes away from it,
one deminer per lane; each lane is cut into boxes so that daily progress can be
reported as "boxes L003-B001 to L003-B004 done" instead of a hand-drawn polygon. The
boxes tile the hazard exactly, so the union of the boxes reported done *is* the
cleared polygon of a progress or completion report, with no slivers and no overlaps
for the area accounting to trip over.

Geometries are shapely geometries in a metric frame (see ``demine.geo.crs``): lane
widths and box lengths are metres, and areas are m².

Layout rules (the defaults are settings, not doctrine):

* The lane direction is perpendicular to the base line's chord (first to last vertex),
  so a gently curved road edge gives straight parallel lanes, as teams mark them.
* Lane boundaries are aligned to the base line's first vertex; lane ``L001`` is the
  first lane (from that end) that holds any of the area. Lanes with no area get no
  number, so numbers have no gaps.
* Box ``B001`` of every lane is the first ``box_length`` metres from the base line,
  ``B002`` the next, and so on; a box number therefore says how far from the start
  line it lies, and numbers of boxes with no area are skipped rather than reused.
* A box is the hazard clipped to its cell, so boxes along an irregular edge or around
  a hole are smaller, and may be in two pieces where the cell crosses a hole or a bay.
* Every layout has an ``id``: a fingerprint of the polygon, the base line, the lane
  width and the box length (to the centimetre). Box ids are only meaningful within one
  layout; a progress report that quotes the layout id is checked against the layout
  its options produce, so boxes from another base line never release other ground.
* Pieces under ``SLIVER_M2`` (floating-point crumbs where an edge runs along a cell
  boundary) are merged into the nearest box rather than numbered: nobody can mark a
  box of a few square centimetres.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from numbers import Real

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError

#: One deminer's lane; 1 m is the common width for manual clearance with a detector.
DEFAULT_LANE_WIDTH_M = 1.0
#: 10 m² boxes at the default width: a fraction of a deminer's day (10-50 m²/day), so a
#: daily report can say which boxes were finished without splitting boxes.
DEFAULT_BOX_LENGTH_M = 10.0
#: How far the base line may lie from the hazard, or the hazard extend behind it.
DEFAULT_MAX_OFFSET_M = 5.0
#: Pieces smaller than 1 cm² are rounding crumbs, merged into a neighbouring box.
SLIVER_M2 = 1e-4
#: A layout beyond this is a unit mistake (degrees for metres, mm for m), not a task.
MAX_BOXES = 250_000
#: Margin added to the outer cells so that rounding never leaves area outside the grid.
_PAD_M = 1.0


@dataclass(frozen=True)
class Box:
    id: str
    lane_id: str
    row: int
    geometry: BaseGeometry
    area_m2: float


@dataclass(frozen=True)
class Lane:
    id: str
    number: int
    geometry: BaseGeometry
    area_m2: float
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class LaneLayout:
    """Lanes and boxes of one hazard polygon, with the inputs that produced them."""

    record: str
    area: Polygon
    base_line: LineString
    lane_width: float
    box_length: float
    lanes: tuple[Lane, ...]

    @cached_property
    def id(self) -> str:
        """``LY-`` and 8 hex digits naming exactly this grid of lanes and boxes.

        Rounded to the centimetre so that the same inputs give the same id on every
        machine, while a moved base line, another width or box length, or an edited
        polygon gives another.
        """
        digest = hashlib.sha256()
        for geom in (self.area, self.base_line):
            digest.update(np.round(shapely.get_coordinates(geom), 2).tobytes())
            digest.update(b"|")
        digest.update(f"{self.lane_width:.2f}|{self.box_length:.2f}".encode())
        return f"LY-{digest.hexdigest()[:8].upper()}"

    @cached_property
    def boxes(self) -> dict[str, Box]:
        return {box.id: box for lane in self.lanes for box in lane.boxes}

    @property
    def area_m2(self) -> float:
        return float(self.area.area)


def layout_lanes(
    area: Polygon,
    *,
    base_line: LineString | None = None,
    lane_width: float = DEFAULT_LANE_WIDTH_M,
    box_length: float = DEFAULT_BOX_LENGTH_M,
    max_offset: float = DEFAULT_MAX_OFFSET_M,
    record: str = "hazard area",
) -> LaneLayout:
    """Lay numbered lanes and boxes over ``area`` (metric), starting from ``base_line``.

    Without a base line the longest side of the exterior along which the whole area
    lies on one side is used (so that the start line is on the area's edge, not cutting
    through it); see :func:`default_base_line`. ``record`` names the area in errors.
    """
    _check_area(area, record)
    _check_length(lane_width, record, "lane_width")
    _check_length(box_length, record, "box_length")
    _check_length(max_offset, record, "max_offset", allow_zero=True)
    line = default_base_line(area) if base_line is None else _check_base_line(
        base_line, area, max_offset, record
    )
    origin, along, across = _frame(line, area)

    ext = np.asarray(area.exterior.coords)[:, :2] - origin
    u, v = ext @ along, ext @ across
    if -float(v.min()) > max_offset:
        raise ValidationError(
            record, "base_line",
            f"the area extends {-float(v.min()):.1f} m behind the base line (more than "
            f"{max_offset:g} m); put the base line on safe ground along the area's edge",
        )
    width = float(u.max() - u.min())
    if lane_width > width:
        raise ValidationError(
            record, "lane_width",
            f"lane width {lane_width:g} m is wider than the area along the base line "
            f"({width:.2f} m); are the coordinates in metres?",
        )

    k_lo = math.floor(float(u.min()) / lane_width + 1e-9)
    k_hi = math.ceil(float(u.max()) / lane_width - 1e-9)
    rows = max(1, math.ceil(float(v.max()) / box_length - 1e-9))
    if (k_hi - k_lo) * rows > MAX_BOXES:
        raise ValidationError(
            record, "lane_width",
            f"{(k_hi - k_lo) * rows} boxes of {lane_width:g} m x {box_length:g} m is more "
            f"than {MAX_BOXES}; are the coordinates in metres?",
        )
    u_edges = np.arange(k_lo, k_hi + 1, dtype=float) * lane_width
    v_edges = np.arange(0, rows + 1, dtype=float) * box_length
    u_edges[0] -= _PAD_M
    u_edges[-1] += _PAD_M
    v_edges[0] = min(0.0, float(v.min())) - _PAD_M
    v_edges[-1] += _PAD_M

    pieces = _clip_cells(area, origin, along, across, u_edges, v_edges)
    pieces = _merge_slivers(pieces)
    return LaneLayout(record, area, line, float(lane_width), float(box_length),
                      _number(pieces))


def progress_polygon(layout: LaneLayout, box_ids: Iterable[str]) -> BaseGeometry:
    """The ground covered by the boxes reported done: the released polygon of a report.

    Unknown ids are refused by name rather than skipped: a typo in a daily report would
    otherwise silently leave cleared ground on the books as remaining (or the reverse).
    """
    ids = list(box_ids)
    unknown = sorted({i for i in ids if i not in layout.boxes}, key=str)
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise ValidationError(
            layout.record, "box_ids", f"unknown box id(s) {shown}{more} in this layout"
        )
    if not ids:
        return Polygon()
    return shapely.union_all([layout.boxes[i].geometry for i in dict.fromkeys(ids)])


def default_base_line(area: Polygon) -> LineString:
    """The longest exterior side that has the whole area on one side of its line.

    The plain longest side of a concave area can have part of the area behind it, which
    would put deminers' backs to uncleared ground. If no side qualifies (a star-shaped
    area), the longest edge of the convex hull is used: a line on safe ground that
    touches the area at two corners.
    """
    coords = np.asarray(area.exterior.coords)[:, :2]
    starts, ends = coords[:-1], coords[1:]
    lengths = np.hypot(*(ends - starts).T)
    scale = max(float(np.ptp(coords[:, 0])), float(np.ptp(coords[:, 1])), 1.0)
    for i in np.argsort(-lengths, kind="stable"):
        if lengths[i] <= 0:
            break
        direction = (ends[i] - starts[i]) / lengths[i]
        normal = np.array([-direction[1], direction[0]])
        side = (coords - starts[i]) @ normal
        if side.min() >= -1e-9 * scale or side.max() <= 1e-9 * scale:
            return LineString([starts[i], ends[i]])
    hull = np.asarray(area.convex_hull.exterior.coords)[:, :2]
    hull_lengths = np.hypot(*(hull[1:] - hull[:-1]).T)
    j = int(np.argmax(hull_lengths))
    return LineString([hull[j], hull[j + 1]])


def _check_area(area: object, record: str) -> None:
    if isinstance(area, MultiPolygon):
        raise ValidationError(
            record, "area", "is a multipolygon; lay out lanes for each part separately"
        )
    if not isinstance(area, Polygon):
        raise ValidationError(record, "area", f"must be a polygon, got {type(area).__name__}")
    if area.is_empty or area.area <= 0:
        raise ValidationError(record, "area", "is empty or has no area")
    if not area.is_valid:
        raise ValidationError(record, "area", f"is not valid: {shapely.is_valid_reason(area)}")
    if not np.isfinite(np.asarray(area.exterior.coords)).all():
        raise ValidationError(record, "area", "has non-finite coordinates")


def _check_length(value: float, record: str, field: str, allow_zero: bool = False) -> None:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(record, field, f"must be a positive number of metres, got {value!r}")


def _check_base_line(line: object, area: Polygon, max_offset: float, record: str) -> LineString:
    if not isinstance(line, LineString) or line.is_empty:
        raise ValidationError(record, "base_line", "must be a non-empty line string")
    coords = np.asarray(line.coords)[:, :2]
    if not np.isfinite(coords).all():
        raise ValidationError(record, "base_line", "has non-finite coordinates")
    if float(np.hypot(*(coords[-1] - coords[0]))) <= 1e-6:
        raise ValidationError(
            record, "base_line", "starts and ends at the same point, so it gives no direction"
        )
    gap = float(line.distance(area))
    if gap > max_offset:
        raise ValidationError(
            record, "base_line",
            f"lies {gap:.1f} m from the area (more than {max_offset:g} m); is it the right line?",
        )
    return line


def _frame(line: LineString, area: Polygon) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin, unit vector along the base line and unit vector pointing into the area."""
    coords = np.asarray(line.coords)[:, :2]
    origin = coords[0].astype(float)
    chord = coords[-1] - coords[0]
    along = chord / float(np.hypot(*chord))
    across = np.array([-along[1], along[0]])
    # The side holding more of the area is "into the area": the centroid can fall outside
    # a concave area, the area itself cannot mislead.
    ext = np.asarray(area.exterior.coords)[:, :2]
    reach = float(np.hypot(*(ext - origin).T).max()) * 2.0 + 1.0
    half = Polygon([
        origin - along * reach, origin + along * reach,
        origin + along * reach + across * reach, origin - along * reach + across * reach,
    ])
    if area.intersection(half).area < area.area / 2.0:
        across = -across
    return origin, along, across


def _clip_cells(
    area: Polygon,
    origin: np.ndarray,
    along: np.ndarray,
    across: np.ndarray,
    u_edges: np.ndarray,
    v_edges: np.ndarray,
) -> dict[tuple[int, int], BaseGeometry]:
    """Clip every grid cell to the area, keyed by (lane index, row index).

    Neighbouring cells are built from the same node coordinates, so their shared edges
    are bit-identical and the pieces cannot overlap or leave gaps between them.
    """
    nodes = (origin + u_edges[:, None, None] * along + v_edges[None, :, None] * across)
    i, j = np.meshgrid(np.arange(len(u_edges) - 1), np.arange(len(v_edges) - 1), indexing="ij")
    i, j = i.ravel(), j.ravel()
    rings = np.stack(
        [nodes[i, j], nodes[i + 1, j], nodes[i + 1, j + 1], nodes[i, j + 1], nodes[i, j]], axis=1
    )
    cells = shapely.polygons(rings)
    shapely.prepare(area)
    hit = shapely.intersects(area, cells)
    clipped = shapely.intersection(cells[hit], area)
    pieces: dict[tuple[int, int], BaseGeometry] = {}
    for lane, row, geom in zip(i[hit], j[hit], clipped, strict=True):
        polygonal = _polygonal(geom)
        if not polygonal.is_empty and polygonal.area > 0:
            pieces[(int(lane), int(row))] = polygonal
    return pieces


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and g.area > 0]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _merge_slivers(
    pieces: dict[tuple[int, int], BaseGeometry],
) -> dict[tuple[int, int], BaseGeometry]:
    keys = list(pieces)
    small = [k for k in keys if pieces[k].area < SLIVER_M2]
    large = [k for k in keys if pieces[k].area >= SLIVER_M2]
    if not small or not large:
        return pieces
    tree = shapely.STRtree([pieces[k] for k in large])
    merged = {k: [pieces[k]] for k in large}
    for k in small:
        target = large[int(tree.nearest(pieces[k]))]
        merged[target].append(pieces[k])
    return {
        k: (geoms[0] if len(geoms) == 1 else _polygonal(shapely.union_all(geoms)))
        for k, geoms in merged.items()
    }


def _number(pieces: dict[tuple[int, int], BaseGeometry]) -> tuple[Lane, ...]:
    by_lane: dict[int, list[tuple[int, BaseGeometry]]] = {}
    for (lane, row), geom in sorted(pieces.items()):
        by_lane.setdefault(lane, []).append((row, geom))
    lanes: list[Lane] = []
    for number, rows in enumerate(by_lane.values(), start=1):
        lane_id = f"L{number:03d}"
        boxes = tuple(
            Box(f"{lane_id}-B{row + 1:03d}", lane_id, row + 1, geom, float(geom.area))
            for row, geom in rows
        )
        geometry = _polygonal(shapely.union_all([b.geometry for b in boxes]))
        lanes.append(Lane(lane_id, number, geometry, sum(b.area_m2 for b in boxes), boxes))
    return tuple(lanes)
