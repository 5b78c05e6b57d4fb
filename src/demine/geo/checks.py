"""The field's geocheck rules, applied before anything reaches the record.

A polygon that is invalid, degenerate or has a vertex typed 50 km off poisons every
area sum and every closure test after it; it is cheaper to refuse it at the door with
the record and field named than to find it in a donor report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError

MAX_VERTEX_SPACING_M = 5_000.0
_GEOD = Geod(ellps="WGS84")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
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
