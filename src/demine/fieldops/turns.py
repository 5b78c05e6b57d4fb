"""Turns and transits of a clearance machine, on the metric plane.

A flail or robotic platform cannot drive sideways: at the end of a swath it turns
onto the next one, and between cells it transits with the flail lifted. Turns are
Dubins paths (forward only, arcs of exactly the minimum turning radius, tangent
straights) so a wheeled machine can actually drive them; with a radius of zero (a
tracked machine that pivots on the spot) a turn degenerates to a straight hop.
Transits are shortest polylines in the free ground (a visibility graph over the
corners of the no-go zones), so they never cross a hole or an obstacle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

TWO_PI = 2.0 * math.pi
#: Arc sampling step: 5 degrees keeps chords within 0.4 % of the arc length.
ARC_STEP_RAD = math.radians(5.0)
#: Words of the Dubins family; every shortest forward path is one of them.
WORDS = ("LSL", "RSR", "LSR", "RSL", "RLR", "LRL")


def _mod2pi(a: float) -> float:
    return a % TWO_PI


@dataclass(frozen=True)
class DubinsPath:
    """One Dubins word with its three segment parameters (angles, or length / r for S)."""

    word: str
    params: tuple[float, float, float]
    radius: float

    @property
    def length(self) -> float:
        return sum(self.params) * self.radius


def _word_params(word: str, d: float, alpha: float, beta: float) -> tuple[float, ...] | None:
    """Normalised segment lengths of a word (Shkel & Lumelsky), or None if it does not exist."""
    sa, sb, ca, cb = math.sin(alpha), math.sin(beta), math.cos(alpha), math.cos(beta)
    c_ab = math.cos(alpha - beta)
    if word == "LSL":
        p_sq = 2 + d * d - 2 * c_ab + 2 * d * (sa - sb)
        if p_sq < 0:
            return None
        tmp = math.atan2(cb - ca, d + sa - sb)
        return _mod2pi(tmp - alpha), math.sqrt(p_sq), _mod2pi(beta - tmp)
    if word == "RSR":
        p_sq = 2 + d * d - 2 * c_ab + 2 * d * (sb - sa)
        if p_sq < 0:
            return None
        tmp = math.atan2(ca - cb, d - sa + sb)
        return _mod2pi(alpha - tmp), math.sqrt(p_sq), _mod2pi(tmp - beta)
    if word == "LSR":
        p_sq = -2 + d * d + 2 * c_ab + 2 * d * (sa + sb)
        if p_sq < 0:
            return None
        p = math.sqrt(p_sq)
        tmp = math.atan2(-ca - cb, d + sa + sb) - math.atan2(-2.0, p)
        return _mod2pi(tmp - alpha), p, _mod2pi(tmp - beta)
    if word == "RSL":
        p_sq = -2 + d * d + 2 * c_ab - 2 * d * (sa + sb)
        if p_sq < 0:
            return None
        p = math.sqrt(p_sq)
        tmp = math.atan2(ca + cb, d - sa - sb) - math.atan2(2.0, p)
        return _mod2pi(alpha - tmp), p, _mod2pi(beta - tmp)
    if word == "RLR":
        tmp = (6.0 - d * d + 2 * c_ab + 2 * d * (sa - sb)) / 8.0
        if abs(tmp) > 1:
            return None
        phi = math.atan2(ca - cb, d - sa + sb)
        p = _mod2pi(TWO_PI - math.acos(tmp))
        t = _mod2pi(alpha - phi + _mod2pi(p / 2.0))
        return t, p, _mod2pi(alpha - beta - t + _mod2pi(p))
    # LRL
    tmp = (6.0 - d * d + 2 * c_ab + 2 * d * (sb - sa)) / 8.0
    if abs(tmp) > 1:
        return None
    phi = math.atan2(ca - cb, d + sa - sb)
    p = _mod2pi(TWO_PI - math.acos(tmp))
    t = _mod2pi(-alpha - phi + p / 2.0)
    return t, p, _mod2pi(_mod2pi(beta) - alpha - t + _mod2pi(p))


def dubins_sample(start: tuple[float, float, float], path: DubinsPath) -> np.ndarray:
    """Points along a Dubins path from pose ``start`` (x, y, heading), arcs every 5°.

    Arc points lie exactly on circles of the path's radius, so the curvature of the
    polyline can be checked against the machine's turning radius.
    """
    x, y, h = start
    r = path.radius
    pts = [(x, y)]
    for kind, param in zip(path.word, path.params, strict=True):
        if kind == "S":
            x += param * r * math.cos(h)
            y += param * r * math.sin(h)
            pts.append((x, y))
            continue
        sign = 1.0 if kind == "L" else -1.0
        cx, cy = x - sign * r * math.sin(h), y + sign * r * math.cos(h)
        steps = max(1, math.ceil(param / ARC_STEP_RAD))
        for k in range(1, steps + 1):
            hk = h + sign * param * k / steps
            pts.append((cx + sign * r * math.sin(hk), cy - sign * r * math.cos(hk)))
        h += sign * param
        x, y = pts[-1]
    return np.asarray(pts)


def dubins_candidates(start: tuple[float, float, float], end: tuple[float, float, float],
                      radius: float) -> list[DubinsPath]:
    """Every feasible Dubins word from pose ``start`` to pose ``end``, shortest first."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    d = math.hypot(dx, dy) / radius
    theta = _mod2pi(math.atan2(dy, dx)) if d > 0 else 0.0
    alpha, beta = _mod2pi(start[2] - theta), _mod2pi(end[2] - theta)
    found = []
    for word in WORDS:
        params = _word_params(word, d, alpha, beta)
        if params is not None:
            found.append(DubinsPath(word, tuple(params), radius))  # type: ignore[arg-type]
    found.sort(key=lambda p: p.length)
    return found


def turn_options(start: tuple[float, float, float], end: tuple[float, float, float],
                 radius: float) -> list[LineString]:
    """Drivable connections from one pose to another, shortest first.

    Radius 0 means the machine pivots on the spot: the only option is the straight hop.
    Candidates whose sampled end misses the target (numerical corner cases) are dropped.
    """
    if radius <= 0:
        return [LineString([start[:2], end[:2]])]
    tol = 1e-6 * max(1.0, radius)
    out = []
    for path in dubins_candidates(start, end, radius):
        pts = dubins_sample(start, path)
        if math.hypot(pts[-1, 0] - end[0], pts[-1, 1] - end[1]) <= 1e-4 + tol:
            pts[-1] = end[:2]
            out.append(LineString(pts))
    return out


class TransitGraph:
    """Shortest flail-up transits in the free ground ``free`` (a polygon, holes excluded).

    Nodes are the vertices of the free ground's boundary pulled a few centimetres
    inward, so a transit that runs along a hole keeps off its edge; an edge exists when
    the straight segment is covered by the free ground. Built once per plan.
    """

    def __init__(self, free: BaseGeometry, inset_m: float = 0.05) -> None:
        self.free = free
        shapely.prepare(free)
        inner = free.buffer(-inset_m, join_style="mitre").simplify(inset_m)
        nodes = shapely.get_coordinates(shapely.boundary(inner))
        self.nodes = np.unique(np.round(nodes, 6), axis=0) if len(nodes) else nodes
        self._graph = self._build() if len(self.nodes) else None

    def _visible(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        lines = shapely.linestrings(np.stack([a, b], axis=1))
        return shapely.covered_by(lines, self.free)

    def _build(self):
        n = len(self.nodes)
        i, j = np.triu_indices(n, k=1)
        ok = self._visible(self.nodes[i], self.nodes[j])
        i, j = i[ok], j[ok]
        w = np.hypot(*(self.nodes[i] - self.nodes[j]).T)
        return coo_matrix((np.r_[w, w], (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()

    def path(self, a: tuple[float, float], b: tuple[float, float]) -> LineString | None:
        """The shortest free polyline from a to b, or None when b cannot be reached."""
        pa, pb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if np.allclose(pa, pb):
            return LineString([a, b])
        if bool(self._visible(pa[None], pb[None])[0]):
            return LineString([a, b])
        if self._graph is None:
            return None
        from_a = self._visible(np.repeat(pa[None], len(self.nodes), 0), self.nodes)
        to_b = self._visible(self.nodes, np.repeat(pb[None], len(self.nodes), 0))
        if not from_a.any() or not to_b.any():
            return None
        da = np.where(from_a, np.hypot(*(self.nodes - pa).T), np.inf)
        db = np.where(to_b, np.hypot(*(self.nodes - pb).T), np.inf)
        starts = np.flatnonzero(from_a)
        dist, pred = dijkstra(self._graph, indices=starts, return_predecessors=True)
        total = da[starts][:, None] + dist + db[None, :]
        k, end = np.unravel_index(np.argmin(total), total.shape)
        if not np.isfinite(total[k, end]):
            return None
        chain = [end]
        while chain[-1] != starts[k]:
            chain.append(pred[k, chain[-1]])
        coords = [pa, *self.nodes[chain[::-1]], pb]
        return LineString(coords)
