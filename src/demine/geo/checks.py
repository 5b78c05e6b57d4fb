"""The field's geocheck rules, applied before anything reaches the record.

A polygon that is invalid, degenerate or has a vertex typed 50 km off poisons every
area sum and every closure test after it; it is cheaper to refuse it at the door with
the record and field named than to find it in a donor report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError

MAX_VERTEX_SPACING_M = 5_000.0
_GEOD = Geod(ellps="WGS84")
#: what a record code may hold; field forms put the same pattern in their constraints
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
_CODE = re.compile(CODE_PATTERN)
#: the longest code the stores hold (their code columns are VARCHAR(64))
MAX_CODE_LENGTH = 64


def parse_geometry(value: Any, *, record: str, field: str) -> BaseGeometry:
    """Accept GeoJSON (mapping or text), WKT or a shapely geometry."""
    if isinstance(value, BaseGeometry):
        return value
    try:
        if isinstance(value, Mapping):
            return shape(value)
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                return shape(json.loads(text))
            return shapely.from_wkt(text)
    except Exception as exc:  # shapely and json raise many types for bad text
        raise ValidationError(record, field, f"not a readable geometry: {exc}") from exc
    raise ValidationError(record, field, f"not a geometry: {value!r}")


def check_code(code: Any, *, record: str, field: str = "code") -> str:
    if not isinstance(code, str) or not code:
        raise ValidationError(record, field, "a code is required")
    if code != code.strip() or "  " in code:
        raise ValidationError(record, field, f"code {code!r} has stray spaces")
    if len(code) > MAX_CODE_LENGTH:
        raise ValidationError(record, field, f"code {code[:16]!r}... is {len(code)} "
                                             f"characters; at most {MAX_CODE_LENGTH}")
    if not _CODE.match(code):
        raise ValidationError(
            record, field, f"code {code!r} may hold only letters, digits and . _ / -"
        )
    return code


def _check_lonlat(coords: np.ndarray, *, record: str, field: str) -> None:
    if coords.size == 0:
        return
    if not np.all(np.isfinite(coords)):
        raise ValidationError(record, field, "coordinates are not finite numbers")
    lon, lat = coords[:, 0], coords[:, 1]
    if np.any(np.abs(lon) > 180) or np.any(np.abs(lat) > 90):
        bad = coords[(np.abs(lon) > 180) | (np.abs(lat) > 90)][0]
        raise ValidationError(
            record, field,
            f"coordinate ({bad[0]}, {bad[1]}) is outside WGS84 longitude/latitude range",
        )


def _check_ring(ring: np.ndarray, *, record: str, field: str, max_spacing_m: float) -> None:
    distinct = np.unique(np.round(ring, 9), axis=0)
    if len(distinct) < 3:
        raise ValidationError(
            record, field, f"a ring has {len(distinct)} distinct vertices; at least 3 are needed"
        )
    lengths = np.asarray(_GEOD.line_lengths(ring[:, 0], ring[:, 1]))
    if lengths.size and lengths.max() > max_spacing_m:
        i = int(lengths.argmax())
        raise ValidationError(
            record, field,
            f"consecutive vertices {i + 1} and {i + 2} are {lengths[i] / 1000:.1f} km apart "
            f"(more than {max_spacing_m / 1000:.0f} km): a mistyped coordinate?",
        )


def check_polygon(
    value: Any, *, record: str, field: str = "geometry",
    max_spacing_m: float = MAX_VERTEX_SPACING_M,
) -> Polygon | MultiPolygon:
    """Parse and check a WGS84 polygon; multi-part polygons and holes are fine."""
    geom = parse_geometry(value, record=record, field=field)
    if not isinstance(geom, Polygon | MultiPolygon):
        raise ValidationError(record, field, f"expected a polygon, got a {geom.geom_type}")
    if geom.is_empty:
        raise ValidationError(record, field, "the polygon is empty")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    _check_lonlat(shapely.get_coordinates(geom), record=record, field=field)
    for part in getattr(geom, "geoms", [geom]):
        for ring in [part.exterior, *part.interiors]:
            _check_ring(np.asarray(ring.coords)[:, :2], record=record, field=field,
                        max_spacing_m=max_spacing_m)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise ValidationError(record, field, f"invalid polygon: {reason}")
    return geom


def check_point(value: Any, *, record: str, field: str = "point") -> Point:
    geom = parse_geometry(value, record=record, field=field)
    if not isinstance(geom, Point) or geom.is_empty:
        raise ValidationError(record, field, f"expected a point, got a {geom.geom_type}")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    _check_lonlat(shapely.get_coordinates(geom), record=record, field=field)
    return geom


#: Features farther than this outside the extent of a project's data are refused: a
#: swapped lat/lon or a wrong CRS usually lands hundreds or thousands of km away.
MAX_DISTANCE_FROM_PROJECT_KM = 500.0
_KM_PER_DEGREE = 111.32


def check_near_extent(
    geom: BaseGeometry, extent: tuple[float, float, float, float] | None, *, record: str,
    field: str, max_km: float = MAX_DISTANCE_FROM_PROJECT_KM,
) -> None:
    """Refuse a geometry lying more than ``max_km`` outside ``extent`` (WGS84 bounds).

    With no extent (a project with no data yet) there is nothing to compare with and the
    geometry passes. The message suggests the usual cause: latitude and longitude typed
    or exported the other way round.
    """
    if extent is None or geom.is_empty:
        return
    minx, miny, maxx, maxy = extent
    pad_lat = max_km / _KM_PER_DEGREE
    widest = min(89.0, max(abs(miny), abs(maxy)) + pad_lat)
    pad_lon = pad_lat / max(float(np.cos(np.radians(widest))), 0.05)
    gx0, gy0, gx1, gy1 = geom.bounds
    if gx0 < minx - pad_lon or gx1 > maxx + pad_lon or gy0 < miny - pad_lat or \
            gy1 > maxy + pad_lat:
        x, y = geom.centroid.coords[0]
        raise ValidationError(
            record, field,
            f"(lon {x:.5f}, lat {y:.5f}) is more than {max_km:.0f} km outside the project's "
            f"area ({minx:.3f}, {miny:.3f}, {maxx:.3f}, {maxy:.3f}): latitude and longitude "
            "swapped, or a point from another project?")


# --- vectorised screens -------------------------------------------------------------
#
# Checking a national file one polygon at a time costs ~0.3 ms a polygon. The screens
# below find, in a few vectorised shapely/numpy calls, the few geometries that *might*
# fail (never missing one that would); only those go through the checks above, so a bad
# record is refused with exactly the message the one-by-one door gives.

_EARTH_RADIUS_M = 6_371_008.8
_POINT, _POLYGON, _MULTIPOLYGON = 0, 3, 6

def object_array(values: Iterable[Any]) -> np.ndarray:
    values = list(values)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _is_geometry(values: np.ndarray) -> np.ndarray:
    return np.fromiter((isinstance(v, BaseGeometry) for v in values), dtype=bool,
                       count=len(values))


def _bad_lonlat(geoms: np.ndarray) -> np.ndarray:
    """Geometries with a coordinate that is not finite or outside lon/lat range."""
    bad = np.zeros(len(geoms), dtype=bool)
    if not len(geoms):
        return bad
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    wrong = ~np.isfinite(coords).all(axis=1)
    with np.errstate(invalid="ignore"):
        wrong |= (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
    bad[index[wrong]] = True
    return bad


def _bad_rings(geoms: np.ndarray, max_spacing_m: float) -> np.ndarray:
    """Polygons with a ring of fewer than 3 distinct vertices or too long an edge.

    Conservative: it may flag a polygon that the exact check passes (never the reverse),
    because flagged polygons are checked again one by one.
    """
    bad = np.zeros(len(geoms), dtype=bool)
    if not len(geoms):
        return bad
    if (shapely.get_type_id(geoms) == _POLYGON).all():  # each is its only part
        parts, part_geom = geoms, np.arange(len(geoms))
    else:
        parts, part_geom = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_geom = part_geom[ring_part]
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    # Fewer than 3 distinct vertices (rounded to 1e-9 degrees, as check_polygon does):
    # every vertex of the ring equals its first vertex A or its first other vertex B.
    if len(coords):
        rounded = np.round(coords, 9)
        starts = np.flatnonzero(np.r_[True, coord_ring[1:] != coord_ring[:-1]])
        owner = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(coords)]))
        is_a = (rounded == rounded[starts][owner]).all(axis=1)
        position = np.arange(len(coords))
        first_b = np.minimum.reduceat(np.where(is_a, len(coords), position), starts)
        has_b = first_b < len(coords)
        b = rounded[np.where(has_b, first_b, starts)][owner]
        two_at_most = np.logical_and.reduceat(is_a | (rounded == b).all(axis=1), starts)
        bad[ring_geom[coord_ring[starts][two_at_most]]] = True
    # Consecutive vertices further apart than max_spacing_m. The check measures on the
    # ellipsoid; the sphere is within 0.6 % of it and ten times cheaper, so flag edges
    # above 95 % of the limit on the sphere (the flagged ones are measured exactly).
    # An edge is no longer than the way along its first vertex's parallel and then its
    # second's meridian, R * (|dlon| cos(lat) + |dlat|) <= R * (|dlon| + |dlat|): edges
    # within 90 % of the limit by that bound are short enough on the sphere too, and
    # only the others (normally none) are measured.
    if len(coords) > 1:
        step = np.abs(np.diff(coords, axis=0)).sum(axis=1)
        same_ring = coord_ring[1:] == coord_ring[:-1]
        near = np.flatnonzero(same_ring & ~(step <= np.degrees(
            0.9 * max_spacing_m / _EARTH_RADIUS_M)))
        lengths = _haversine_m(coords[near], coords[near + 1])
        too_long = near[~(lengths <= 0.95 * max_spacing_m)]
        bad[ring_geom[coord_ring[1:][too_long]]] = True
    return bad


def _haversine_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres between lon/lat rows of ``a`` and ``b``."""
    lon1, lat1, lon2, lat2 = (np.radians(v) for v in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    h = np.sin((lat2 - lat1) / 2) ** 2 + \
        np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _screened(values: np.ndarray, types: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(geometries made 2-D, suspects): not a geometry, another type, or empty."""
    suspect = ~_is_geometry(values)
    geoms = np.where(suspect, None, values)
    suspect |= ~np.isin(shapely.get_type_id(geoms), types)
    suspect |= shapely.is_empty(geoms)
    z = ~suspect & shapely.has_z(geoms)
    if z.any():
        geoms[z] = shapely.force_2d(geoms[z])
    return geoms, suspect


def screen_polygons(values: np.ndarray, max_spacing_m: float = MAX_VERTEX_SPACING_M
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(2-D geometries, suspects): suspects must go through check_polygon one by one."""
    geoms, suspect = _screened(values, (_POLYGON, _MULTIPOLYGON))
    idx = np.flatnonzero(~suspect)
    sub = geoms[idx]
    bad = _bad_lonlat(sub)
    bad[~bad] = _bad_rings(sub[~bad], max_spacing_m)
    bad[~bad] = ~shapely.is_valid(sub[~bad])
    suspect[idx[bad]] = True
    return geoms, suspect


def screen_points(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(2-D points, suspects): suspects must go through check_point one by one."""
    geoms, suspect = _screened(values, (_POINT,))
    idx = np.flatnonzero(~suspect)
    suspect[idx[_bad_lonlat(geoms[idx])]] = True
    return geoms, suspect


def check_polygons(values: Iterable[Any], records: Sequence[str], *, field: str = "geometry",
                   max_spacing_m: float = MAX_VERTEX_SPACING_M
                   ) -> tuple[np.ndarray, dict[int, ValidationError]]:
    """:func:`check_polygon` over many values at once, with the same outcome per value.

    Returns the checked 2-D polygons (``None`` where refused) and the refusals by index.
    Only the values the vectorised screen flags are checked one by one.
    """
    values = object_array(values)
    geoms, suspect = screen_polygons(values, max_spacing_m)
    refused: dict[int, ValidationError] = {}
    for i in np.flatnonzero(suspect).tolist():
        try:
            geoms[i] = check_polygon(values[i], record=records[i], field=field,
                                     max_spacing_m=max_spacing_m)
        except ValidationError as exc:
            geoms[i] = None
            refused[i] = exc
    return geoms, refused


def check_points(values: Iterable[Any], records: Sequence[str], *, field: str = "point"
                 ) -> tuple[np.ndarray, dict[int, ValidationError]]:
    """:func:`check_point` over many values at once (see :func:`check_polygons`)."""
    values = object_array(values)
    geoms, suspect = screen_points(values)
    refused: dict[int, ValidationError] = {}
    for i in np.flatnonzero(suspect).tolist():
        try:
            geoms[i] = check_point(values[i], record=records[i], field=field)
        except ValidationError as exc:
            geoms[i] = None
            refused[i] = exc
    return geoms, refused
