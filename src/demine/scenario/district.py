"""The synthetic demo district that ``demine demo`` loads: the product's story as data.

A rural district after fighting: 64 settlements, 37 of them closed by AT and AP mines
left along a former front line, three operators with manual teams, dogs, robotic
platforms and flails, two months of surveys, clearance, finds and accidents. It exists
so that a newcomer can see every part of demine at work without real data, and so
that tests and benchmarks have a realistic, repeatable programme to run on.

Two halves:

* :func:`generate_district` is pure: the same seed always gives the same district
  (only ``random.Random(seed)`` decides), and nothing is read or written. Shapes are
  drawn in metres on the project's UTM plane and stored in WGS84, like real data.
* :func:`load_demo` writes it through the same services an operator and an
  information manager use (reference data, then reports drafted, submitted and
  approved), so the demo exercises the real rules instead of bypassing them.

Everything is labelled synthetic, and the district sits on an inland plain with no
history of mine contamination so that it can never be mistaken for a real hazard map.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

from demine.domain import landrelease
from demine.domain.changes import jsonable
from demine.domain.entities import (
    Accident,
    Activity,
    EvidenceItem,
    Finding,
    HazardArea,
    Organisation,
    Outcome,
    Road,
    Settlement,
    Team,
    Victim,
)
from demine.domain.errors import DemineError
from demine.domain.settlements import DEFAULT_CLOSURE_DISTANCE_M, closures
from demine.domain.vocab import (
    AccidentType,
    ActivityStatus,
    ActivityType,
    AssetType,
    Blockage,
    ChangeKind,
    Disposal,
    EOCategory,
    EvidenceKind,
    EvidenceType,
    HazardClass,
    HazardStatus,
    ItemCondition,
    OrganisationKind,
    ReleaseMethod,
    RoadClass,
    Sex,
    VictimOutcome,
    VictimRole,
)
from demine.geo.crs import MetricFrame
from demine.service import reference, status
from demine.service import reports as report_service
from demine.store import schema as s
from demine.store.repository import Repository

# -- the district's fixed facts -------------------------------------------------------

#: "Today" in the demo: every date of information lies in the two months before it.
DEMO_DATE = date(2026, 11, 22)
DEFAULT_SEED = 7
#: An inland plain with no history of mine contamination (never a real hazard map).
DEFAULT_CENTRE = (171.6, -43.6)
WIDTH_M, HEIGHT_M = 25_000.0, 20_000.0
N_SETTLEMENTS = 64
#: Closed at the survey; the clearance of one hazard reopens one village, leaving 37.
CLOSED_AT_SURVEY = 38
N_COMMUNES = 4
N_FRONT_HAZARDS = 12

#: A hazard meant to close a settlement lies at most this far from it ...
NEAR_M = 430.0
#: ... and at least this far from every settlement it must not close. Both keep a wide
#: margin around the 500 m closure distance so that no projection detail flips a status.
FAR_M = 600.0
HAZARD_GAP_M = 30.0
SETTLEMENT_GAP_M = 40.0
MIN_SETTLEMENT_GAP_M = 1_300.0
HAZARD_HA_NEAR = (0.6, 12.0)
HAZARD_HA_FRONT = (2.0, 28.0)
#: Stored coordinates are rounded to 1e-7 degrees (about 1 cm), like a careful GPS log.
PRECISION_DEG = 1e-7

NMAA = "MAC"
QA_BODY = "QAU"
OPERATORS = ("FDU", "RCS", "EBN")
APPROVER = "im.mac"
DEMO_SEED_SETTING = "demo_seed"

_ORGANISATIONS = (
    (NMAA, "Mine Action Centre (synthetic)", OrganisationKind.NMAA),
    ("FDU", "Field Demining Union (synthetic NGO)", OrganisationKind.OPERATOR),
    ("RCS", "Ridgeline Clearance Services (synthetic commercial operator)",
     OrganisationKind.OPERATOR),
    ("EBN", "Engineer Battalion North (synthetic military engineers)",
     OrganisationKind.OPERATOR),
    (QA_BODY, "Quality Assurance Unit (synthetic)", OrganisationKind.QA_BODY),
)

_FLEET: dict[str, tuple[tuple[AssetType, int], ...]] = {
    "FDU": ((AssetType.MANUAL_TEAM, 4), (AssetType.MDD_TEAM, 2), (AssetType.ROBOTIC_PLATFORM, 1)),
    "RCS": ((AssetType.MANUAL_TEAM, 2), (AssetType.MDD_TEAM, 1),
            (AssetType.ROBOTIC_PLATFORM, 2), (AssetType.MECHANICAL, 1)),
    "EBN": ((AssetType.MANUAL_TEAM, 3), (AssetType.MDD_TEAM, 1),
            (AssetType.ROBOTIC_PLATFORM, 1), (AssetType.MECHANICAL, 1)),
    QA_BODY: ((AssetType.MANUAL_TEAM, 1),),
}
_TEAM_PREFIX = {AssetType.MANUAL_TEAM: "MT", AssetType.MDD_TEAM: "MDD",
                AssetType.ROBOTIC_PLATFORM: "RCP", AssetType.MECHANICAL: "MF"}

_MODELS = {
    EOCategory.AP_MINE: ("PMN-2", "PMN-2", "PMN-1", "PFM-1", "OZM-72", "MON-50", "POM-2"),
    EOCategory.AT_MINE: ("TM-62M", "TM-62M", "TM-62P3", "TM-57"),
    EOCategory.UXO: ("VOG-17 grenade", "82 mm mortar bomb", "122 mm rocket"),
    EOCategory.CLUSTER_MUNITION: ("9N210 submunition",),
    EOCategory.IED: ("improvised pressure-plate device",),
}
_DEPTH_MM = {EOCategory.AP_MINE: (10, 90), EOCategory.AT_MINE: (100, 260)}

_DIRECT = (EvidenceType.MINE_SIGN, EvidenceType.VISUAL_SIGHTING, EvidenceType.DETONATION,
           EvidenceType.RELIABLE_RECORD)
_INDIRECT = (EvidenceType.FORMER_FRONT_LINE, EvidenceType.HEARSAY,
             EvidenceType.UNUSED_PRODUCTIVE_LAND, EvidenceType.OLD_SURVEY,
             EvidenceType.ACCIDENT_UNKNOWN_PLACE)
_EVIDENCE_TEXT = {
    EvidenceType.MINE_SIGN: "Improvised mine signs (painted stakes) along the field edge",
    EvidenceType.VISUAL_SIGHTING: "Residents saw mines on the surface after the spring rain",
    EvidenceType.DETONATION: "A cow was killed by a detonation here last season",
    EvidenceType.RELIABLE_RECORD: "Minefield record handed over by the withdrawing unit",
    EvidenceType.ACCIDENT_KNOWN_PLACE: "Mine accident at this place (see accident report)",
    EvidenceType.FORMER_FRONT_LINE: "Trenches and firing positions of the former front line",
    EvidenceType.HEARSAY: "Villagers believe the area was mined during the fighting",
    EvidenceType.UNUSED_PRODUCTIVE_LAND: "Good farmland left unploughed since the fighting",
    EvidenceType.OLD_SURVEY: "Marked as suspect in an earlier emergency survey",
    EvidenceType.ACCIDENT_UNKNOWN_PLACE: "A herder was injured somewhere in this area",
}
_LAND_USE = ("fields", "orchard", "pasture", "treeline", "riverbank", "field edge", "woodlot")
_COMPASS = ("east", "north-east", "north", "north-west", "west", "south-west", "south",
            "south-east")

# -- syllable names -------------------------------------------------------------------

_ONSETS = ("b", "d", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "b", "d", "k", "l", "m", "r", "s", "t", "v", "br", "dr", "kr", "st", "tr")
_VOWELS = ("a", "a", "e", "i", "o", "o", "u", "ia")
_CODAS = ("", "", "n", "r", "l", "s", "k")
_ENDINGS = ("", "", "", "vo", "no", "ra", "ka", "ny", "ets", "ino")


class _Names:
    """Pronounceable, unique, obviously invented place names drawn from syllables."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def next(self) -> str:
        rng = self._rng
        while True:
            syllables = [rng.choice(_ONSETS) + rng.choice(_VOWELS)
                         for _ in range(rng.choice((1, 2, 2)))]
            name = ("".join(syllables) + rng.choice(_CODAS) + rng.choice(_ENDINGS)).capitalize()
            if 4 <= len(name) <= 9 and name not in self._used:
                self._used.add(name)
                return name


# -- the records of the district --------------------------------------------------------


@dataclass(frozen=True)
class DemoReport:
    """One operator report of the demo, as it will be drafted, submitted and approved."""

    code: str
    organisation_code: str
    author: str
    info_date: date
    summary: str
    entries: tuple[tuple[str, dict[str, Any]], ...]


@dataclass
class District:
    """The whole demo programme: reference data, plus its history as reports.

    ``hazards``, ``activities``, ``findings`` and ``accidents`` show the record as it
    stands once every report is approved; ``reports`` is how that record gets there.
    ``closed_at_survey`` and ``closed_expected`` are the settlement codes closed after
    the survey and at the demo date, worked out with the domain's own rules.
    """

    seed: int
    name: str
    centre: tuple[float, float]
    metric_crs: str
    demo_date: date
    communes: tuple[str, ...]
    organisations: list[Organisation]
    teams: list[Team]
    settlements: list[Settlement]
    roads: list[Road]
    hazards: list[HazardArea]
    activities: list[Activity]
    findings: list[Finding]
    accidents: list[Accident]
    reports: list[DemoReport]
    front_line: LineString
    closed_at_survey: tuple[str, ...]
    closed_expected: tuple[str, ...]

    def records(self) -> Iterator[Any]:
        """Every record that carries a ``synthetic`` flag."""
        yield from self.organisations
        yield from self.teams
        yield from self.settlements
        yield from self.roads
        yield from self.hazards
        yield from self.activities
        yield from self.findings
        yield from self.accidents

    def fingerprint(self) -> str:
        """A digest of everything generated: equal for equal seeds, whatever the run."""
        text = json.dumps(_plain(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return jsonable(value)


# -- drawing in metres ------------------------------------------------------------------


@dataclass
class _Site:
    """A settlement while it is drawn, in metres on the project's plane."""

    name: str
    commune: int
    population: int
    point: Point
    footprint: Polygon | None = None

    @property
    def geom(self) -> BaseGeometry:
        return self.footprint if self.footprint is not None else self.point


@dataclass
class _HazardDraft:
    polygon: BaseGeometry
    site: int | None
    operator: str
    scenario: str = ""
    indirect_only: bool = False


def _blob(rng: random.Random, radius: float, *, vertices: tuple[int, int] = (9, 16),
          jitter: float = 0.35, elongation: float = 1.0, angle: float = 0.0,
          hole: bool = False) -> Polygon:
    """An irregular star-shaped polygon around the origin: always simple, hence valid.

    Vertex angles increase strictly and radii stay positive, so the ring cannot cross
    itself; a hole of at most a quarter of the radius lies well inside the inner disc
    (the polygon contains the disc of radius ~0.8 (1 - jitter) r). Stretching and
    rotating are affine, which keeps both properties.
    """
    def ring(count: int, r: float, jit: float) -> list[tuple[float, float]]:
        st = 2 * math.pi / count
        out = []
        for i in range(count):
            a = i * st + rng.uniform(-0.3, 0.3) * st
            rr = r * (1 - jit * rng.random())
            out.append((rr * math.cos(a), rr * math.sin(a)))
        return out

    shell = ring(rng.randint(*vertices), radius, jitter)
    holes = [ring(rng.randint(6, 9), 0.22 * radius * (1 - jitter), 0.2)] if hole else []
    poly = Polygon(shell, holes)
    stretch = math.sqrt(elongation)
    poly = affinity.scale(poly, stretch, 1 / stretch, origin=(0, 0))
    return affinity.rotate(poly, angle, origin=(0, 0), use_radians=True)


def _scaled(geom: BaseGeometry, area_m2: float) -> BaseGeometry:
    f = math.sqrt(area_m2 / geom.area)
    return affinity.scale(geom, f, f, origin=(0, 0))


def _hazard_shape(rng: random.Random, area_m2: float, elongation: float,
                  angle: float) -> BaseGeometry:
    """A hazard outline centred on the origin: mostly one part, some with a hole or two parts."""
    roll = rng.random()
    if roll < 0.1:
        a = _blob(rng, 100, elongation=elongation, angle=angle)
        b = _blob(rng, 70, elongation=elongation, angle=angle)
        theta = rng.uniform(0, 2 * math.pi)
        t = 0.0
        moved = b
        while moved.distance(a) < 15:
            t += 10
            moved = affinity.translate(b, t * math.cos(theta), t * math.sin(theta))
        return _scaled(MultiPolygon([a, moved]), area_m2)
    return _scaled(_blob(rng, 100, elongation=elongation, angle=angle, hole=roll > 0.88),
                   area_m2)


def _log_uniform_ha(rng: random.Random, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return math.exp(rng.uniform(math.log(lo), math.log(hi))) * 10_000


def _footprint_radius(population: int) -> float | None:
    """Villages of 500 people and more get a drawn footprint, sized by population."""
    return 40 + 5.5 * math.sqrt(population) if population >= 500 else None


def _populations(rng: random.Random, n: int) -> list[int]:
    pops = [int(min(5000, max(50, round(rng.lognormvariate(math.log(420), 0.85), -1))))
            for _ in range(n)]
    pops[0] = rng.randrange(4200, 5001, 10)
    pops[1] = rng.randrange(2500, 3501, 10)
    return pops


def _place_settlements(rng: random.Random, box: Polygon, names: _Names) -> list[_Site]:
    """Scatter settlements with clear gaps between them, large ones first.

    The gaps leave room for hazards that close one village without touching the next,
    which is what lets the generator hit an exact closed count.
    """
    minx, miny, maxx, maxy = box.bounds
    pops = sorted(_populations(rng, N_SETTLEMENTS), reverse=True)
    placed: list[tuple[float, float, float]] = []
    gap = MIN_SETTLEMENT_GAP_M
    for pop in pops:
        r = 1.3 * (_footprint_radius(pop) or 0.0)
        for attempt in range(20_000):
            if attempt and attempt % 4000 == 0:
                gap *= 0.95
            x = rng.uniform(minx + 1200 + r, maxx - 1200 - r)
            y = rng.uniform(miny + 1200 + r, maxy - 1200 - r)
            if all(math.hypot(x - px, y - py) >= gap + r + pr for px, py, pr in placed):
                placed.append((x, y, r))
                break
        else:  # pragma: no cover - the box holds 64 villages with room to spare
            raise RuntimeError("demo district: could not place every settlement")
    commune_seeds = _commune_seeds(rng, box)
    sites = []
    for (x, y, _), pop in zip(placed, pops, strict=True):
        commune = min(range(N_COMMUNES),
                      key=lambda c: math.hypot(x - commune_seeds[c][0], y - commune_seeds[c][1]))
        radius = _footprint_radius(pop)
        footprint = None
        if radius is not None:
            blob = _blob(rng, radius, vertices=(12, 18), jitter=0.3,
                         elongation=rng.uniform(1.0, 1.6), angle=rng.uniform(0, math.pi))
            footprint = affinity.translate(blob, x, y)
        sites.append(_Site(names.next(), commune, pop, Point(x, y), footprint))
    sites.sort(key=lambda site: site.name)
    return sites


def _commune_seeds(rng: random.Random, box: Polygon) -> list[tuple[float, float]]:
    """One seed per quadrant: communes are the Voronoi cells of these points."""
    minx, miny, maxx, maxy = box.bounds
    w, h = maxx - minx, maxy - miny
    return [(minx + w * (0.25 + 0.5 * (i % 2)) + rng.uniform(-0.1, 0.1) * w,
             miny + h * (0.25 + 0.5 * (i // 2)) + rng.uniform(-0.1, 0.1) * h)
            for i in range(N_COMMUNES)]


def _front_line(rng: random.Random, box: Polygon) -> LineString:
    """The former front line: a meandering west-east curve across the district."""
    minx, miny, maxx, maxy = box.bounds
    cy, w, h = (miny + maxy) / 2, maxx - minx, maxy - miny
    offset = rng.uniform(-0.12, 0.12) * h
    slope = rng.uniform(-0.25, 0.25)
    amp = rng.uniform(0.05, 0.14) * h
    waves, phase = rng.uniform(0.6, 1.4), rng.uniform(0, 2 * math.pi)
    coords = []
    for i in range(51):
        x = minx + w * i / 50
        y = cy + offset + slope * (x - (minx + maxx) / 2) \
            + amp * math.sin(2 * math.pi * waves * i / 50 + phase)
        coords.append((x, min(maxy - 0.1 * h, max(miny + 0.1 * h, y))))
    return LineString(coords)


def _choose_closed(sites: Sequence[_Site], front: LineString) -> tuple[list[int], int]:
    """The settlements nearest the front are mined in; one of them will be reopened.

    The reopened one is a mid-sized village at the edge of the band (the farthest from
    the front), where a single hazard is plausible and its clearance tells the story.
    """
    dist = [front.distance(site.geom) for site in sites]
    order = sorted(range(len(sites)), key=lambda i: (dist[i], i))
    closed = order[:CLOSED_AT_SURVEY]
    mid_sized = [i for i in closed if 300 <= sites[i].population <= 2500] or closed
    reopened = max(mid_sized, key=lambda i: (dist[i], -i))
    return closed, reopened


def _road_network(rng: random.Random, sites: Sequence[_Site]
                  ) -> list[tuple[int, int, RoadClass, LineString]]:
    """Roads join every settlement: a minimum spanning tree plus a few short cuts.

    The trunk between the two largest settlements is primary, spurs to villages of 800
    people or more are secondary, the rest are tracks.
    """
    pts = np.array([(site.point.x, site.point.y) for site in sites])
    dist = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    tree = _minimum_spanning_tree(dist)
    adjacency: dict[int, list[int]] = {i: [] for i in range(len(sites))}
    for a, b in tree:
        adjacency[a].append(b)
        adjacency[b].append(a)
    by_pop = sorted(range(len(sites)), key=lambda i: (-sites[i].population, i))
    trunk = _tree_path(adjacency, by_pop[0], by_pop[1])
    primary = {tuple(sorted(pair)) for pair in itertools.pairwise(trunk)}
    edges = [(min(a, b), max(a, b)) for a, b in tree] + _short_cuts(dist, adjacency, tree)
    roads = []
    for a, b in edges:
        if (a, b) in primary:
            cls = RoadClass.PRIMARY
        elif max(sites[a].population, sites[b].population) >= 800:
            cls = RoadClass.SECONDARY
        else:
            cls = RoadClass.TRACK
        roads.append((a, b, cls, _wiggly_line(rng, sites[a].point, sites[b].point, cls)))
    return roads


def _minimum_spanning_tree(dist: np.ndarray) -> list[tuple[int, int]]:
    """Prim's algorithm; ties go to the lower index so the tree is reproducible."""
    n = len(dist)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = dist[0].copy()
    parent = np.zeros(n, dtype=int)
    edges = []
    for _ in range(n - 1):
        candidates = np.where(in_tree, np.inf, best)
        j = int(np.argmin(candidates))
        edges.append((int(parent[j]), j))
        in_tree[j] = True
        closer = dist[j] < best
        best = np.where(closer, dist[j], best)
        parent = np.where(closer, j, parent)
    return edges


def _tree_path(adjacency: dict[int, list[int]], start: int, goal: int) -> list[int]:
    previous = {start: start}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in adjacency[node]:
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    path = [goal]
    while path[-1] != start:
        path.append(previous[path[-1]])
    return path[::-1]


def _short_cuts(dist: np.ndarray, adjacency: dict[int, list[int]],
                tree: Sequence[tuple[int, int]], count: int = 6) -> list[tuple[int, int]]:
    """Add the links that save the longest detours along the tree."""
    in_tree = {(min(a, b), max(a, b)) for a, b in tree}
    scored = []
    n = len(dist)
    for a in range(n):
        for b in range(a + 1, n):
            if (a, b) in in_tree or dist[a, b] > 5000:
                continue
            path = _tree_path(adjacency, a, b)
            along = sum(dist[p, q] for p, q in itertools.pairwise(path))
            ratio = along / dist[a, b]
            if ratio > 1.6:
                scored.append((-ratio, a, b))
    scored.sort()
    return [(a, b) for _, a, b in scored[:count]]


def _wiggly_line(rng: random.Random, a: Point, b: Point, cls: RoadClass) -> LineString:
    """A road that bends a little, as roads do; primary roads bend least."""
    dx, dy = b.x - a.x, b.y - a.y
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    bend = {RoadClass.PRIMARY: 0.015, RoadClass.SECONDARY: 0.03, RoadClass.TRACK: 0.045}[cls]
    coords = [(a.x, a.y)]
    for f in (0.25, 0.5, 0.75):
        off = max(-2.5 * bend, min(2.5 * bend, rng.gauss(0, bend))) * length
        coords.append((a.x + f * dx + off * nx, a.y + f * dy + off * ny))
    coords.append((b.x, b.y))
    return LineString(coords)


# -- hazards --------------------------------------------------------------------------


@dataclass
class _Placement:
    """What the hazard placer needs to know about the district, in metres."""

    inner_box: Polygon
    site_geoms: np.ndarray
    hazards: list[BaseGeometry] = field(default_factory=list)

    def fits(self, poly: BaseGeometry, forbidden: np.ndarray, anchor: int | None) -> bool:
        if not self.inner_box.contains(poly):
            return False
        d = shapely.distance(self.site_geoms, poly)
        if (d < SETTLEMENT_GAP_M).any() or (d[forbidden] < FAR_M).any():
            return False
        if anchor is not None and d[anchor] > NEAR_M:
            return False
        if self.hazards:
            gaps = shapely.distance(np.array(self.hazards, dtype=object), poly)
            if (gaps < HAZARD_GAP_M).any():
                return False
        return True


def _place_hazards(rng: random.Random, box: Polygon, sites: Sequence[_Site],
                   closed: Sequence[int], reopened: int,
                   front: LineString) -> list[_HazardDraft]:
    """Put hazards next to the closed settlements and along the front, nowhere else.

    Each closed settlement gets one to three hazards within ``NEAR_M``; every hazard
    stays ``FAR_M`` from the settlements that must stay open and from the one village
    whose single hazard will be cleared, so the closed count is exact by construction.
    """
    place = _Placement(box.buffer(-200), np.array([site.geom for site in sites], dtype=object))
    drafts: list[_HazardDraft] = []
    open_mask = np.ones(len(sites), dtype=bool)
    open_mask[list(closed)] = False
    others = sorted((i for i in closed if i != reopened),
                    key=lambda i: (front.distance(sites[i].geom), i))
    order = [reopened, *others]
    for i in order:
        forbidden = open_mask.copy()
        if i == reopened:
            forbidden[:] = True
            forbidden[i] = False
            count = 1
        else:
            forbidden[reopened] = True
            count = 1 + (rng.random() < 0.55) + (rng.random() < 0.2)
        for k in range(count):
            poly = _place_near(rng, place, sites[i], i, forbidden, front)
            if poly is None:
                if k == 0:  # pragma: no cover - guarded by the settlement gaps
                    raise RuntimeError(f"demo district: no room for a hazard at {sites[i].name}")
                continue
            place.hazards.append(poly)
            drafts.append(_HazardDraft(poly, i, _sector_operator(box, sites[i].point.x)))
    drafts.extend(_place_front(rng, place, sites, front, box))
    return drafts


def _sector_operator(box: Polygon, x: float) -> str:
    """Operators work sectors of the front: west, centre and east thirds of the district."""
    minx, _, maxx, _ = box.bounds
    third = min(2, max(0, int(3 * (x - minx) / (maxx - minx))))
    return OPERATORS[third]


def _place_near(rng: random.Random, place: _Placement, site: _Site, index: int,
                forbidden: np.ndarray, front: LineString) -> BaseGeometry | None:
    """Try shapes on the side of the village facing the front until one fits."""
    nearest = front.interpolate(front.project(site.point))
    toward = math.atan2(nearest.y - site.point.y, nearest.x - site.point.x)
    area = _log_uniform_ha(rng, HAZARD_HA_NEAR)
    for attempt in range(80):
        if attempt and attempt % 16 == 0:
            area = max(HAZARD_HA_NEAR[0] * 10_000, area / 2)
        theta = toward + rng.gauss(0, 1.0)
        shape = _hazard_shape(rng, area, rng.uniform(1.0, 2.2), rng.uniform(0, math.pi))
        gap = rng.uniform(SETTLEMENT_GAP_M + 20, NEAR_M - 40)
        ux, uy = math.cos(theta), math.sin(theta)
        t, poly = 0.0, affinity.translate(shape, site.point.x, site.point.y)
        while poly.distance(site.geom) < gap:
            t += 20.0
            poly = affinity.translate(shape, site.point.x + t * ux, site.point.y + t * uy)
        if place.fits(poly, forbidden, index):
            return poly
    return None


def _place_front(rng: random.Random, place: _Placement, sites: Sequence[_Site],
                 front: LineString, box: Polygon) -> list[_HazardDraft]:
    """Long minefields along the front, away from every settlement (farmland, roads)."""
    drafts: list[_HazardDraft] = []
    forbidden = np.ones(len(sites), dtype=bool)
    for _ in range(600):
        if len(drafts) >= N_FRONT_HAZARDS:
            break
        t = rng.uniform(0.04, 0.96)
        here, ahead = front.interpolate(t, normalized=True), front.interpolate(
            min(1.0, t + 0.01), normalized=True)
        angle = math.atan2(ahead.y - here.y, ahead.x - here.x)
        side = rng.uniform(-250, 250)
        shape = _hazard_shape(rng, _log_uniform_ha(rng, HAZARD_HA_FRONT),
                              rng.uniform(2.0, 3.5), angle)
        poly = affinity.translate(shape, here.x - side * math.sin(angle),
                                  here.y + side * math.cos(angle))
        if place.fits(poly, forbidden, None):
            place.hazards.append(poly)
            drafts.append(_HazardDraft(poly, None, _sector_operator(box, poly.centroid.x)))
    return drafts


# -- scenarios: what has happened to which hazard by the demo date ------------------------

def _assign_scenarios(rng: random.Random, drafts: list[_HazardDraft], reopened: int,
                      sites: Sequence[_Site]) -> None:
    """Pick the hazards that were cancelled, cleared, reduced, hit by an accident...

    Only the reopened village's hazard and one cancelled hazard are fully released;
    the cancelled one is on the front or beside a village with another hazard, so it
    reopens nothing and the closed count stays exact.
    """
    per_site: dict[int, int] = {}
    for d in drafts:
        if d.site is not None:
            per_site[d.site] = per_site.get(d.site, 0) + 1
        if d.site == reopened:
            d.scenario = "cleared"
    free = [i for i, d in enumerate(drafts) if not d.scenario]
    rng.shuffle(free)
    front_first = sorted(free, key=lambda i: drafts[i].site is not None)
    redundant = [i for i in free if drafts[i].site is None or per_site[drafts[i].site] >= 2]
    by_population = sorted(free, key=lambda i: -_population(drafts[i], sites))
    plan = [("cancelled", redundant), ("accident", front_first), ("in_progress", front_first),
            ("in_progress", free), ("suspended", free), *[("reduced", free)] * 3,
            *[("planned", by_population)] * 3]
    for scenario, pool in plan:
        i = next(j for j in pool if not drafts[j].scenario)
        drafts[i].scenario = scenario
    for d in drafts:
        d.indirect_only = d.scenario in ("cancelled", "accident") or (
            not d.scenario and rng.random() < 0.4)


def _population(draft: _HazardDraft, sites: Sequence[_Site]) -> int:
    return sites[draft.site].population if draft.site is not None else 0


# -- from drafts to records -------------------------------------------------------------


class _Geo:
    """Metres to stored WGS84 and back, with the storage rounding applied once."""

    def __init__(self, frame: MetricFrame) -> None:
        self.frame = frame

    def wgs(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.set_precision(self.frame.to_wgs84(geom), PRECISION_DEG)

    def metric(self, geom: BaseGeometry) -> BaseGeometry:
        return self.frame.to_metric(geom)


def _organisations() -> list[Organisation]:
    return [Organisation(code, name, kind, synthetic=True) for code, name, kind in _ORGANISATIONS]


def _teams(rng: random.Random) -> list[Team]:
    """The fleet, with net outputs from the field's published figures (see the reference).

    Manual: deminers x 25-35 m²/day; MDD pair: 800-900 m²/day; robotic platforms like a
    light flail, 4,000-5,000 m²/day, 1.7-2.6 m wide; flails 15,000-25,000 m²/day.
    """
    teams = []
    for org, kinds in _FLEET.items():
        for asset, count in kinds:
            for k in range(1, count + 1):
                teams.append(_team(rng, org, asset, k))
    return teams


def _team(rng: random.Random, org: str, asset: AssetType, k: int) -> Team:
    width: float | None = None
    if asset is AssetType.MANUAL_TEAM:
        headcount = 4 if org == QA_BODY else rng.choice((7, 8, 8, 9, 10))
        productivity = float(headcount * rng.choice((25, 30, 30, 35)))
    elif asset is AssetType.MDD_TEAM:
        headcount, productivity = 2, float(rng.randrange(800, 901, 10))
    elif asset is AssetType.ROBOTIC_PLATFORM:
        headcount, productivity = 2, float(rng.randrange(4000, 5001, 100))
        width = rng.choice((1.7, 2.0, 2.2, 2.6))
    else:
        headcount, productivity = 3, float(rng.randrange(15_000, 25_001, 500))
        width = rng.choice((2.6, 3.0, 3.5))
    return Team(f"{org}-{_TEAM_PREFIX[asset]}{k}", org, asset, headcount, productivity,
                working_width_m=width, synthetic=True)


def _settlement_records(geo: _Geo, sites: Sequence[_Site], district: str,
                        communes: Sequence[str]) -> list[Settlement]:
    return [
        Settlement(
            code=f"STL-{i + 1:03d}", name=site.name,
            admin_area=f"{district} District / {communes[site.commune]} Commune",
            point=geo.wgs(site.point), population=site.population,
            footprint=geo.wgs(site.footprint) if site.footprint is not None else None,
            synthetic=True)
        for i, site in enumerate(sites)
    ]


def _road_records(geo: _Geo, sites: Sequence[_Site],
                  network: Sequence[tuple[int, int, RoadClass, LineString]]) -> list[Road]:
    return [Road(code=f"RD-{i + 1:03d}", road_class=cls, line=geo.wgs(line),
                 name=f"{sites[a].name} - {sites[b].name}", synthetic=True)
            for i, (a, b, cls, line) in enumerate(network)]


def _eo_suspected(rng: random.Random, draft: _HazardDraft) -> tuple[EOCategory, ...]:
    """Front-line minefields are AT first; fields beside villages AP first."""
    if draft.site is None or draft.scenario == "accident":
        cats = [EOCategory.AT_MINE] + ([EOCategory.AP_MINE] if rng.random() < 0.5 else [])
    else:
        cats = [EOCategory.AP_MINE] + ([EOCategory.AT_MINE] if rng.random() < 0.35 else [])
    if rng.random() < 0.15:
        cats.append(EOCategory.UXO)
    if rng.random() < 0.05:
        cats.append(EOCategory.CLUSTER_MUNITION)
    order = list(EOCategory)
    return tuple(sorted(cats, key=order.index))


def _evidence(rng: random.Random, draft: _HazardDraft) -> tuple[EvidenceItem, ...]:
    """Direct evidence makes a CHA; indirect evidence alone leaves an SHA."""
    items = []
    if draft.site is None:
        items.append(EvidenceItem(EvidenceKind.INDIRECT, EvidenceType.FORMER_FRONT_LINE,
                                  _EVIDENCE_TEXT[EvidenceType.FORMER_FRONT_LINE]))
    for t in rng.sample(_INDIRECT, rng.randint(1, 2)):
        if all(item.type is not t for item in items):
            items.append(EvidenceItem(EvidenceKind.INDIRECT, t, _EVIDENCE_TEXT[t]))
    if not draft.indirect_only:
        for t in rng.sample(_DIRECT, rng.randint(1, 2)):
            items.append(EvidenceItem(EvidenceKind.DIRECT, t, _EVIDENCE_TEXT[t]))
    return tuple(items)


def _blockages(rng: random.Random, draft: _HazardDraft, sites: Sequence[_Site],
               roads_m: Sequence[LineString]) -> tuple[Blockage, ...]:
    found = []
    if draft.site is not None and draft.polygon.distance(sites[draft.site].geom) < 150:
        found.append(Blockage.HOUSING)
    found.append(Blockage.AGRICULTURE)
    if any(draft.polygon.distance(line) < 25 for line in roads_m):
        found.append(Blockage.ROAD)
    if rng.random() < 0.1:
        found.append(Blockage.WATER)
    if rng.random() < 0.05:
        found.append(Blockage.INFRASTRUCTURE)
    order = list(Blockage)
    return tuple(sorted(dict.fromkeys(found), key=order.index))


def _hazard_name(rng: random.Random, draft: _HazardDraft, sites: Sequence[_Site],
                 sector: int) -> str:
    if draft.site is None:
        return f"Front line minefield {sector}"
    site = sites[draft.site]
    c = draft.polygon.centroid
    angle = math.atan2(c.y - site.point.y, c.x - site.point.x)
    bearing = _COMPASS[round(angle / (math.pi / 4)) % 8]
    return f"{site.name} {bearing} {rng.choice(_LAND_USE)}"


def _hazard_records(rng: random.Random, geo: _Geo, drafts: Sequence[_HazardDraft],
                    sites: Sequence[_Site], roads_m: Sequence[LineString]) -> list[HazardArea]:
    records = []
    sector = 0
    for i, d in enumerate(drafts):
        sector += d.site is None
        evidence = _evidence(rng, d)
        direct = any(e.kind is EvidenceKind.DIRECT for e in evidence)
        records.append(HazardArea(
            code=f"HA-{i + 1:06d}", name=_hazard_name(rng, d, sites, sector),
            classification=HazardClass.CHA if direct else HazardClass.SHA,
            polygon=geo.wgs(d.polygon), eo_suspected=_eo_suspected(rng, d),
            blockages=_blockages(rng, d, sites, roads_m), evidence=evidence, synthetic=True))
    return records


def _new_hazard_payload(h: HazardArea) -> dict[str, Any]:
    return {
        "code": h.code, "name": h.name, "classification": h.classification.value,
        "geometry": h.polygon, "eo_suspected": [e.value for e in h.eo_suspected],
        "blockages": [b.value for b in h.blockages],
        "evidence": [{"kind": e.kind.value, "type": e.type.value, "description": e.description}
                     for e in h.evidence],
        "synthetic": True,
    }


# -- the timeline of work -------------------------------------------------------------------


def _polygonal(geom: BaseGeometry, min_m2: float = 50.0) -> BaseGeometry | None:
    """The area parts of an overlay, without slivers; ``None`` when nothing is left."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and p.area >= min_m2]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _band(hazard_m: BaseGeometry, anchor_m: BaseGeometry, lo: float,
          hi: float) -> BaseGeometry | None:
    """The part of a hazard between two fractions of its depth away from a settlement.

    Work is reported from the far side inwards, so the land nearest the village is the
    last to go: what remains still lies where it was, and the village stays closed
    until its hazard is finished, exactly as the closed count promises.
    """
    near = hazard_m.distance(anchor_m)
    far = float(shapely.distance(anchor_m, shapely.points(
        shapely.get_coordinates(hazard_m))).max())
    span = far - near
    piece = hazard_m.difference(anchor_m.buffer(near + lo * span, quad_segs=32))
    if hi < 1.0:
        piece = piece.intersection(anchor_m.buffer(near + hi * span, quad_segs=32))
    return _polygonal(piece)


def _point_in(rng: random.Random, area: BaseGeometry) -> Point:
    minx, miny, maxx, maxy = area.bounds
    for _ in range(500):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if area.contains(p):
            return p
    return area.representative_point()


class _Timeline:
    """Collects what happened, dated, and turns it into reports and final records."""

    def __init__(self, rng: random.Random, geo: _Geo, teams: Sequence[Team]) -> None:
        self.rng = rng
        self.geo = geo
        self.teams = teams
        self.events: list[tuple[date, str, ChangeKind, dict[str, Any]]] = []
        self.activities: dict[str, Activity] = {}
        self.findings: list[Finding] = []
        self.accidents: list[Accident] = []

    def team(self, org: str, asset: AssetType, k: int = 1) -> str:
        mine = [t.code for t in self.teams
                if t.organisation_code == org and t.asset_type is asset]
        return mine[(k - 1) % len(mine)]

    def new_activity_code(self) -> str:
        """A provisional code; :meth:`renumber` makes the codes follow the calendar."""
        return f"ACT-DRAFT-{len(self.activities) + 1}"

    def renumber(self) -> None:
        """Number activities in the order they were first reported, as a register does."""
        order: list[str] = []
        for _, _, kind, payload in sorted(self.events, key=_event_key):
            if kind is ChangeKind.ACTIVITY and payload["code"] not in order:
                order.append(payload["code"])
        new = {old: f"ACT-{n:06d}" for n, old in enumerate(order, start=1)}
        for _, _, kind, payload in self.events:
            if kind is ChangeKind.ACTIVITY:
                payload["code"] = new[payload["code"]]
            elif payload.get("activity_code"):
                payload["activity_code"] = new[payload["activity_code"]]
        self.activities = {new[old]: replace(self.activities[old], code=new[old])
                           for old in order}
        self.findings = [replace(f, activity_code=new[f.activity_code]) for f in self.findings]
        self.accidents = [replace(a, activity_code=new[a.activity_code] if a.activity_code
                                  else None) for a in self.accidents]

    def activity(self, day: date, org: str, hazard: HazardArea, code: str,
                 outcomes: Sequence[tuple[ReleaseMethod, BaseGeometry]] = (),
                 **attrs: Any) -> None:
        """Report a new activity or progress on one; ``outcomes`` are WGS84 polygons."""
        payload: dict[str, Any] = {"code": code, "hazard_code": hazard.code}
        payload.update({k: (v.value if hasattr(v, "value") else v) for k, v in attrs.items()})
        if outcomes:
            payload["outcomes"] = [{"method": m.value, "geometry": g} for m, g in outcomes]
        payload["synthetic"] = True
        self.events.append((day, org, ChangeKind.ACTIVITY, payload))
        act = self.activities.get(code) or Activity(
            code=code, type=attrs["type"], hazard_code=hazard.code, organisation_code=org,
            synthetic=True)
        for key, value in attrs.items():
            setattr(act, key, value)
        act.outcomes = act.outcomes + tuple(Outcome(m, g) for m, g in outcomes)
        self.activities[code] = act

    def finds(self, day: date, org: str, activity: str, area_m: BaseGeometry,
              categories: Sequence[EOCategory], count: int, since: date) -> None:
        """``count`` items found in ``area_m`` (metres) between ``since`` and ``day``."""
        for _ in range(count):
            cat = self.rng.choice(categories)
            lo, hi = _DEPTH_MM.get(cat, (0, 300))
            finding = Finding(
                activity_code=activity, point=self.geo.wgs(_point_in(self.rng, area_m)),
                eo_category=cat, found_on=since + timedelta(
                    days=self.rng.randint(0, max(0, (day - since).days))),
                model=self.rng.choice(_MODELS.get(cat, ("unidentified item",))),
                condition=self.rng.choice((ItemCondition.ARMED, ItemCondition.ARMED,
                                           ItemCondition.DAMAGED, ItemCondition.UNKNOWN)),
                depth_mm=self.rng.randint(lo, hi),
                disposal=self.rng.choice((Disposal.DESTROYED_IN_SITU, Disposal.DESTROYED_IN_SITU,
                                          Disposal.REMOVED)),
                synthetic=True)
            self.findings.append(finding)
            self.events.append((day, org, ChangeKind.FINDING, {
                "activity_code": activity, "geometry": finding.point,
                "eo_category": cat.value, "found_on": finding.found_on, "model": finding.model,
                "condition": finding.condition.value, "depth_mm": finding.depth_mm,
                "disposal": finding.disposal.value, "synthetic": True}))

    def accident(self, day: date, org: str, accident: Accident) -> None:
        self.accidents.append(accident)
        self.events.append((day, org, ChangeKind.ACCIDENT, {
            "code": accident.code, "accident_date": accident.accident_date,
            "geometry": accident.point, "type": accident.type.value,
            "device_category": accident.device_category.value,
            "activity_code": accident.activity_code, "narrative": accident.narrative,
            "victims": [{"outcome": v.outcome.value, "role": v.role.value, "sex": v.sex.value,
                         "age": v.age, "activity_at_time": v.activity_at_time}
                        for v in accident.victims],
            "synthetic": True}))

    def evidence(self, day: date, org: str, hazard: HazardArea, item: EvidenceItem,
                 eo: Sequence[EOCategory]) -> None:
        self.events.append((day, org, ChangeKind.EVIDENCE, {
            "hazard_code": hazard.code,
            "items": [{"kind": item.kind.value, "type": item.type.value,
                       "description": item.description}],
            "eo_suspected": [e.value for e in eo], "synthetic": True}))


_SURVEY_DAY = date(2026, 9, 21)
_ORG_ORDER = {code: i for i, (code, _, _) in enumerate(_ORGANISATIONS)}


def _event_key(event: tuple[date, str, ChangeKind, dict[str, Any]]) -> tuple[date, int]:
    """Reports are approved by date of information, then in a fixed organisation order."""
    return event[0], _ORG_ORDER[event[1]]


def _write_history(tl: _Timeline, hazards: Sequence[HazardArea],
                   drafts: Sequence[_HazardDraft], sites: Sequence[_Site]) -> None:
    """The two months before the demo date, one scenario at a time."""
    for h, d in zip(hazards, drafts, strict=True):
        tl.events.append((_SURVEY_DAY + timedelta(days=OPERATORS.index(d.operator)), d.operator,
                          ChangeKind.NEW_HAZARD, _new_hazard_payload(h)))
    anchors = {i: _anchor(d, sites) for i, d in enumerate(drafts)}
    counters: dict[str, int] = {}
    for i, (h, d) in enumerate(zip(hazards, drafts, strict=True)):
        if not d.scenario:
            continue
        k = counters[d.scenario] = counters.get(d.scenario, 0) + 1
        writer = _WRITERS[d.scenario]
        writer(tl, h, d, tl.geo.metric(h.polygon), anchors[i], k)


def _anchor(draft: _HazardDraft, sites: Sequence[_Site]) -> BaseGeometry:
    """The settlement a hazard's work is measured from (its own, else the nearest)."""
    if draft.site is not None:
        return sites[draft.site].geom
    return min((site.geom for site in sites), key=draft.polygon.distance)


def _depth_mm(h: HazardArea) -> int:
    """Clearance depth set per task: deeper where anti-tank mines are suspected."""
    return 300 if EOCategory.AT_MINE in h.eo_suspected else 150


def _cleared(tl: _Timeline, h: HazardArea, d: _HazardDraft, hm: BaseGeometry,
             anchor: BaseGeometry, k: int) -> None:
    """Manual clearance of the reopened village's only hazard, then QC by the QA body."""
    org, code = d.operator, tl.new_activity_code()
    start, mid, end = date(2026, 9, 28), date(2026, 10, 12), date(2026, 10, 27)
    tl.activity(start, org, h, code, type=ActivityType.CLEARANCE,
                status=ActivityStatus.IN_PROGRESS, team_code=tl.team(org, AssetType.MANUAL_TEAM),
                planned_start=start, planned_end=date(2026, 10, 30), actual_start=start,
                clearance_depth_mm=_depth_mm(h))
    part_m = _band(hm, anchor, 0.45, 1.0) or hm
    part = tl.geo.wgs(part_m)
    cats = list(h.eo_suspected)
    tl.activity(mid, org, h, code, outcomes=[(ReleaseMethod.CLEARED, part)])
    tl.finds(mid, org, code, part_m, cats, 3, start)
    rest = h.polygon.difference(part)
    tl.activity(end, org, h, code, outcomes=[(ReleaseMethod.CLEARED, rest)],
                status=ActivityStatus.COMPLETED, actual_end=end)
    tl.finds(end, org, code, tl.geo.metric(rest), cats, 2, mid)
    qc = tl.new_activity_code()
    tl.activity(date(2026, 11, 4), QA_BODY, h, qc, type=ActivityType.QC_INSPECTION,
                status=ActivityStatus.COMPLETED, team_code=tl.team(QA_BODY,
                                                                   AssetType.MANUAL_TEAM),
                actual_start=date(2026, 11, 2), actual_end=date(2026, 11, 4))


def _cancelled(tl: _Timeline, h: HazardArea, d: _HazardDraft, hm: BaseGeometry,
               anchor: BaseGeometry, k: int) -> None:
    """Follow-up NTS finds the land farmed for years without incident: all cancelled."""
    start, end = date(2026, 9, 29), date(2026, 10, 1)
    tl.activity(end, d.operator, h, tl.new_activity_code(), type=ActivityType.NTS,
                status=ActivityStatus.COMPLETED,
                team_code=tl.team(d.operator, AssetType.MANUAL_TEAM, 2),
                actual_start=start, actual_end=end,
                outcomes=[(ReleaseMethod.CANCELLED, h.polygon)])


def _reduced(tl: _Timeline, h: HazardArea, d: _HazardDraft, hm: BaseGeometry,
             anchor: BaseGeometry, k: int) -> None:
    """Technical survey with dogs reduces the far part of the hazard, finding nothing."""
    start = date(2026, 10, 5) + timedelta(days=9 * (k - 1))
    end = start + timedelta(days=10)
    piece = _band(hm, anchor, 0.55, 1.0)
    tl.activity(end, d.operator, h, tl.new_activity_code(), type=ActivityType.TS,
                status=ActivityStatus.COMPLETED, team_code=tl.team(d.operator,
                                                                   AssetType.MDD_TEAM),
                actual_start=start, actual_end=end,
                outcomes=[(ReleaseMethod.REDUCED, tl.geo.wgs(piece))] if piece else ())


def _in_progress(tl: _Timeline, h: HazardArea, d: _HazardDraft, hm: BaseGeometry,
                 anchor: BaseGeometry, k: int) -> None:
    """Clearance under way: a robotic platform prepares, deminers verify behind it."""
    org, code = d.operator, tl.new_activity_code()
    asset = AssetType.ROBOTIC_PLATFORM if k == 1 else AssetType.MANUAL_TEAM
    start = date(2026, 10, 14) if k == 1 else date(2026, 10, 26)
    tl.activity(start, org, h, code, type=ActivityType.CLEARANCE,
                status=ActivityStatus.IN_PROGRESS, team_code=tl.team(org, asset, k),
                planned_start=start, planned_end=date(2026, 12, 18), actual_start=start,
                clearance_depth_mm=_depth_mm(h))
    for step, (lo, hi) in enumerate(((0.6, 1.0), (0.4, 0.6))):
        day = start + timedelta(days=14 * (step + 1))
        piece = _band(hm, anchor, lo, hi)
        if piece is None or day >= DEMO_DATE:
            continue
        tl.activity(day, org, h, code, outcomes=[(ReleaseMethod.CLEARED, tl.geo.wgs(piece))])
        tl.finds(day, org, code, piece, list(h.eo_suspected), 2 + step,
                 day - timedelta(days=13))


def _suspended(tl: _Timeline, h: HazardArea, d: _HazardDraft, hm: BaseGeometry,
               anchor: BaseGeometry, k: int) -> None:
    """Manual clearance stopped by a demining accident: a deminer injured, work suspended."""
    org, code = d.operator, tl.new_activity_code()
    start, mid, stop = date(2026, 10, 8), date(2026, 10, 22), date(2026, 10, 30)
    tl.activity(start, org, h, code, type=ActivityType.CLEARANCE,
                status=ActivityStatus.IN_PROGRESS, team_code=tl.team(org, AssetType.MANUAL_TEAM),
                planned_start=start, planned_end=date(2026, 11, 30), actual_start=start,
                clearance_depth_mm=_depth_mm(h))
    piece = _band(hm, anchor, 0.55, 1.0) or _band(hm, anchor, 0.3, 1.0)
    assert piece is not None
    tl.activity(mid, org, h, code, outcomes=[(ReleaseMethod.CLEARED, tl.geo.wgs(piece))])
    tl.finds(mid, org, code, piece, [EOCategory.AP_MINE], 3, start)
    lane = _polygonal(hm.difference(piece).intersection(piece.buffer(15))) or hm
    accident = Accident(
        code="ACC-000002", accident_date=date(2026, 10, 29),
        point=tl.geo.wgs(_point_in(tl.rng, lane)), type=AccidentType.DEMINING,
        device_category=EOCategory.AP_MINE, activity_code=code,
        narrative="Synthetic: a deminer excavating a signal in the clearance lane initiated "
                  "a PMN-2; injured, evacuated to hospital by the team medic.",
        victims=(Victim(VictimOutcome.INJURED, VictimRole.DEMINER, Sex.MALE, 29,
                        "excavating a detector signal"),),
        synthetic=True)
    tl.accident(stop, org, accident)
    tl.activity(stop, org, h, code, status=ActivityStatus.SUSPENDED,
                suspension_reason="Stand-down after demining accident ACC-000002; site closed "
                                  "until the accident investigation is complete")


def _accident(tl: _Timeline, h: HazardArea, d: _HazardDraft, hm: BaseGeometry,
              anchor: BaseGeometry, k: int) -> None:
    """A farmer's tractor hits an AT mine at the edge of a suspected area: now confirmed."""
    edge = _polygonal(hm.intersection(hm.boundary.buffer(40))) or hm
    accident = Accident(
        code="ACC-000001", accident_date=date(2026, 10, 9),
        point=tl.geo.wgs(_point_in(tl.rng, edge)), type=AccidentType.MINE_ERW,
        device_category=EOCategory.AT_MINE,
        narrative="Synthetic: a tractor ploughing the field edge detonated an anti-tank mine; "
                  "the driver was injured.",
        victims=(Victim(VictimOutcome.INJURED, VictimRole.CIVILIAN,
                        tl.rng.choice((Sex.MALE, Sex.FEMALE)), tl.rng.randint(35, 62),
                        "ploughing with a tractor"),),
        synthetic=True)
    tl.accident(date(2026, 10, 10), d.operator, accident)
    tl.evidence(date(2026, 10, 10), d.operator, h,
                EvidenceItem(EvidenceKind.DIRECT, EvidenceType.ACCIDENT_KNOWN_PLACE,
                             _EVIDENCE_TEXT[EvidenceType.ACCIDENT_KNOWN_PLACE]),
                [EOCategory.AT_MINE])


def _planned(tl: _Timeline, h: HazardArea, d: _HazardDraft, hm: BaseGeometry,
             anchor: BaseGeometry, k: int) -> None:
    """Tasks for next month near the largest closed settlements, teams assigned."""
    start = date(2026, 11, 24) + timedelta(days=7 * (k - 1))
    asset = (AssetType.MANUAL_TEAM, AssetType.MDD_TEAM, AssetType.MECHANICAL)[(k - 1) % 3]
    org = d.operator
    if asset is AssetType.MECHANICAL and not any(
            t.organisation_code == org and t.asset_type is asset for t in tl.teams):
        asset = AssetType.ROBOTIC_PLATFORM
    tl.activity(date(2026, 11, 20), org, h, tl.new_activity_code(),
                type=ActivityType.CLEARANCE, status=ActivityStatus.PLANNED,
                team_code=tl.team(org, asset, k + 1), planned_start=start,
                planned_end=start + timedelta(days=21 + 7 * k), clearance_depth_mm=_depth_mm(h))


_WRITERS: dict[str, Callable[..., None]] = {
    "cleared": _cleared, "cancelled": _cancelled, "reduced": _reduced,
    "in_progress": _in_progress, "suspended": _suspended, "accident": _accident,
    "planned": _planned,
}


def _reports(tl: _Timeline) -> list[DemoReport]:
    """Group the events into one report per organisation and day, in date order."""
    grouped: dict[tuple[date, str], list[tuple[str, dict[str, Any]]]] = {}
    for day, org, kind, payload in sorted(tl.events, key=_event_key):
        grouped.setdefault((day, org), []).append((kind.value, payload))
    out = []
    for n, ((day, org), entries) in enumerate(grouped.items(), start=1):
        out.append(DemoReport(
            code=f"RPT-{n:06d}", organisation_code=org, author=f"op.{org.lower()}",
            info_date=day, summary=_summary_text(org, entries), entries=tuple(entries)))
    return out


def _summary_text(org: str, entries: Sequence[tuple[str, dict[str, Any]]]) -> str:
    counts: dict[str, int] = {}
    for kind, _ in entries:
        counts[kind] = counts.get(kind, 0) + 1
    words = {"new_hazard": "hazard area(s) recorded by non-technical survey",
             "activity": "activity update(s)", "finding": "item(s) found",
             "accident": "accident(s)", "evidence": "new evidence item(s)"}
    parts = ", ".join(f"{n} {words.get(k, k)}" for k, n in counts.items())
    return f"Synthetic demo data ({org}): {parts}"


# -- the expected picture -----------------------------------------------------------------


def _settle_accounts(geo: _Geo, hazards: list[HazardArea], events: Sequence) -> None:
    """Fold each hazard's outcomes with the domain's own accounting, as approval will."""
    outcomes: dict[str, list] = {h.code: [] for h in hazards}
    for day, _, kind, payload in sorted(events, key=_event_key):
        if kind is ChangeKind.ACTIVITY:
            for o in payload.get("outcomes", ()):
                outcomes[payload["hazard_code"]].append(
                    (ReleaseMethod(o["method"]), geo.metric(o["geometry"]), f"{day}"))
    worked = {p["hazard_code"] for _, _, kind, p in events
              if kind is ChangeKind.ACTIVITY and p.get("status") not in (None, "planned")}
    for h in hazards:
        acc = landrelease.account(geo.metric(h.polygon), outcomes[h.code], hazard_code=h.code)
        h.original_m2, h.cancelled_m2 = acc.original_m2, acc.cancelled_m2
        h.reduced_m2, h.cleared_m2, h.remaining_m2 = acc.reduced_m2, acc.cleared_m2, \
            acc.remaining_m2
        h.remaining_polygon = geo.frame.to_wgs84(acc.remaining_metric) \
            if acc.remaining_metric is not None and not acc.remaining_metric.is_empty else None
        h.status = landrelease.status(acc, h.code in worked)


def _closed_codes(geo: _Geo, settlements: Sequence[Settlement],
                  areas: Sequence[BaseGeometry]) -> tuple[str, ...]:
    """Codes of the settlements within the closure distance of any of ``areas``."""
    metric_settlements = [geo.metric(st.closure_geometry) for st in settlements]
    result = closures(metric_settlements, [geo.metric(a) for a in areas],
                      DEFAULT_CLOSURE_DISTANCE_M)
    mask = result.closed_mask()
    return tuple(st.code for st, closed in zip(settlements, mask, strict=True) if closed)


# -- the public generator -----------------------------------------------------------------


def generate_district(seed: int = DEFAULT_SEED) -> District:
    """The demo district for ``seed``: identical for equal seeds, different otherwise.

    Pure: no database, no files, no clock. Raises RuntimeError only if the generator
    itself is broken (the closed count it promises is checked before returning).
    """
    rng = random.Random(seed)
    lon, lat = DEFAULT_CENTRE
    frame = MetricFrame.for_centroid(lon, lat)
    geo = _Geo(frame)
    origin = frame.to_metric(Point(lon, lat))
    box = shapely.box(origin.x - WIDTH_M / 2, origin.y - HEIGHT_M / 2,
                      origin.x + WIDTH_M / 2, origin.y + HEIGHT_M / 2)
    names = _Names(rng)
    district_name = names.next()
    communes = tuple(names.next() for _ in range(N_COMMUNES))
    sites = _place_settlements(rng, box, names)
    front = _front_line(rng, box)
    closed, reopened = _choose_closed(sites, front)
    network = _road_network(rng, sites)
    drafts = _place_hazards(rng, box, sites, closed, reopened, front)
    _assign_scenarios(rng, drafts, reopened, sites)

    teams = _teams(rng)
    settlements = _settlement_records(geo, sites, district_name, communes)
    roads = _road_records(geo, sites, network)
    hazards = _hazard_records(rng, geo, drafts, sites, [line for *_, line in network])
    tl = _Timeline(rng, geo, teams)
    _write_history(tl, hazards, drafts, sites)
    tl.renumber()
    _settle_accounts(geo, hazards, tl.events)

    district = District(
        seed=seed, name=f"{district_name} District", centre=(lon, lat), metric_crs=frame.crs,
        demo_date=DEMO_DATE, communes=communes, organisations=_organisations(), teams=teams,
        settlements=settlements, roads=roads, hazards=hazards,
        activities=list(tl.activities.values()), findings=tl.findings,
        accidents=sorted(tl.accidents, key=lambda a: a.code), reports=_reports(tl),
        front_line=geo.wgs(front),
        closed_at_survey=_closed_codes(geo, settlements, [h.polygon for h in hazards]),
        closed_expected=_closed_codes(geo, settlements, [
            h.remaining_polygon for h in hazards
            if h.status is not HazardStatus.RELEASED and h.remaining_polygon is not None]),
    )
    _check_story(district, [settlements[i].code for i in closed], settlements[reopened].code)
    return district


def _check_story(district: District, closed: Sequence[str], reopened: str) -> None:
    """Refuse to hand out a district that does not tell the story it promises."""
    expected_final = tuple(code for code in sorted(closed) if code != reopened)
    if tuple(sorted(district.closed_at_survey)) != tuple(sorted(closed)) or \
            tuple(sorted(district.closed_expected)) != expected_final:
        raise RuntimeError(
            f"demo district (seed {district.seed}): {len(district.closed_expected)} settlements "
            f"closed instead of {len(expected_final)}; the generator is broken")


# -- loading ------------------------------------------------------------------------------

Progress = Callable[[str, int, int], None]

_COUNTED = (
    ("organisations", s.organisations), ("teams", s.teams), ("settlements", s.settlements),
    ("roads", s.roads), ("reports", s.reports), ("hazard_areas", s.hazard_areas),
    ("activities", s.activities), ("findings", s.findings), ("accidents", s.accidents),
)


@dataclass(frozen=True)
class LoadSummary:
    """What the database holds after ``load_demo``, and whether this call wrote it."""

    seed: int
    already_loaded: bool
    database: str
    counts: dict[str, int]
    settlements_closed: int
    hazards_released: int
    seconds: float

    @property
    def settlements_total(self) -> int:
        return self.counts.get("settlements", 0)

    def message(self) -> str:
        """One line for the CLI to print."""
        verb = "was already loaded in" if self.already_loaded else "loaded into"
        return (
            f"Synthetic demo district (seed {self.seed}) {verb} {self.database}: "
            f"{self.settlements_closed} of {self.settlements_total} settlements closed, "
            f"{self.counts.get('hazard_areas', 0)} hazard areas "
            f"({self.hazards_released} released), {self.counts.get('reports', 0)} reports, "
            f"{self.counts.get('findings', 0)} findings, {self.counts.get('accidents', 0)} "
            f"accidents ({self.seconds:.1f} s)"
        )


def load_demo(repo: Repository, *, seed: int = DEFAULT_SEED,
              progress: Progress | None = None) -> LoadSummary:
    """Write the demo district into an empty database through the public services.

    Safe to run twice: a database already holding this seed's demo is left untouched.
    A database holding anything else is refused, so synthetic records never mix with
    a real programme's. ``progress(stage, done, total)`` is called as records load.
    """
    started = time.perf_counter()
    if _already_loaded(repo, seed):
        return _summarise(repo, seed, True, time.perf_counter() - started)
    tick: Progress = progress or (lambda stage, done, total: None)
    district = generate_district(seed)
    _load_reference(repo, district, tick)
    _load_reports(repo, district, tick)
    with repo.unit(APPROVER, f"synthetic demo district loaded (seed {seed})") as uow:
        uow.set_setting(DEMO_SEED_SETTING, str(seed))
    return _summarise(repo, seed, False, time.perf_counter() - started)


def _already_loaded(repo: Repository, seed: int) -> bool:
    """True when this seed's demo is complete here; raises if anything else is here."""
    with repo.reader() as uow:
        settings = dict(uow.conn.execute(select(s.settings.c.key, s.settings.c.value)).all())
        counts = _counts(uow.conn)
        mac = uow.row(s.organisations, code=NMAA)
    loaded = settings.get(DEMO_SEED_SETTING)
    if loaded == str(seed) and mac is not None:
        return True
    where = f"database {repo.display_url}"
    if loaded is not None:
        raise DemineError(
            f"{where}: holds the demo district of seed {loaded}, not {seed}; load seed "
            f"{seed} into a new database (e.g. --db demo-{seed}.sqlite)")
    held = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    if held:
        unfinished = mac is not None and bool(mac["synthetic"])
        cause = ("an earlier demo load did not finish" if unfinished
                 else "it holds other data")
        raise DemineError(
            f"{where}: not empty ({held}): {cause}. The demo district loads only into an "
            "empty database, so synthetic records never mix with real ones; use a new "
            "file, e.g. --db demo.sqlite")
    return False


def _counts(conn) -> dict[str, int]:
    return {name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in _COUNTED}


def _load_reference(repo: Repository, district: District, tick: Progress) -> None:
    """Organisations, teams, roads and settlements in one transaction: all or nothing."""
    with repo.unit(APPROVER, f"synthetic demo district (seed {district.seed}): "
                             "reference data") as uow:
        if uow.settings().metric_crs is None:
            uow.set_setting("metric_crs", district.metric_crs)
        if uow.conn.execute(select(s.settings.c.value).where(
                s.settings.c.key == "name")).first() is None:
            uow.set_setting("name", f"{district.name} (synthetic demo, seed {district.seed})")
        uow.set_setting("demo_date", district.demo_date.isoformat())
        stages: list[tuple[str, Sequence[Any], Callable[[Any], int]]] = [
            ("organisations", district.organisations,
             lambda org: reference.add_organisation(uow, org)),
            ("teams", district.teams, lambda team: reference.add_team(uow, team)),
            ("roads", district.roads, lambda road: reference.add_road(uow, road)),
            ("settlements", district.settlements,
             lambda st: reference.add_settlement(uow, st, refresh=False)),
        ]
        for stage, records, add in stages:
            tick(stage, 0, len(records))
            for n, record in enumerate(records, start=1):
                add(record)
                tick(stage, n, len(records))
        status.refresh(uow)


def _load_reports(repo: Repository, district: District, tick: Progress) -> None:
    """Each report goes the operator's way: drafted, submitted, approved by the MAC."""
    total = len(district.reports)
    tick("reports", 0, total)
    for n, report in enumerate(district.reports, start=1):
        code = report_service.create_draft(
            repo, author=report.author, organisation_code=report.organisation_code,
            info_date=report.info_date, entries=list(report.entries), summary=report.summary,
            code=report.code, synthetic=True)
        report_service.submit(repo, code, report.author)
        report_service.approve(repo, code, APPROVER)
        tick("reports", n, total)


def _summarise(repo: Repository, seed: int, already: bool, seconds: float) -> LoadSummary:
    with repo.reader() as uow:
        counts = _counts(uow.conn)
        closed = uow.conn.execute(select(func.count()).select_from(s.settlements).where(
            s.settlements.c.status == "closed")).scalar_one()
        released = uow.conn.execute(select(func.count()).select_from(s.hazard_areas).where(
            s.hazard_areas.c.status == HazardStatus.RELEASED.value)).scalar_one()
    return LoadSummary(seed=seed, already_loaded=already, database=repo.display_url,
                       counts=counts, settlements_closed=int(closed),
                       hazards_released=int(released), seconds=seconds)


def closed_settlement_codes(repo: Repository) -> list[str]:
    """Codes of the settlements the record shows closed, sorted (for checks and tests)."""
    with repo.reader() as uow:
        rows = uow.conn.execute(select(s.settlements.c.code).where(
            s.settlements.c.status == "closed").order_by(s.settlements.c.code))
        return [r[0] for r in rows]


__all__ = ["DEMO_DATE", "DemoReport", "District", "LoadSummary", "closed_settlement_codes",
           "generate_district", "load_demo"]
