"""ODK's geometry strings: "lat lon alt acc" points, ";"-separated shapes.

ODK and KoBo write latitude first, GeoJSON and shapely longitude first: the swap
happens here and nowhere else. Each result then goes through the field's geocheck
rules (``demine.geo.checks``), so a form-drawn polygon meets the same bar as one from a
GeoPackage.
"""

from __future__ import annotations

import math

import numpy as np
from shapely.geometry import Point, Polygon

from demine.domain.errors import ValidationError
from demine.geo.checks import check_point, check_polygon


def _vertex(text: str, *, record: str, field: str, index: int | None) -> tuple[float, float]:
    where = f"point {index}: " if index is not None else ""
    parts = text.split()
    if not 2 <= len(parts) <= 4:
        raise ValidationError(record, field, f"{where}{text!r} is not 'lat lon [alt [acc]]'")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise ValidationError(record, field,
                              f"{where}{text!r} holds a coordinate that is not a number") from exc
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValidationError(record, field, f"{where}{text!r} is not a finite coordinate")
    if abs(lat) > 90:
        raise ValidationError(record, field, f"{where}latitude {lat} is outside -90..90: "
                                             "latitude and longitude swapped?")
    return lon, lat


def parse_geopoint(text: str, *, record: str, field: str) -> Point:
    """A geopoint answer ("lat lon alt acc") as a WGS84 point."""
    lon, lat = _vertex(str(text).strip(), record=record, field=field, index=None)
    return check_point(Point(lon, lat), record=record, field=field)


def parse_geoshape(text: str, *, record: str, field: str) -> Polygon:
    """A geoshape answer ("lat lon alt acc;lat lon alt acc;...") as a WGS84 polygon.

    The ring is closed if the export left it open; fewer than 3 distinct points is not
    an area and is refused here, with the count, before shapely is asked to build it.
    """
    pieces = [p.strip() for p in str(text).split(";") if p.strip()]
    ring = [_vertex(p, record=record, field=field, index=i)
            for i, p in enumerate(pieces, start=1)]
    distinct = len(np.unique(np.round(np.asarray(ring, dtype=float).reshape(-1, 2), 9),
                             axis=0)) if ring else 0
    if distinct < 3:
        raise ValidationError(record, field, f"a geoshape needs at least 3 distinct points, "
                                             f"this one has {distinct}")
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return check_polygon(Polygon(ring), record=record, field=field)
