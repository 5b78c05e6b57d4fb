"""Write field features to GeoJSON, GPX and KML for GIS desktops and hand-held GPS units.

Field offices live in QGIS, Google Earth and GPS receivers; each wants a different
file, and each file format has its own limits:

* GeoJSON is written to RFC 7946 (WGS84, right-hand winding, 7 decimals ≈ 1 cm), the
  form every web map and QGIS reads.
* GPX only knows waypoints, routes and tracks with a fixed set of fields. Points become
  waypoints; lines and polygon boundaries become tracks (one closed track segment per
  ring), because a GPS shows a boundary as a track it can follow. The feature's name
  goes to ``<name>``, its description and a readable ``key=value`` summary of the other
  properties to ``<desc>`` (what a GPS shows), and every other property also to
  ``<extensions>`` (GDAL's GPX_USE_EXTENSIONS), read back by
  GDAL as ``ogr_<key>`` fields. GDAL writes one GPX layer per file, so waypoints and
  tracks are written separately and merged into one document.
* KML carries the name and description in the placemark and the other properties in
  ``ExtendedData``.

Geometries come in the project's metric frame and are projected to WGS84 here, so
callers never hand degrees to a function that measures.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError
from demine.geo.crs import WGS84, MetricFrame

#: Format name -> GDAL driver.
DRIVERS = {"geojson": "GeoJSON", "gpx": "GPX", "kml": "KML"}
SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpx": "gpx", ".kml": "kml"}
SYNTHETIC_FIELD = "synthetic"
SYNTHETIC_LABEL = "[SYNTHETIC]"
#: GPX 1.1 element names of waypoints and tracks: a property with one of these names
#: would be written as that element (``time`` must be a timestamp, ``ele`` a number),
#: so it goes to the extensions as ``prop_<name>`` instead.
GPX_RESERVED = frozenset({
    "name", "cmt", "desc", "src", "link", "sym", "type", "ele", "time", "magvar",
    "geoidheight", "fix", "sat", "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid", "number",
})
_GPX_NS = "http://www.topografix.com/GPX/1/1"
_RECORD = "export"


@dataclass(frozen=True)
class ExportFeature:
    """A metric geometry with its properties, as it will appear in the file."""

    geometry: BaseGeometry
    properties: Mapping[str, Any] = field(default_factory=dict)


def export_format(path: str | Path, fmt: str | None = None) -> str:
    """The format to write: ``fmt`` if given, else from the file suffix."""
    if fmt is not None:
        key = str(fmt).strip().lower()
        if key not in DRIVERS:
            raise ValidationError(
                _RECORD, "format",
                f"unknown export format {fmt!r}; supported: {', '.join(sorted(DRIVERS))}",
            )
        return key
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValidationError(
            _RECORD, "format",
            f"cannot tell the format from the file name {Path(path).name!r}; use one of "
            f"{', '.join(sorted(SUFFIXES))} or pass the format explicitly",
        )
    return SUFFIXES[suffix]


def export_features(
    features: Iterable[ExportFeature],
    path: str | Path,
    frame: MetricFrame,
    *,
    fmt: str | None = None,
    layer: str | None = None,
    synthetic: bool = False,
    name_field: str = "name",
    description_field: str = "description",
) -> Path:
    """Project ``features`` from ``frame`` to WGS84 and write them to ``path``.

    ``synthetic=True`` adds ``synthetic: true`` to every feature and, in KML and GPX,
    starts the text a person sees in Google Earth or on a GPS (the description) with
    ``[SYNTHETIC]``, so that
    exercise data cannot be mistaken for a survey once the file leaves the system.
    ``name_field`` / ``description_field`` name the properties shown as the placemark or
    waypoint label and description. ``layer`` names the GeoJSON/KML layer (default: the
    file stem); GPX layer names are fixed by the format. An existing file is replaced.
    """
    kind = export_format(path, fmt)
    target = Path(path)
    items = list(features)
    if not items:
        raise ValidationError(_RECORD, "features", "no features to export")
    geoms = _to_wgs84(items, frame)
    props = [_properties(i, f, synthetic) for i, f in enumerate(items)]
    layer_name = layer or target.stem or "features"
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "gpx":
        _write_gpx(target, geoms, props, name_field, description_field, synthetic)
    else:
        if synthetic and kind == "kml":
            for p in props:
                p[description_field] = _label(p.get(description_field))
        frame_ = _frame(geoms, props)
        options = {"RFC7946": "YES"} if kind == "geojson" else {}
        dataset_options = (
            {"NameField": name_field, "DescriptionField": description_field}
            if kind == "kml" else {}
        )
        pyogrio.write_dataframe(
            frame_, target, driver=DRIVERS[kind], layer=layer_name,
            layer_options=options, dataset_options=dataset_options,
        )
    return target


def _to_wgs84(items: Sequence[ExportFeature], frame: MetricFrame) -> list[BaseGeometry]:
    allowed = (Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon)
    for index, item in enumerate(items):
        geom = getattr(item, "geometry", None)
        if not isinstance(geom, allowed):
            raise ValidationError(
                f"feature {index}", "geometry",
                f"must be a point, line or polygon geometry, got {type(geom).__name__}",
            )
        if geom.is_empty:
            raise ValidationError(f"feature {index}", "geometry", "is empty")
    projected = frame.to_wgs84(np.array([item.geometry for item in items], dtype=object))
    for index, geom in enumerate(projected):
        xy = shapely.get_coordinates(geom)
        if not np.isfinite(xy).all() or (np.abs(xy[:, 0]) > 180).any() or (
            np.abs(xy[:, 1]) > 90
        ).any():
            raise ValidationError(
                f"feature {index}", "geometry",
                f"does not project to WGS84 from {frame.crs}; is it in that metric frame?",
            )
    return list(projected)


def _properties(index: int, item: ExportFeature, synthetic: bool) -> dict[str, Any]:
    props = dict(item.properties or {})
    for key in props:
        if not isinstance(key, str) or not key.strip():
            raise ValidationError(f"feature {index}", "properties", f"bad property name {key!r}")
        if key.lower() == "geometry":
            raise ValidationError(
                f"feature {index}", "properties", "'geometry' is reserved; rename the property"
            )
    if synthetic:
        props[SYNTHETIC_FIELD] = True
    return props


def _label(text: Any) -> str:
    if text is None or (isinstance(text, float) and math.isnan(text)) or str(text) == "":
        return f"{SYNTHETIC_LABEL} synthetic data, not for operational use"
    return f"{SYNTHETIC_LABEL} {text}"


def _column(values: list[Any]) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """One typed column: a file field has one type, Python dicts have any mix."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if present and all(isinstance(v, bool | np.bool_) for v in present):
        return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    if present and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in present
    ):
        ints = [None if v is None else int(v) for v in values]
        # 32-bit where it fits: GDAL's KML driver writes 64-bit integers as strings.
        small = all(v is None or -(2**31) <= v < 2**31 for v in ints)
        return pd.array(ints, dtype="Int32" if small else "Int64")
    if present and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in present
    ):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return np.array([None if v is None else _text(v) for v in values], dtype=object)


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _frame(geoms: list[BaseGeometry], props: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    keys = list(dict.fromkeys(k for p in props for k in p))
    data = {k: _column([p.get(k) for p in props]) for k in keys}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84)


def _write_gpx(
    target: Path,
    geoms: list[BaseGeometry],
    props: list[dict[str, Any]],
    name_field: str,
    description_field: str,
    synthetic: bool,
) -> None:
    points: list[tuple[BaseGeometry, dict[str, Any]]] = []
    tracks: list[tuple[BaseGeometry, dict[str, Any]]] = []
    for index, (geom, p) in enumerate(zip(geoms, props, strict=True)):
        fields = _gpx_fields(index, p, name_field, description_field, synthetic)
        if isinstance(geom, Point):
            points.append((geom, fields))
        elif isinstance(geom, MultiPoint):
            points.extend((part, fields) for part in geom.geoms)
        else:
            tracks.append((_as_track(geom), fields))
    with tempfile.TemporaryDirectory(prefix="demine-gpx-") as tmp:
        parts: list[Path] = []
        for layer, rows, geometry_type in (
            ("waypoints", points, "Point"), ("tracks", tracks, "MultiLineString")
        ):
            if not rows:
                continue
            part = Path(tmp) / f"{layer}.gpx"
            pyogrio.write_dataframe(
                _frame([g for g, _ in rows], [f for _, f in rows]), part, driver="GPX",
                layer=layer, geometry_type=geometry_type,
                dataset_options={"GPX_USE_EXTENSIONS": "YES"},
            )
            parts.append(part)
        if len(parts) == 1:
            shutil.copyfile(parts[0], target)
        else:
            _merge_gpx(parts[0], parts[1], target)


def _gpx_fields(
    index: int, props: dict[str, Any], name_field: str, description_field: str, synthetic: bool
) -> dict[str, Any]:
    name = props.get(name_field)
    summary = "; ".join(
        f"{k}={_text(v)}" for k, v in props.items()
        if k not in (name_field, description_field, SYNTHETIC_FIELD) and v is not None
    )
    text = props.get(description_field)
    desc = " | ".join(str(t) for t in (text, summary) if t not in (None, ""))
    fields: dict[str, Any] = {
        "name": _text(name) if name is not None else f"feature {index + 1}",
        "desc": _label(desc) if synthetic else (desc or None),
    }
    for key, value in props.items():
        if key in (name_field, description_field):
            continue
        tag = _xml_name(key)
        tag = f"prop_{tag}" if tag.lower() in GPX_RESERVED else tag
        if tag in fields:
            raise ValidationError(
                f"feature {index}", "properties",
                f"property {key!r} collides with another as GPX field {tag!r}",
            )
        fields[tag] = value
    return fields


def _xml_name(key: str) -> str:
    """A property name made safe as a GPX extension element name."""
    tag = "".join(c if c.isascii() and (c.isalnum() or c in "_-.") else "_" for c in key)
    return tag if tag[0].isalpha() or tag[0] == "_" else f"_{tag}"


def _as_track(geom: BaseGeometry) -> MultiLineString:
    if isinstance(geom, LineString):
        return MultiLineString([geom])
    if isinstance(geom, MultiLineString):
        return geom
    polygons = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    rings = [ring for p in polygons for ring in (p.exterior, *p.interiors)]
    return MultiLineString([LineString(r.coords) for r in rings])


def _merge_gpx(waypoints: Path, tracks: Path, target: Path) -> None:
    """Put the waypoints of one GDAL GPX file before the tracks of another.

    GPX 1.1 orders ``wpt`` before ``rte`` and ``trk``; the metadata bounds become the
    union of both files' bounds.
    """
    ET.register_namespace("", _GPX_NS)
    ET.register_namespace("ogr", "http://osgeo.org/gdal")
    ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
    wpt_root = ET.parse(waypoints).getroot()
    tree = ET.parse(tracks)
    root = tree.getroot()
    ns = {"g": _GPX_NS}
    wpts = wpt_root.findall("g:wpt", ns)
    first_trk = next(i for i, child in enumerate(root) if child.tag == f"{{{_GPX_NS}}}trk")
    for offset, wpt in enumerate(wpts):
        root.insert(first_trk + offset, wpt)
    bounds = [r.find("g:metadata/g:bounds", ns) for r in (root, wpt_root)]
    if all(b is not None for b in bounds):
        merged, other = bounds
        for attr, pick in (("minlat", min), ("minlon", min), ("maxlat", max), ("maxlon", max)):
            merged.set(attr, repr(pick(float(merged.get(attr)), float(other.get(attr)))))
    tree.write(target, encoding="utf-8", xml_declaration=True)
