"""Export the whole project (or some layers) to the files the field works with.

``demine export`` writes, through pyogrio/GDAL:

* ``gpkg``: one GeoPackage with every layer (EPSG:4326, spatial index, attribute
  tables as GeoPackage attribute tables) and QGIS default styles in ``layer_styles``,
  so hazard areas open in QGIS in land-release colours;
* ``shp``: a folder with one Shapefile per map layer and a bare ``.dbf`` per attribute
  table; DBF field names are at most 10 characters, so long names are shortened by the
  fixed map :data:`SHP_FIELDS`, written beside the files as ``fields.csv``;
* ``geojson``: a folder with one RFC 7946 file per layer (attribute tables as features
  without geometry; an empty layer has no features and so no field names);
* ``kml``: a folder with one file per map layer (KML has no attribute tables); the
  placemark label is the record's ``name`` (read back by GDAL as ``Name``) or its code;
* ``csv``: a folder with one file per layer (+ ``.csvt`` types), geometry as WKT in ``wkt``
  and its CRS (``EPSG:4326``) in ``crs``, so the file says where it lies and imports
  back without ``--crs``;
* ``xlsx``: one workbook, one sheet per layer, geometry and CRS as in CSV (GDAL writes
  no header row on an empty sheet, so an empty layer reads back without fields).

Files are written to a temporary place beside the target and moved in at the end, so a
failed export never leaves half a file behind. Synthetic data stays labelled: every
layer has a ``synthetic`` column, KML placemarks say ``[SYNTHETIC]`` in their
description, and GeoPackage layer descriptions say so too.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from demine.domain.errors import ValidationError
from demine.io import qgis_styles
from demine.io.layers import LAYERS, LayerDef, read_layer, resolve_layers
from demine.io.reading import CRS_COLUMN, WGS84
from demine.store.repository import Repository

FORMATS: dict[str, str] = {
    "gpkg": "GPKG", "shp": "ESRI Shapefile", "geojson": "GeoJSON", "kml": "KML",
    "csv": "CSV", "xlsx": "XLSX",
}
#: Formats written as one file (the others write a folder of files).
SINGLE_FILE = {"gpkg": ".gpkg", "xlsx": ".xlsx"}
SUFFIX = {"shp": ".shp", "geojson": ".geojson", "kml": ".kml", "csv": ".csv"}
WKT_COLUMN = "wkt"
SYNTHETIC_LABEL = "[SYNTHETIC]"
KML_NAME, KML_DESCRIPTION = "kml_name", "kml_description"

#: demine field name -> Shapefile (DBF) field name for every name longer than 10 chars.
#: Stable on purpose: a user's QGIS project or an importer may rely on these names.
SHP_FIELDS: dict[str, str] = {
    "classification": "classif",
    "declared_classification": "decl_class",
    "eo_suspected": "eo_suspect",
    "eo_confirmed": "eo_confirm",
    "original_m2": "orig_m2",
    "cancelled_m2": "cancel_m2",
    "remaining_m2": "remain_m2",
    "activity_code": "act_code",
    "hazard_code": "haz_code",
    "report_code": "rep_code",
    "blocking_hazards": "block_haz",
    "eo_category": "eo_cat",
    "device_category": "device_cat",
    "accident_date": "acc_date",
    "accident_code": "acc_code",
    "activity_at_time": "act_at_tim",
    "organisation_code": "org_code",
    "planned_start": "plan_start",
    "planned_end": "plan_end",
    "actual_start": "act_start",
    "actual_end": "act_end",
    "suspension_reason": "susp_reas",
    "clearance_depth_mm": "clr_dep_mm",
    "productivity_m2_day": "prod_m2day",
    "working_width_m": "work_wid_m",
    "submitted_at": "submit_at",
    "decision_reason": "dec_reason",
    "inspected_activity_code": "insp_act",
    "sample_units": "samp_units",
    "accept_number": "accept_num",
    "inspected_m2": "insp_m2",
}
SHP_FIELDS_FILE = "fields.csv"
_RECORD = "export"


@dataclass(frozen=True)
class LayerSummary:
    name: str
    features: int
    files: tuple[Path, ...]
    skipped: str | None = None


@dataclass
class ExportSummary:
    """What was written where: shown by the CLI, checked by the tests."""

    format: str
    out: Path
    include_sensitive: bool
    layers: list[LayerSummary] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return sorted({f for layer in self.layers for f in layer.files})

    @property
    def features(self) -> int:
        return sum(layer.features for layer in self.layers)


def check_format(fmt: str) -> str:
    key = str(fmt).strip().lower()
    if key not in FORMATS:
        raise ValidationError(_RECORD, "format",
                              f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    return key


def target_path(out: str | Path, fmt: str) -> Path:
    """Where ``fmt`` goes: a ``.gpkg``/``.xlsx`` file, or a folder for the others."""
    path = Path(out)
    if fmt in SINGLE_FILE:
        suffix = SINGLE_FILE[fmt]
        if path.suffix.lower() != suffix:
            if path.suffix:
                raise ValidationError(
                    str(path), "file name", f"a {fmt} export must end in {suffix}")
            path = path.with_suffix(suffix)
        if path.is_dir():
            raise ValidationError(str(path), "file name", "is a folder; give a file name")
        return path
    if path.exists() and not path.is_dir():
        raise ValidationError(str(path), "folder",
                              f"is a file; a {fmt} export writes a folder of files")
    return path


def export_project(repo: Repository, out: str | Path, fmt: str,
                   layers: Sequence[str] | None = None, *,
                   include_sensitive: bool = False) -> ExportSummary:
    """Write the project's layers to ``out`` in ``fmt``; return what was written.

    ``layers`` picks layers by name (default: all of :data:`LAYERS`); unknown names and
    formats are refused before anything is read. Victims' and accidents' personal data
    are left out unless ``include_sensitive`` is set.
    """
    key = check_format(fmt)
    defs = resolve_layers(layers)
    target = target_path(out, key)
    with repo.reader() as uow:
        frames = {d.name: read_layer(uow.conn, d, include_sensitive=include_sensitive)
                  for d in defs}
    summary = ExportSummary(key, target, include_sensitive)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".demine-export-", dir=target.parent) as tmp:
        staging = Path(tmp) / target.name
        if key in SINGLE_FILE:
            written = _write_single(key, staging, defs, frames)
        else:
            staging.mkdir()
            written = _write_folder(key, staging, defs, frames)
        _move_into_place(staging, target, key in SINGLE_FILE)
    for d in defs:
        files, skipped = written[d.name]
        where = tuple(target if key in SINGLE_FILE else target / f.name for f in files)
        summary.layers.append(LayerSummary(d.name, len(frames[d.name]), where, skipped))
    return summary


Written = dict[str, tuple[list[Path], str | None]]


def _move_into_place(staging: Path, target: Path, single: bool) -> None:
    if single:
        staging.replace(target)
        return
    target.mkdir(parents=True, exist_ok=True)
    for item in staging.iterdir():
        item.replace(target / item.name)


def _description(layer: LayerDef, frame: pd.DataFrame) -> str:
    if len(frame) and frame["synthetic"].fillna(False).any():
        return f"{layer.title} {SYNTHETIC_LABEL} contains synthetic data, not for operations"
    return layer.title


def _write(frame: pd.DataFrame, path: Path, driver: str, layer: LayerDef, *,
           geometry_type: str | None = None, **options: object) -> None:
    pyogrio.write_dataframe(frame, path, layer=layer.name, driver=driver,
                            geometry_type=geometry_type, **options)


def _geometry_type(layer: LayerDef, frame: gpd.GeoDataFrame) -> str:
    """Multi-part when any feature is, so one layer has one geometry type."""
    assert layer.geometry is not None
    types = set(frame.geometry.geom_type.dropna())
    return f"Multi{layer.geometry}" if any(t.startswith("Multi") for t in types) else (
        layer.geometry)


def _promote(layer: LayerDef, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if _geometry_type(layer, frame).startswith("Multi"):
        frame = frame.copy()
        frame["geometry"] = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else
                             shapely.MultiLineString([g]) if g.geom_type == "LineString" else
                             shapely.MultiPoint([g]) if g.geom_type == "Point" else g
                             for g in frame.geometry]
    return frame


def _with_wkt(layer: LayerDef, frame: pd.DataFrame) -> pd.DataFrame:
    """Attribute copy of a layer with its geometry as full-precision WKT text, and the
    CRS of that text in a ``crs`` column (a text format has nowhere else to say it)."""
    if not layer.spatial:
        return frame
    plain = pd.DataFrame(frame.drop(columns="geometry"))
    plain[WKT_COLUMN] = pd.array(
        shapely.to_wkt(frame.geometry.values, rounding_precision=-1), dtype="string")
    plain[CRS_COLUMN] = pd.array([WGS84] * len(plain), dtype="string")
    return plain


def _write_single(key: str, path: Path, defs: list[LayerDef],
                  frames: dict[str, pd.DataFrame]) -> Written:
    written: Written = {}
    for d in defs:
        frame = frames[d.name]
        if key == "gpkg":
            options = {"layer_options": {"DESCRIPTION": _description(d, frame),
                                         "IDENTIFIER": d.name}}
            if d.spatial:
                _write(_promote(d, frame), path, "GPKG", d,
                       geometry_type=_geometry_type(d, frame),
                       layer_options={**options["layer_options"], "SPATIAL_INDEX": "YES"})
            else:
                _write(frame, path, "GPKG", d, **options)
        else:
            _write(_with_wkt(d, frame), path, "XLSX", d)
        written[d.name] = ([path], None)
    if key == "gpkg":
        qgis_styles.write_layer_styles(path, [d.name for d in defs])
    return written


def _write_folder(key: str, folder: Path, defs: list[LayerDef],
                  frames: dict[str, pd.DataFrame]) -> Written:
    written: Written = {}
    for d in defs:
        frame = frames[d.name]
        path = folder / f"{d.name}{SUFFIX[key]}"
        if key == "kml":
            if not d.spatial:
                written[d.name] = ([], "KML holds map layers only")
                continue
            name_field = "name" if "name" in frame.columns else KML_NAME
            _write(_kml_frame(frame), path, "KML", d, dataset_options={
                "NameField": name_field, "DescriptionField": KML_DESCRIPTION})
        elif key == "geojson":
            if d.spatial:
                # 9 decimals (0.1 mm): RFC 7946's default of 7 can merge close vertices.
                _write(frame, path, "GeoJSON", d,
                       layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "9"})
            else:
                _write(frame, path, "GeoJSON", d)
        elif key == "csv":
            _write(_with_wkt(d, frame), path, "CSV", d, layer_options={"CREATE_CSVT": "YES"})
        else:
            _write_shapefile(folder, d, frame)
        written[d.name] = (sorted(folder.glob(f"{d.name}.*")), None)
    if key == "shp":
        _write_shp_fields(folder / SHP_FIELDS_FILE, defs, frames)
        for files, _ in written.values():
            files.append(folder / SHP_FIELDS_FILE)
    return written


def _kml_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Placemark label = the record's name, else its code; description flags synthetic.

    GDAL's KML readers give the placemark label back as ``Name``: a layer's own ``name``
    column is used as the label rather than written twice (it would read back as
    ``Name2``).
    """
    out = frame.copy()
    if "name" not in frame.columns:
        labels = frame["code"] if "code" in frame.columns else pd.Series(
            [None] * len(frame), index=frame.index, dtype="string")
        out.insert(0, KML_NAME, labels.astype("string"))
    out.insert(1, KML_DESCRIPTION, pd.array(
        [f"{SYNTHETIC_LABEL} synthetic data, not for operational use" if syn else ""
         for syn in frame["synthetic"].fillna(False)], dtype="string"))
    return out


def shp_field(name: str) -> str:
    """The DBF field name of a demine field (itself when it fits in 10 characters)."""
    short = SHP_FIELDS.get(name, name)
    if len(short) > 10:
        raise ValidationError(_RECORD, name, "has no Shapefile abbreviation (DBF: 10 chars)")
    return short


def _write_shapefile(folder: Path, layer: LayerDef, frame: pd.DataFrame) -> None:
    renamed = frame.rename(columns={c: shp_field(c) for c in frame.columns if c != "geometry"})
    if layer.spatial:
        path = folder / f"{layer.name}.shp"
        _write(_promote(layer, renamed), path, "ESRI Shapefile", layer,
               geometry_type=_geometry_type(layer, frame), encoding="UTF-8")
    else:
        _write(renamed, folder / f"{layer.name}.dbf", "ESRI Shapefile", layer,
               encoding="UTF-8")


def _write_shp_fields(path: Path, defs: list[LayerDef],
                      frames: dict[str, pd.DataFrame]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["layer", "field", "shp_field"])
        for d in defs:
            for column in frames[d.name].columns:
                if column != "geometry":
                    writer.writerow([d.name, column, shp_field(column)])


def read_shp_fields(path: str | Path) -> dict[str, dict[str, str]]:
    """``fields.csv`` back as layer -> {shp_field: demine field}: what the importer needs."""
    mapping: dict[str, dict[str, str]] = {}
    with Path(path).open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            mapping.setdefault(row["layer"], {})[row["shp_field"]] = row["field"]
    return mapping


__all__ = [
    "FORMATS", "LAYERS", "SHP_FIELDS", "ExportSummary", "LayerSummary", "export_project",
    "read_shp_fields", "shp_field"
]
