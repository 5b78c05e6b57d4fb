"""Vector tiles of the record: hazards, settlements, outcomes and findings as MVT, and
the roads the map draws beneath them as its basemap.

A web map of a whole country cannot download every hazard polygon; it asks for the
256-pixel squares it shows (z/x/y in the Web Mercator pyramid) and gets each as a Mapbox
Vector Tile holding only what can be seen there, already generalised for that zoom.

Both stores make a tile in the same steps, so they give the same features:

1. rows whose geometry meets the tile plus its buffer, found through the spatial index
   (GiST ``&&`` on PostGIS, the R*Tree on SQLite), void records left out;
2. geometry to Web Mercator (EPSG:3857);
3. polygons smaller than about one screen pixel of the tile dropped: at that zoom they
   would draw as nothing and only make the tile heavier;
4. polygons and lines simplified, topology kept, with a tolerance of
   :data:`SIMPLIFY_UNITS` tile units expressed in metres, so it doubles with each zoom
   level out;
5. scaled into tile units (extent 4096, y pointing down as the MVT spec says), clipped
   to the tile plus :data:`BUFFER` units on each side (so outlines join across tile
   edges) and snapped to the integer grid; whatever collapses there is dropped.

PostGIS does this in SQL beside the data (``ST_AsMVTGeom``/``ST_AsMVT``); SQLite has no
MVT encoder, so shapely does steps 2-5 vectorised and ``mapbox_vector_tile`` encodes.
The two may differ by a vertex where their grid snapping rounds differently.

Far out, a layer with a :class:`CellSummary` (the hazards) sends a summary instead of
its features: below zoom :attr:`CellSummary.below` its tile holds the layer
``hazard_cells``, one point per cell of :data:`CELL_UNITS` tile units and status, placed
at the mean centre of the hazards counted there, with their number and remaining area.
A hazard is counted in the one tile and cell its centroid falls in, so the counts of a
tile add up to the hazards whose centroids it holds, and no hazard is counted twice.
At national zoom nearly every hazard is under a pixel (a 20 ha field is a tenth of a
pixel at zoom 7), so the polygon tiles were empty there: the map showed no hazard at
all, while a country's 200,000 polygons were still read to be dropped. A summary shows
where they are, and how many of each status, in a few hundred points per tile.

A tile is capped at :data:`MAX_TILE_BYTES`. One over it is made again as if its pixels
were twice as wide (see :class:`Generalisation`): polygons under that pixel dropped and
simplified at that pixel, points thinned to one per pixel, the most important first
(closed settlements, then the most populous). A tile still over after :data:`RETRIES`
such steps is refused with "zoom in" rather than sent with a random part missing.
An empty tile is ``b""``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import mapbox_vector_tile
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    LargeBinary,
    Select,
    Subquery,
    Table,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)

from demine.domain.access import Permission, Principal
from demine.domain.errors import DemineError, NotFound, ValidationError
from demine.store import schema as s
from demine.store.repository import Repository
from demine.store.spatial import rtree_name

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
#: Tile units per side: the MVT default, and what every renderer expects.
EXTENT = 4096
#: Tile units kept beyond each edge, so that polygon outlines join across tiles.
BUFFER = 64
MAX_ZOOM = 22
#: Screen pixels per tile side; a polygon smaller than one of them is not drawn.
PIXELS_PER_TILE = 256
UNITS_PER_PIXEL = EXTENT // PIXELS_PER_TILE
#: Simplification tolerance in tile units: 1/8 of a pixel, below what the eye sees, yet
#: it removes the vertices a surveyed boundary has too many of at low zoom.
SIMPLIFY_UNITS = 2.0
#: Read at each call, so a deployment (or a test) may lower it.
MAX_TILE_BYTES = 500 * 1024
#: How many times a tile over the cap is made again, each with pixels twice as wide.
RETRIES = 4
#: Points of a layer thinned far out (see :attr:`TileLayer.thin_below`) are kept one per
#: cell of this many tile units: 4 pixels, the smallest circle the map draws is wider.
THIN_CELL_UNITS = 4 * UNITS_PER_PIXEL
#: Side of a summary cell in tile units: 16 x 16 cells a tile, each 32 screen pixels
#: wide on MapLibre's 512-pixel tiles, room for the largest circle the map draws.
CELL_UNITS = 256

_EARTH_RADIUS_M = 6378137.0
_HALF_WORLD_M = math.pi * _EARTH_RADIUS_M
#: Web Mercator stops here; beyond it y is infinite.
_MAX_LATITUDE = 85.0511287798066


class TileTooLarge(DemineError):
    """Even the coarsest generalisation of a tile is over the cap: zoom in."""


Columns = Any  # a SELECT's or subquery's column collection: ``c.id``, ``c.status``...

#: What a layer's geometries are; it decides which of the steps above apply.
Shape = Literal["polygon", "line", "point"]


@dataclass(frozen=True)
class CellSummary:
    """What a layer's tile holds below zoom ``below``: the MVT layer ``name``, one point
    per grid cell and value of ``by``, with ``count`` (the rows counted), ``total`` (the
    sum of that column) and ``synthetic`` (true when any of them is).

    ``rows`` selects ``by``, ``total`` and ``synthetic`` from the layer's table (the
    geometry is its ``geom``), with the filters the layer's own rows have.
    """

    name: str
    below: int
    by: str
    total: str
    rows: Callable[[], Select]

    @property
    def properties(self) -> list[str]:
        return [self.by, "count", self.total, "synthetic"]


@dataclass(frozen=True)
class TileLayer:
    """One tile layer: its name, its kind of geometry, and its rows.

    ``rows`` selects the feature id first, then the feature's properties, with the
    joins and filters the layer needs; the geometry is always the table's ``geom``.
    ``keep_first`` orders points by importance, for thinning a tile over the cap.
    ``cells``, when set, is what the layer's tiles hold instead below its zoom.
    ``thin_below``: below this zoom points are always thinned to one per cell of
    :data:`THIN_CELL_UNITS`, the most important kept, as a tile over the cap is. A
    country's 30,000 settlements at national zoom are circles on top of each other:
    sent whole they were 1.5 MB of tiles, seconds to draw, and hid the hazards beneath.
    """

    name: str
    table: Table
    shape: Shape
    rows: Callable[[], Select]
    keep_first: Callable[[Columns], list[ColumnElement]] = lambda c: [c.id]
    cells: CellSummary | None = None
    thin_below: int = 0

    def summarised(self, z: int) -> CellSummary | None:
        """The summary the layer's tiles hold at zoom ``z``, or None for its features."""
        return self.cells if self.cells is not None and z < self.cells.below else None

    @property
    def geom(self) -> ColumnElement:
        return self.table.c.geom

    @property
    def polygons(self) -> bool:
        """Polygons under a pixel are dropped (a line or point of any size is drawn)."""
        return self.shape == "polygon"

    @property
    def points(self) -> bool:
        """Points are thinned to one per cell in a tile over the cap."""
        return self.shape == "point"

    @property
    def simplified(self) -> bool:
        """Outlines and lines have vertices to spare at low zoom; points have one."""
        return self.shape != "point"

    @property
    def properties(self) -> list[str]:
        return list(self.rows().selected_columns.keys())[1:]


def _hazard_rows() -> Select:
    """``in_progress``: a team is working the area now (the map's "activities" layer)."""
    h, a = s.hazard_areas, s.activities
    working = exists().where(a.c.hazard_id == h.c.id, a.c.status == "in_progress")
    return select(h.c.id, h.c.code, h.c.status, h.c.classification, h.c.remaining_m2,
                  working.label("in_progress"), h.c.synthetic)


def _hazard_cell_rows() -> Select:
    """What a summary cell of hazards counts: every hazard, released ones too (the map
    shows them by status at every zoom)."""
    h = s.hazard_areas
    return select(h.c.status, h.c.remaining_m2, h.c.synthetic)


#: Below zoom 10 (a pixel of 1 ha and more) the hazards are summarised: at zoom 10 the
#: larger half of a typical register's hazards are still drawn as areas.
HAZARD_CELLS = CellSummary("hazard_cells", 10, "status", "remaining_m2", _hazard_cell_rows)


def _settlement_rows() -> Select:
    t = s.settlements
    return select(t.c.id, t.c.code, t.c.name, t.c.status, t.c.population, t.c.synthetic)


def _closed_and_populous_first(c: Columns) -> list[ColumnElement]:
    """A closed settlement is the map's message; among the rest, the larger ones."""
    return [case((c.status == "closed", 0), else_=1), c.population.desc(), c.id]


def _outcome_rows() -> Select:
    """Approved land release; an outcome is as synthetic as the activity it records."""
    o, h, a = s.outcome_polygons, s.hazard_areas, s.activities
    return select(o.c.id, o.c.method, h.c.code.label("hazard_code"), a.c.synthetic) \
        .join(h, h.c.id == o.c.hazard_id).join(a, a.c.id == o.c.activity_id) \
        .where(o.c.void.is_(False))


def _finding_rows() -> Select:
    f = s.findings
    return select(f.c.id, f.c.eo_category, f.c.synthetic).where(f.c.void.is_(False))


def _road_rows() -> Select:
    """The basemap's roads: the class sets width and colour, the name is for a click."""
    t = s.roads
    return select(t.c.id, t.c.code, t.c.name, t.c.road_class, t.c.synthetic)


def _accident_rows() -> Select:
    """Where and what kind: the narrative and the victims are not on the map."""
    t = s.accidents
    return select(t.c.id, t.c.code, t.c.type, t.c.device_category, t.c.synthetic)


#: Every layer carries ``synthetic``: exercise data stays labelled once it leaves.
TILE_LAYERS: dict[str, TileLayer] = {t.name: t for t in (
    TileLayer("hazards", s.hazard_areas, "polygon", _hazard_rows, cells=HAZARD_CELLS),
    # thinned out to zoom 9, where the map starts writing settlement names
    TileLayer("settlements", s.settlements, "point", _settlement_rows,
              _closed_and_populous_first, thin_below=9),
    TileLayer("outcomes", s.outcome_polygons, "polygon", _outcome_rows),
    TileLayer("findings", s.findings, "point", _finding_rows),
    TileLayer("accidents", s.accidents, "point", _accident_rows),
    TileLayer("roads", s.roads, "line", _road_rows),
)}


@dataclass(frozen=True)
class TileAddress:
    """A tile of the Web Mercator pyramid (XYZ: x east, y south from the north-west)."""

    z: int
    x: int
    y: int

    @cached_property
    def size_m(self) -> float:
        return 2 * _HALF_WORLD_M / 2 ** self.z

    @cached_property
    def bounds_m(self) -> tuple[float, float, float, float]:
        """minx, miny, maxx, maxy in EPSG:3857, as ``ST_TileEnvelope`` gives them."""
        minx = -_HALF_WORLD_M + self.x * self.size_m
        maxy = _HALF_WORLD_M - self.y * self.size_m
        return minx, maxy - self.size_m, minx + self.size_m, maxy

    @property
    def unit_m(self) -> float:
        """Metres (of Web Mercator) per tile unit."""
        return self.size_m / EXTENT

    @property
    def buffer_m(self) -> float:
        return BUFFER * self.unit_m

    def lonlat_bounds(self, margin_m: float = 0.0) -> tuple[float, float, float, float]:
        """The tile grown by ``margin_m`` on each side, in WGS84 degrees.

        A rectangle in Web Mercator is a rectangle in longitude/latitude, so these four
        numbers are exact, not an approximation of a curved outline.
        """
        minx, miny, maxx, maxy = self.bounds_m
        lon = np.degrees(np.array([minx - margin_m, maxx + margin_m]) / _EARTH_RADIUS_M)
        y = np.array([miny - margin_m, maxy + margin_m]) / _EARTH_RADIUS_M
        lat = np.degrees(2 * np.arctan(np.exp(y)) - math.pi / 2)
        return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


def tile_address(z: int, x: int, y: int) -> TileAddress:
    """The tile z/x/y, or a validation error naming the coordinate out of range."""
    if not 0 <= z <= MAX_ZOOM:
        raise ValidationError("tile", "z", f"zoom must be 0 to {MAX_ZOOM}, got {z}")
    last = 2 ** z - 1
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value <= last:
            raise ValidationError("tile", name, f"must be 0 to {last} at zoom {z}, got {value}")
    return TileAddress(z, x, y)


def tile_layer(name: str) -> TileLayer:
    try:
        return TILE_LAYERS[name]
    except KeyError:
        raise NotFound("tile layer", f"{name} (layers: {', '.join(TILE_LAYERS)})") from None


@dataclass(frozen=True)
class Generalisation:
    """How coarsely one tile is drawn: level 0 at screen pixels, each level up at
    pixels twice as wide (only for a tile over the cap).

    ``min_area_m2`` and ``tolerance_m`` are in Web Mercator metres, so both grow as the
    zoom decreases; ``cell_units`` thins points to one per cell (None: keep them all).
    ``thin_units`` is the cell of a layer thinned at level 0 already (far out); each
    level up doubles it.
    """

    tolerance_m: float
    min_area_m2: float
    cell_units: int | None

    @classmethod
    def for_tile(cls, tile: TileAddress, level: int = 0,
                 thin_units: int | None = None) -> Generalisation:
        pixel_m = tile.size_m / PIXELS_PER_TILE * 2 ** level
        if thin_units:
            cell: int | None = thin_units * 2 ** level
        else:
            cell = UNITS_PER_PIXEL * 2 ** (level - 1) if level else None
        return cls(SIMPLIFY_UNITS * tile.unit_m * 2 ** level, pixel_m * pixel_m, cell)


class TileCache:
    """Tiles already drawn, until the record changes.

    Every change to the record leaves an audit row, so the newest audit id is the
    record's version: a tile drawn at that version is still right while it is the
    newest, and each request checks it (one indexed ``max``) inside the same read
    transaction as the drawing. Tiles hold no personal data, so users share them. Low
    zooms of a national record cost seconds to draw and are what everyone opens first.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._tiles: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            data = self._tiles.get(key)
            if data is None:
                self.misses += 1
                return None
            self._tiles.move_to_end(key)
            self.hits += 1
            return data

    def put(self, key: tuple, data: bytes) -> None:
        with self._lock:
            if key in self._tiles or len(data) > self.max_bytes:
                return
            self._tiles[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, dropped = self._tiles.popitem(last=False)
                self._bytes -= len(dropped)


#: One per server process.
tile_cache = TileCache()


def render_tile(repo: Repository, who: Principal, layer: str, z: int, x: int, y: int
                ) -> bytes:
    """The tile ``layer/z/x/y`` as MVT bytes; ``b""`` when nothing is in it."""
    who.require(Permission.READ, f"read {layer} tiles")
    definition = tile_layer(layer)
    tile = tile_address(z, x, y)
    postgis = repo.dialect == "postgresql"
    make = _postgis_tile if postgis else _sqlite_tile
    cap = MAX_TILE_BYTES
    cells = definition.summarised(z)
    with repo.reader() as uow:
        version = uow.conn.execute(select(func.max(s.audit_log.c.id))).scalar() or 0
        key = (repo.url, version, layer, z, x, y, cap)
        cached = tile_cache.get(key)
        if cached is not None:
            return cached
        if cells is not None:
            # at most 256 cells times a few values: no finer or coarser drawing to try
            data = (_postgis_cells if postgis else _sqlite_cells)(uow.conn, definition,
                                                                  cells, tile)
            if len(data) <= cap:
                tile_cache.put(key, data)
                return data
            raise TileTooLarge(f"tile {layer}/{z}/{x}/{y}: {len(data):,} bytes of "
                               f"{cells.name}, above the {cap:,}-byte cap")
        thin = THIN_CELL_UNITS if definition.points and z < definition.thin_below else None
        for level in range(RETRIES + 1):
            data = make(uow.conn, definition, tile, Generalisation.for_tile(tile, level, thin))
            if len(data) <= cap:
                tile_cache.put(key, data)
                return data
    raise TileTooLarge(f"tile {layer}/{z}/{x}/{y}: {len(data):,} bytes even drawn with "
                       f"{2 ** RETRIES}-pixel detail, above the {cap:,}-byte cap; zoom in")


# -- PostGIS: the tile made in SQL ---------------------------------------------------------

def _postgis_tile(conn: Connection, layer: TileLayer, tile: TileAddress,
                  plan: Generalisation) -> bytes:
    """``ST_AsMVT`` over the layer's rows; the ``&&`` uses the geometry's GiST index."""
    envelope = func.ST_TileEnvelope(tile.z, tile.x, tile.y)
    search = func.ST_Transform(func.ST_Expand(envelope, tile.buffer_m), 4326)
    merc = func.ST_Transform(layer.geom, 3857)
    shape = func.ST_SimplifyPreserveTopology(merc, plan.tolerance_m) if layer.simplified \
        else merc
    rows = layer.rows().add_columns(
        func.ST_AsMVTGeom(shape, envelope, EXTENT, BUFFER, True).label("geom"),
    ).where(layer.geom.op("&&")(search))
    if layer.polygons:
        rows = rows.where(_box_could_be_drawn(layer, tile, plan),
                          func.ST_Area(merc) >= plan.min_area_m2)
    # materialised, so each row's ST_AsMVTGeom is computed once, not again for the filter
    found = rows.cte("found").prefix_with("MATERIALIZED")
    kept = select(found).where(found.c.geom.is_not(None))
    if plan.cell_units and layer.points:
        kept = _first_per_cell(kept.subquery("drawn"), layer, plan.cell_units)
    tile_rows = kept.subquery("tile_rows")
    query = select(func.ST_AsMVT(literal_column("tile_rows"), layer.name, EXTENT, "geom", "id")) \
        .select_from(tile_rows)
    return bytes(conn.execute(query).scalar() or b"")


def _first_per_cell(drawn: Subquery, layer: TileLayer, cell_units: int) -> Select:
    """The most important point of each cell of ``cell_units`` tile units, as
    :func:`_thinned` keeps them (a window, not DISTINCT ON: the same SQL on every
    SQLAlchemy version)."""
    cell = [func.floor(f(drawn.c.geom) / cell_units) for f in (func.ST_X, func.ST_Y)]
    rank = func.row_number().over(partition_by=cell, order_by=layer.keep_first(drawn.c))
    ranked = select(drawn, rank.label("cell_rank")).subquery("ranked")
    return select(*(ranked.c[col.key] for col in drawn.c)).where(ranked.c.cell_rank == 1)


def _box_could_be_drawn(layer: TileLayer, tile: TileAddress,
                        plan: Generalisation) -> ColumnElement[bool]:
    """The box-size test SQLite's R*Tree makes, on the cached box of each geometry: it
    spares projecting every small hazard of a country at zoom 5 only to drop it."""
    box = func.Box2D(layer.geom)
    bound = _box_area_bound(tile, plan)
    return or_((func.ST_XMax(box) - func.ST_XMin(box)) * (func.ST_YMax(box) - func.ST_YMin(box))
               >= bound["min_deg2"],
               func.ST_YMax(box) > bound["lat_limit"], func.ST_YMin(box) < -bound["lat_limit"])


def _postgis_cells(conn: Connection, layer: TileLayer, cells: CellSummary,
                   tile: TileAddress) -> bytes:
    """The summary of :func:`_sqlite_cells` in SQL: centroids in tile units, grouped by
    cell and value, each group one point at its mean (rounded half up) in ``ST_AsMVT``."""
    minx, _miny, _maxx, maxy = tile.bounds_m
    scale = EXTENT / tile.size_m
    search = func.ST_Transform(func.ST_TileEnvelope(tile.z, tile.x, tile.y), 4326)
    centre = func.ST_Transform(func.ST_Centroid(layer.geom), 3857)
    placed = cells.rows().add_columns(
        ((func.ST_X(centre) - minx) * scale).label("ux"),
        ((maxy - func.ST_Y(centre)) * scale).label("uy"),
    ).where(layer.geom.op("&&")(search)).subquery("placed")
    p = placed.c
    cell_x, cell_y = func.floor(p.ux / CELL_UNITS), func.floor(p.uy / CELL_UNITS)
    point = func.ST_MakePoint(func.floor(func.avg(p.ux) + 0.5), func.floor(func.avg(p.uy) + 0.5))
    grouped = select(
        p[cells.by], func.count().label("count"), func.sum(p[cells.total]).label(cells.total),
        func.bool_or(p.synthetic).label("synthetic"), point.label("geom"),
    ).where(p.ux >= 0, p.ux < EXTENT, p.uy >= 0, p.uy < EXTENT) \
        .group_by(cell_x, cell_y, p[cells.by]).subquery("tile_rows")
    query = select(func.ST_AsMVT(literal_column("tile_rows"), cells.name, EXTENT, "geom")) \
        .select_from(grouped)
    return bytes(conn.execute(query).scalar() or b"")


# -- SQLite: R*Tree candidates, shapely, mapbox_vector_tile --------------------------------

def _sqlite_tile(conn: Connection, layer: TileLayer, tile: TileAddress,
                 plan: Generalisation) -> bytes:
    """The same steps as :func:`_postgis_tile`, vectorised over the candidate rows."""
    rows = conn.execute(_candidates(layer, tile, plan)).all()
    if not rows:
        return b""
    wkb = np.empty(len(rows), dtype=object)
    wkb[:] = [r[-1] for r in rows]
    shapes = _tile_shapes(shapely.from_wkb(wkb), layer.shape, tile, plan)
    if plan.cell_units and layer.points:
        shapes = _thinned(shapes, plan.cell_units)
    names = layer.properties
    features = [{"id": int(r[0]), "geometry": shape, "properties": _properties(names, r[1:-1])}
                for r, shape in zip(rows, shapes, strict=True) if shape is not None]
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": layer.name, "features": features}],
        default_options={"extents": EXTENT, "y_coord_down": True})


def _sqlite_cells(conn: Connection, layer: TileLayer, cells: CellSummary,
                  tile: TileAddress) -> bytes:
    """One point per cell of :data:`CELL_UNITS` tile units and value of ``cells.by``,
    over the rows whose centroid lies in the tile (not its buffer: a row is counted in
    one tile only), at the mean of their centroids."""
    minx, miny, maxx, maxy = tile.lonlat_bounds()
    boxes = text(f"SELECT id FROM {rtree_name(layer.table.name, 'geom')} WHERE "
                 "maxx >= :minx AND minx <= :maxx AND maxy >= :miny AND miny <= :maxy") \
        .bindparams(minx=minx, miny=miny, maxx=maxx, maxy=maxy).columns(id=Integer)
    query = cells.rows().add_columns(type_coerce(layer.geom, LargeBinary).label("wkb")) \
        .where(layer.table.c.id.in_(boxes))
    rows = conn.execute(query).all()
    if not rows:
        return b""
    wkb = np.empty(len(rows), dtype=object)
    wkb[:] = [r[-1] for r in rows]
    xy = _to_mercator(shapely.get_coordinates(shapely.centroid(shapely.from_wkb(wkb))))
    left, _bottom, _right, top = tile.bounds_m
    scale = EXTENT / tile.size_m
    ux, uy = (xy[:, 0] - left) * scale, (top - xy[:, 1]) * scale
    inside = (ux >= 0) & (ux < EXTENT) & (uy >= 0) & (uy < EXTENT)
    if not inside.any():
        return b""
    at = np.flatnonzero(inside)
    values, value_of = np.unique(np.array([rows[i][0] for i in at], dtype=object),
                                 return_inverse=True)
    per_side = EXTENT // CELL_UNITS
    cell = (np.floor(uy[at] / CELL_UNITS) * per_side + np.floor(ux[at] / CELL_UNITS))
    groups, group_of = np.unique(cell.astype(np.int64) * len(values) + value_of,
                                 return_inverse=True)
    count = np.bincount(group_of)
    total = np.bincount(group_of, [float(rows[i][1] or 0.0) for i in at])
    synthetic = np.bincount(group_of, [bool(rows[i][2]) for i in at]) > 0
    mean_x = np.floor(np.bincount(group_of, ux[at]) / count + 0.5)
    mean_y = np.floor(np.bincount(group_of, uy[at]) / count + 0.5)
    features = [{"geometry": shapely.Point(mean_x[g], mean_y[g]),
                 "properties": {cells.by: values[groups[g] % len(values)],
                                "count": int(count[g]), cells.total: float(total[g]),
                                "synthetic": bool(synthetic[g])}}
                for g in range(len(groups))]
    return mapbox_vector_tile.encode(
        [{"name": cells.name, "features": features}],
        default_options={"extents": EXTENT, "y_coord_down": True})


def _candidates(layer: TileLayer, tile: TileAddress, plan: Generalisation) -> Select:
    """The layer's rows with raw WKB, for ids whose R*Tree box meets the buffered tile;
    points in order of importance, polygons only if their box could be a pixel."""
    minx, miny, maxx, maxy = tile.lonlat_bounds(tile.buffer_m)
    sql = (f"SELECT id FROM {rtree_name(layer.table.name, 'geom')} WHERE "
           "maxx >= :minx AND minx <= :maxx AND maxy >= :miny AND miny <= :maxy")
    params = {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}
    if layer.polygons:
        sql += (" AND ((maxx - minx) * (maxy - miny) >= :min_deg2 "
                "OR maxy > :lat_limit OR miny < -:lat_limit)")
        params.update(_box_area_bound(tile, plan))
    boxes = text(sql).bindparams(**params).columns(id=Integer)
    query = layer.rows().add_columns(type_coerce(layer.geom, LargeBinary).label("wkb")) \
        .where(layer.table.c.id.in_(boxes))
    return query if layer.polygons else query.order_by(*layer.keep_first(query.selected_columns))


def _box_area_bound(tile: TileAddress, plan: Generalisation) -> dict[str, float]:
    """Parameters that let the index skip polygons too small to draw without reading them.

    For a box within ±``lat_limit`` degrees, Web Mercator stretches a square degree to
    at most ``(R·π/180)² / cos(lat_limit)`` m², so a box of fewer square degrees than
    ``min_deg2`` holds less than ``min_area_m2``. Boxes reaching beyond the limit (a
    degree past the tile) are kept and measured exactly. Without it, a national set of
    small hazards would be read at zoom 5 only to be dropped.
    """
    _minx, miny, _maxx, maxy = tile.lonlat_bounds(tile.buffer_m)
    lat_limit = min(max(abs(miny), abs(maxy)) + 1.0, _MAX_LATITUDE)
    per_deg2 = (_EARTH_RADIUS_M * math.pi / 180) ** 2 / math.cos(math.radians(lat_limit))
    return {"min_deg2": plan.min_area_m2 / per_deg2, "lat_limit": lat_limit}


def _properties(names: Sequence[str], values: Sequence) -> dict[str, Any]:
    """Plain Python values: the encoder silently skips None and numpy scalars."""
    return {n: v.item() if isinstance(v, np.generic) else v
            for n, v in zip(names, values, strict=True) if v is not None}


def _tile_shapes(geoms: np.ndarray, kind: Shape, tile: TileAddress,
                 plan: Generalisation) -> list[BaseGeometry | None]:
    """WGS84 geometries to clipped, snapped tile-unit shapes; None for the dropped."""
    merc = shapely.transform(geoms, _to_mercator)
    keep = np.ones(len(merc), dtype=bool)
    if kind == "polygon":
        keep = shapely.area(merc) >= plan.min_area_m2
    if kind != "point":
        merc = shapely.simplify(merc, plan.tolerance_m, preserve_topology=True)
    minx, _miny, _maxx, maxy = tile.bounds_m
    scale = EXTENT / tile.size_m
    units = shapely.transform(merc, lambda c: np.column_stack(
        [(c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale]))
    window = shapely.box(-BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    snapped = shapely.set_precision(shapely.intersection(units, window), 1.0)
    return [_same_kind(g, kind) if k else None for g, k in zip(snapped, keep, strict=True)]


def _thinned(points: list[BaseGeometry | None], cell_units: int) -> list[BaseGeometry | None]:
    """The first point (rows come most important first) of each cell, None for the rest:
    what PostGIS's ``DISTINCT ON`` over the same cells keeps."""
    at = [i for i, p in enumerate(points) if p is not None]
    if not at:
        return points
    xy = shapely.get_coordinates([points[i] for i in at])  # one Point per row
    cells = np.floor(xy / cell_units).astype(np.int64)
    _unique, first = np.unique(cells, axis=0, return_index=True)
    kept = {at[i] for i in first.tolist()}
    return [p if i in kept else None for i, p in enumerate(points)]


def _to_mercator(coords: np.ndarray) -> np.ndarray:
    """EPSG:3857 by its defining formula: exact, vectorised, and thread-safe (a shared
    pyproj Transformer is not, and the server renders tiles on a thread pool)."""
    lon = np.radians(coords[:, 0])
    lat = np.radians(np.clip(coords[:, 1], -_MAX_LATITUDE, _MAX_LATITUDE))
    return np.column_stack([_EARTH_RADIUS_M * lon,
                            _EARTH_RADIUS_M * np.log(np.tan(np.pi / 4 + lat / 2))])


#: Each kind's single and multi geometry types, and how to gather parts into the multi.
_KINDS: dict[str, tuple[str, str, Callable[[list[BaseGeometry]], BaseGeometry]]] = {
    "polygon": ("Polygon", "MultiPolygon", shapely.multipolygons),
    "line": ("LineString", "MultiLineString", shapely.multilinestrings),
    "point": ("Point", "MultiPoint", shapely.multipoints),
}


def _same_kind(geom: BaseGeometry, kind: Shape) -> BaseGeometry | None:
    """The parts of a clipped shape of the layer's kind: clipping and snapping can leave
    slivers collapsed into lines, or a road's stub into a point, which the layer must not
    carry (an MVT layer is read as one kind)."""
    if geom.is_empty:
        return None
    single, multi, gather = _KINDS[kind]
    if geom.geom_type in (single, multi):
        return geom
    flat = shapely.get_parts(shapely.get_parts(geom))  # a collection may hold multis
    parts = [p for p in flat if p.geom_type == single and not p.is_empty]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return gather(parts)
