"""WGS84 for storage, a metric projection for every length and area.

Areas in degrees are meaningless and differ with latitude; the accounting identity
of land release only holds when every term is measured on the same metric plane.
The plane is the UTM zone of the project's centroid unless a project configures
another projected CRS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

WGS84 = "EPSG:4326"
#: About 11 m along a meridian: short enough that projected chords match to < 1 mm.
ACCOUNTING_SEGMENT_DEG = 1e-4


def utm_crs_for(lon: float, lat: float) -> str:
    """The UTM zone (WGS84 datum) that holds a point, as an EPSG code."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"({lon}, {lat}) is not a WGS84 longitude/latitude")
    zone = min(math.floor((lon + 180.0) / 6.0) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@dataclass(frozen=True)
class MetricFrame:
    """Projection between stored WGS84 coordinates and the project's metric plane."""

    crs: str

    def __post_init__(self) -> None:
        _check_metric(self.crs)

    @classmethod
    def for_centroid(cls, lon: float, lat: float) -> MetricFrame:
        return cls(utm_crs_for(lon, lat))

    @cached_property
    def epsg(self) -> int:
        return _epsg(self.crs)

    @cached_property
    def _forward(self) -> Transformer:
        return _transformer(WGS84, self.crs)

    @cached_property
    def _inverse(self) -> Transformer:
        return _transformer(self.crs, WGS84)

    def to_metric(self, geom):
        """Project a geometry or an array of geometries from WGS84 to metres."""
        return _apply(self._forward, geom)

    def to_metric_exact(self, geom, max_segment_deg: float = ACCOUNTING_SEGMENT_DEG):
        """Project with edges densified first: for area accounting, not for search.

        A GeoJSON edge is straight in longitude/latitude, and projects to a slight
        curve. An outcome drawn with a vertex in the middle of a hazard's edge follows
        that curve while the hazard's own two-vertex edge cuts its chord, leaving a
        sliver of "remaining" land (metres wide on a 2 km edge) that would keep a
        fully cleared hazard open. Densifying both the same way makes their shared
        edges coincide to well under a square metre.
        """
        return _apply(self._forward, shapely.segmentize(geom, max_segment_deg))

    def to_wgs84(self, geom):
        return _apply(self._inverse, geom)

    def area_m2(self, geom: BaseGeometry | None) -> float:
        if geom is None or geom.is_empty:
            return 0.0
        return float(self.to_metric_exact(geom).area)


# A frame is made per unit of work (from the stored settings), and a record's geometries
# are projected many times in one approval: parsing the CRS and building the PROJ
# pipeline once per process instead of per call saves ~0.3 ms per use. pyproj's CRS and
# Transformer objects are thread-safe (pyproj >= 3.1), so the server's threads share them.

@lru_cache(maxsize=64)
def _check_metric(crs: str) -> None:
    parsed = CRS.from_user_input(crs)
    if not parsed.is_projected:
        raise ValueError(f"metric CRS {crs!r} is not a projected CRS")
    unit = parsed.axis_info[0].unit_name if parsed.axis_info else ""
    if unit not in ("metre", "meter"):
        raise ValueError(f"metric CRS {crs!r} is in {unit!r}, not metres")


@lru_cache(maxsize=64)
def _epsg(crs: str) -> int:
    code = CRS.from_user_input(crs).to_epsg()
    if code is None:
        raise ValueError(f"metric CRS {crs!r} has no EPSG code")
    return code


@lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def _apply(transformer: Transformer, geom):
    def project(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return transformer.transform(x, y)

    return shapely.transform(geom, lambda xy: np.column_stack(project(xy[:, 0], xy[:, 1])))
