"""Parallel swaths across a field: where to put them and in which direction.

Swaths are laid out in a frame rotated so that they run along x. The strips (each
swath's footprint, ``width`` across) are spread evenly from the lowest to the highest
point of the field, the first and last flush with the field's extremes, so that with
``n = ceil((H - overlap) / (width - overlap))`` strips the whole height H is covered
and neighbours overlap by at least the required overlap: no strip is ever left.

Each strip is cut by the field into pieces; a swath runs over the x-extent of the
ground its piece must cover, so its flat-capped footprint covers that ground
completely even where the field's edge is slanted (the ends stick out over the edge
instead of leaving triangles; the headland passes or the ground beyond the edge take
them). The band two neighbouring strips share is covered by one of them, whichever
makes the swaths shorter at slanted ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: Pieces of a strip thinner than this (m²) are numerical dust, not ground to work.
MIN_PIECE_M2 = 1e-6


def rotation(angle_rad: float) -> np.ndarray:
    """Matrix taking world coordinates into the swath frame (swaths along +x)."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, s], [-s, c]])


def to_frame(geom: BaseGeometry, angle_rad: float) -> BaseGeometry:
    rot = rotation(angle_rad)
    return shapely.transform(geom, lambda xy: xy @ rot.T)


def to_world(xy: np.ndarray, angle_rad: float) -> np.ndarray:
    return np.asarray(xy) @ rotation(angle_rad)


def strip_count(height: float, width: float, overlap: float) -> int:
    """Fewest strips of ``width`` overlapping by ``overlap`` that cover ``height``."""
    if height <= width:
        return 1
    return max(1, math.ceil((height - overlap) / (width - overlap) - 1e-9))


def strip_centres(ymin: float, ymax: float, width: float, overlap: float) -> np.ndarray:
    """Centre lines of the strips, the outer ones flush with ymin and ymax."""
    n = strip_count(ymax - ymin, width, overlap)
    if n == 1:
        return np.array([(ymin + ymax) / 2.0])
    return ymin + width / 2.0 + np.arange(n) * ((ymax - ymin - width) / (n - 1))


@dataclass(frozen=True)
class Layout:
    """Swath pieces in the swath frame: line index, x-range, y, and the piece polygon."""

    angle_rad: float
    line: np.ndarray      # int, strip index of each piece
    x0: np.ndarray
    x1: np.ndarray
    y: np.ndarray
    pieces: np.ndarray    # shapely polygons (swath frame): the field inside each strip

    @property
    def count(self) -> int:
        return len(self.line)

    @property
    def length(self) -> float:
        return float(np.sum(self.x1 - self.x0))


def layout(field: BaseGeometry, angle_rad: float, width: float, overlap: float) -> Layout:
    """Cut the field into strips at ``angle_rad`` and return the swath pieces."""
    framed = to_frame(field, angle_rad)
    xmin, ymin, xmax, ymax = framed.bounds
    ys = strip_centres(ymin, ymax, width, overlap)
    strips = shapely.box(xmin - 1.0, ys - width / 2.0, xmax + 1.0, ys + width / 2.0)
    shapely.prepare(framed)
    cut = shapely.intersection(strips, framed)
    parts, owner = shapely.get_parts(cut, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > MIN_PIECE_M2)
    parts, owner = parts[keep], owner[keep]
    bounds = shapely.bounds(parts)
    order = np.lexsort((bounds[:, 0], owner))
    parts, owner, bounds = parts[order], owner[order], bounds[order]
    x0, x1 = _shared_band_extents(parts, owner, ys, width, bounds)
    return Layout(angle_rad, owner, x0, x1, ys[owner], parts)


def _part_ranges(parts: np.ndarray, owner: np.ndarray, bounds: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray) -> np.ndarray:
    """x-range (xmin, xmax) of each piece between heights lo and hi; NaN where it has none."""
    clip = shapely.intersection(parts, shapely.box(bounds[:, 0] - 1.0, lo[owner],
                                                   bounds[:, 2] + 1.0, hi[owner]))
    out = np.full((len(parts), 2), np.nan)
    has = ~shapely.is_empty(clip) & (shapely.area(clip) > MIN_PIECE_M2)
    b = shapely.bounds(clip[has])
    out[has] = b[:, [0, 2]]
    return out


def _shared_band_extents(parts: np.ndarray, owner: np.ndarray, ys: np.ndarray, width: float,
                         bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Swath x-ranges when each band shared by two neighbouring strips is left to one of them.

    Neighbouring strips overlap (by at least the required overlap); the field inside
    that shared band is covered by either neighbour's swath, since a swath's footprint
    is its whole strip over the x-range it runs. Where the field's edge is slanted, the
    swath that must reach the shared band's far side runs further than the one that
    need not; so each shared band is given to the neighbour for which that costs less
    swath length (a chain DP over the strips, two choices per band). The required
    overlap between neighbours still holds wherever both run; at the field's slanted
    edge one swath covers the corner flush, as the outer strips are flush with the
    field's extremes. A piece whose own ground lies wholly in bands given to its
    neighbours keeps its full x-range (never less coverage, only less saving).
    """
    n = len(ys)
    full = bounds[:, [0, 2]]
    if n < 2 or len(parts) == 0:
        return full[:, 0].copy(), full[:, 1].copy()
    half = width / 2.0
    bottom, top = ys - half, ys + half
    # shared band k lies between strips k and k+1: [ys[k+1] - half, ys[k] + half]
    shared_lo, shared_hi = ys[1:] - half, ys[:-1] + half
    own_lo = np.r_[bottom[0], shared_hi]
    own_hi = np.maximum(np.r_[shared_lo, top[-1]], own_lo)  # empty when the shared bands meet
    below = _part_ranges(parts, owner, bounds, bottom, np.r_[bottom[0], shared_hi])
    own = _part_ranges(parts, owner, bounds, own_lo, own_hi)
    above = _part_ranges(parts, owner, bounds, np.r_[shared_lo, top[-1]], top)
    # extents[a, c]: piece's range when its strip takes its lower band (a) / upper band (c)
    extents = np.empty((2, 2, len(parts), 2))
    for a in (0, 1):
        for c in (0, 1):
            stack = np.stack([own] + ([below] if a else []) + ([above] if c else []))
            lo, hi = np.fmin.reduce(stack[:, :, 0]), np.fmax.reduce(stack[:, :, 1])
            empty = np.isnan(lo)
            lo[empty], hi[empty] = full[empty, 0], full[empty, 1]
            extents[a, c, :, 0], extents[a, c, :, 1] = lo, hi
    span = extents[:, :, :, 1] - extents[:, :, :, 0]
    cost = np.stack([[np.bincount(owner, span[a, c], minlength=n) for c in (0, 1)]
                     for a in (0, 1)])
    # take[k] = 1: strip k takes shared band k, 0: strip k + 1 does (k < n - 1).
    # Strip k's a = 1 - take[k - 1] (0 for the first), c = take[k] (0 for the last).
    best = cost[0, :, 0].copy()          # best[t]: strips 0..k with take[k] = t
    back = np.zeros((n, 2), dtype=int)
    for k in range(1, n - 1):
        options = best[:, None] + cost[::-1, :, k]   # [p, t]: take[k-1] = p, take[k] = t
        back[k] = np.argmin(options, axis=0)
        best = options.min(axis=0)
    last = best + cost[::-1, 0, n - 1]
    take = np.zeros(n - 1, dtype=int)
    take[-1] = int(np.argmin(last))
    for k in range(n - 2, 0, -1):
        take[k - 1] = back[k, take[k]]
    a = np.r_[0, 1 - take][owner]
    c = np.r_[take, 0][owner]
    idx = np.arange(len(parts))
    return extents[a, c, idx, 0], extents[a, c, idx, 1]


def candidate_angles(field: BaseGeometry, step_deg: float = 5.0) -> np.ndarray:
    """Directions worth trying, in radians within [0, pi).

    The narrowest width of a convex shape is measured across one of its hull edges
    (rotating calipers), so every hull edge direction is a candidate; a coarse fan
    catches the better directions of non-convex fields.
    """
    hull = shapely.get_coordinates(field.convex_hull.exterior)
    d = np.diff(hull, axis=0)
    edges = np.mod(np.arctan2(d[:, 1], d[:, 0]), math.pi)
    fan = np.radians(np.arange(0.0, 180.0, step_deg))
    angles = np.concatenate([edges, fan])
    return np.unique(np.round(angles, 9))


def field_edges(field: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every ring edge of a polygonal field."""
    rings = shapely.get_rings(shapely.get_parts(field))
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    same = owner[1:] == owner[:-1]
    return coords[:-1][same], coords[1:][same]


def quick_cost(edges: tuple[np.ndarray, np.ndarray], angle_rad: float, width: float,
               overlap: float) -> tuple[int, float]:
    """Cheap estimate of path length at an angle: centre lines clipped to the field.

    A scan-line over the field's edges (even-odd rule) gives each centre line's
    length inside the field and its number of pieces: (pieces, length). Used to rank
    the candidate angles before the exact strip layout of the best few.
    """
    rot = rotation(angle_rad)
    p, q = edges[0] @ rot.T, edges[1] @ rot.T
    lo = np.minimum(p[:, 1], q[:, 1])
    hi = np.maximum(p[:, 1], q[:, 1])
    ys = strip_centres(float(lo.min()), float(hi.max()), width, overlap)
    yy = ys[:, None]
    cross = (lo[None, :] <= yy) & (yy < hi[None, :])
    dy = np.where(q[:, 1] != p[:, 1], q[:, 1] - p[:, 1], 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        x = p[:, 0] + (yy - p[:, 1]) * ((q[:, 0] - p[:, 0]) / dy)
    xs = np.sort(np.where(cross, x, np.nan), axis=1)
    count = cross.sum(axis=1)
    m = int(count.max()) if len(count) else 0
    if m < 2:
        return 0, 0.0
    xs = xs[:, : m - m % 2]
    length = float(np.nansum(xs[:, 1::2] - xs[:, 0::2]))
    return int(count.sum() // 2), length


def strip_counts(field: BaseGeometry, angles: np.ndarray, width: float,
                 overlap: float) -> np.ndarray:
    """Strips needed at each angle, from the extent of the field's convex hull."""
    hull = shapely.get_coordinates(field.convex_hull)
    normal = np.c_[-np.sin(angles), np.cos(angles)]
    extent = hull @ normal.T
    heights = extent.max(axis=0) - extent.min(axis=0)
    return np.array([strip_count(float(h), width, overlap) for h in heights])
