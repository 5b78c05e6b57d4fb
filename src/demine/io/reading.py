"""Open the field's files through GDAL (pyogrio) and hand back WGS84 rows.

One function reads GeoPackage, Shapefile (also zipped, and a bare ``.dbf`` attribute
table), GeoJSON, KML/KMZ, CSV and XLSX, so that every import sees the same thing: a
table of text/number columns, a geometry per row in lon/lat, and the row number a person
would look for in the file. Files whose coordinates cannot be placed (no CRS, a
shapefile without its .prj) are refused unless the user names the CRS: guessing puts
hazards on the wrong continent. A CSV or XLSX declares its CRS the way demine's export
writes it, in a ``crs`` column (``EPSG:4326``), or by naming its coordinate columns
lon/lat.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from demine.domain.errors import ValidationError

WGS84 = "EPSG:4326"

#: Extension -> (format name for messages, tabular: geometry from columns, not GDAL).
FORMATS: dict[str, tuple[str, bool]] = {
    ".gpkg": ("GeoPackage", False), ".shp": ("Shapefile", False), ".zip": ("zipped Shapefile",
                                                                           False),
    ".geojson": ("GeoJSON", False), ".json": ("GeoJSON", False), ".kml": ("KML", False),
    ".kmz": ("KMZ", False), ".csv": ("CSV", True), ".xlsx": ("XLSX", True),
    ".dbf": ("dBASE table", False),
}
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom")
LON_COLUMNS = ("lon", "longitude", "long", "lng", "x")
LAT_COLUMNS = ("lat", "latitude", "y")
#: Column names that say the numbers are degrees: such a table is WGS84 without --crs.
_DEGREE_NAMES = {"lon", "longitude", "long", "lng", "lat", "latitude"}
#: The column in which a CSV or XLSX names the CRS of its geometry (demine's export
#: writes ``EPSG:4326`` on every row): text formats have no other place for it.
CRS_COLUMN = "crs"


@dataclass
class Table:
    """What a file holds, ready for mapping: attributes, WGS84 geometry, row numbers."""

    file: str
    frame: pd.DataFrame
    geometry: np.ndarray | None
    rows: list[int]
    row_word: str
    source_crs: str | None


def refuse(file: str, field: str, problem: str) -> ValidationError:
    return ValidationError(f"file {file}", field, problem)


def _parse_crs(value: str, file: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise refuse(file, "crs", f"{value!r} is not a CRS pyproj knows: {exc}") from exc


def _source(path: Path) -> tuple[str, bool]:
    """(GDAL path, shapefile lacks .prj): a zipped shapefile or KMZ is read in the archive."""
    suffix = path.suffix.lower()
    if suffix == ".shp":
        return str(path), not any(path.with_suffix(s).exists() for s in (".prj", ".PRJ"))
    if suffix not in (".zip", ".kmz"):
        return str(path), False
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise refuse(path.name, "file", f"is not a zip archive, as its extension "
                                        f"{suffix} says") from exc
    if suffix == ".kmz":
        kml = [n for n in names if n.lower().endswith(".kml")]
        if not kml:
            raise refuse(path.name, "file", "KMZ holds no .kml document")
        return f"/vsizip/{path}/{kml[0]}", False
    shp = [n for n in names if n.lower().endswith(".shp")]
    if len(shp) != 1:
        raise refuse(path.name, "file", f"zip must hold exactly one .shp, holds {len(shp)}")
    prj = f"{shp[0][:-4]}.prj".lower()
    return f"/vsizip/{path}/{shp[0]}", not any(n.lower() == prj for n in names)


def source_of(path: Path) -> str:
    """The GDAL path that reads ``path`` (inside a zip or KMZ when it is one)."""
    return _source(path)[0]


def _read(source: str, path: Path, tabular: bool, kind: str, layer: str | None
          ) -> pd.DataFrame:
    try:
        options = {"HEADERS": "FORCE", "FIELD_TYPES": "AUTO"} if kind == "XLSX" else {}
        return pyogrio.read_dataframe(source, layer=layer, read_geometry=not tabular,
                                      **options)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ValueError
        raise refuse(path.name, "file", f"cannot be read as {kind} (is it what its extension "
                                        f"says?): {exc}") from exc


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _tabular_geometry(frame: pd.DataFrame, file: str, first_row: int
                      ) -> tuple[np.ndarray | None, bool, list[tuple[int, str, str]]]:
    """Geometry from a WKT column or lon/lat columns: (geoms, degrees by name, problems)."""
    problems: list[tuple[int, str, str]] = []
    wkt = _column(frame, WKT_COLUMNS)
    if wkt is not None:
        geoms = np.full(len(frame), None, dtype=object)
        for i, text in enumerate(frame[wkt].tolist()):
            if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text):
                continue
            try:
                geoms[i] = shapely.from_wkt(str(text))
            except shapely.errors.ShapelyError as exc:
                problems.append((first_row + i, str(wkt), f"not readable WKT: {exc}"))
        return geoms, False, problems
    lon, lat = _column(frame, LON_COLUMNS), _column(frame, LAT_COLUMNS)
    if lon is None or lat is None:
        return None, False, problems
    xs = pd.to_numeric(frame[lon], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(frame[lat], errors="coerce").to_numpy(dtype=float)
    geoms = np.full(len(frame), None, dtype=object)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if np.isnan(x) or np.isnan(y):
            bad = lon if np.isnan(x) else lat
            problems.append((first_row + i, str(bad),
                             f"{frame[bad].iloc[i]!r} is not a number"))
        else:
            geoms[i] = shapely.Point(x, y)
    degrees = str(lon).strip().lower() in _DEGREE_NAMES and \
        str(lat).strip().lower() in _DEGREE_NAMES
    return geoms, degrees, problems


def _declared_crs(frame: pd.DataFrame, file: str, first_row: int) -> CRS | None:
    """The CRS a table names in its ``crs`` column: one value for every row with one."""
    column = _column(frame, (CRS_COLUMN,))
    if column is None:
        return None
    named: dict[str, int] = {}
    for i, value in enumerate(frame[column].tolist()):
        if value is not None and not (isinstance(value, float) and np.isnan(value)) and \
                str(value).strip():
            named.setdefault(str(value).strip(), first_row + i)
    if not named:
        return None
    if len(named) > 1:
        rows = ", ".join(f"{v!r} (row {r})" for v, r in list(named.items())[:3])
        raise refuse(file, str(column), f"rows name different CRSs: {rows}; split the file "
                                        "by CRS, or give the CRS with --crs")
    return _parse_crs(next(iter(named)), file)


def _pick_layer(source: str, file: str, prefer: tuple[str, ...]) -> str | None:
    """The layer to read from a multi-layer file (a project GeoPackage or workbook, a KML
    with folders): one named like the demine layer, else the only one, else refuse."""
    try:
        names = [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    except Exception:  # unreadable files are reported by _read with its own message
        return None
    if len(names) <= 1:
        return None
    for wanted in prefer:
        for name in names:
            if name.lower() == wanted.lower():
                return name
    raise refuse(file, "layer", f"has {len(names)} layers ({', '.join(names)}) and none is "
                                f"named {' or '.join(prefer) or 'like the demine layer'}; "
                                "rename the layer or save it as its own file")


def read_table(path: Path | str, *, crs: str | None = None, sheet: str | None = None,
               geometry_required: bool = True, prefer_layers: tuple[str, ...] = ()
               ) -> tuple[Table, list[tuple[int, str, str]]]:
    """Read ``path`` into a :class:`Table` in WGS84, and row problems (row, field, problem).

    ``crs`` names the CRS of a file that declares none (and overrides a wrong one).
    CSV and XLSX rows are numbered as a spreadsheet shows them (the header is row 1);
    features of other formats from 1 in file order.
    """
    path = Path(path)
    file = path.name
    if not path.exists():
        raise refuse(file, "file", "does not exist")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise refuse(file, "file", f"unknown extension {suffix or '(none)'}; expected one of "
                                   f"{', '.join(FORMATS)}")
    kind, tabular = FORMATS[suffix]
    source, no_prj = _source(path)
    if no_prj and crs is None:
        raise refuse(file, "crs", "shapefile without .prj: its coordinates cannot be placed; "
                                  "give the CRS with --crs (e.g. --crs EPSG:32636)")
    if sheet is None and (not tabular or kind == "XLSX"):
        sheet = _pick_layer(source, file, prefer_layers)
    frame = _read(source, path, tabular, kind, sheet)
    if tabular and len(frame.columns) == 0:
        raise refuse(file, "file", "has no columns (an empty sheet?)")
    first_row = 2 if tabular else 1
    rows = list(range(first_row, first_row + len(frame)))
    problems: list[tuple[int, str, str]] = []
    declared: CRS | None = None
    if tabular:
        geoms, degrees, problems = _tabular_geometry(frame, file, first_row)
        if degrees:
            declared = CRS.from_user_input(WGS84)
        if geoms is not None and crs is None:
            declared = _declared_crs(frame, file, first_row) or declared
        if geoms is None and geometry_required:
            raise refuse(file, "geometry", "no geometry: expected a WKT column (WKT, geometry) "
                                           "or lon/lat columns (lon/lat, longitude/latitude, x/y)")
    elif not isinstance(frame, gpd.GeoDataFrame):  # an attribute table (GeoPackage, .dbf)
        if geometry_required:
            raise refuse(file, "geometry", "the layer has no geometry")
        geoms = None
    else:
        gdf: gpd.GeoDataFrame = frame
        declared = gdf.crs
        geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    source_crs = _parse_crs(crs, file) if crs is not None else declared
    if geoms is not None and source_crs is None and len(frame):
        raise refuse(file, "crs", f"the {kind} file declares no CRS; give it with --crs "
                                  "(e.g. --crs EPSG:4326)")
    if geoms is not None and source_crs is not None and not source_crs.equals(WGS84):
        present = np.array([g is not None for g in geoms], dtype=bool)
        series = gpd.GeoSeries(list(geoms[present]), crs=source_crs).to_crs(WGS84)
        geoms = geoms.copy()
        geoms[present] = series.to_numpy()
    frame = frame.reset_index(drop=True)
    return Table(file=file, frame=frame, geometry=geoms, rows=rows,
                 row_word="row" if tabular else "feature",
                 source_crs=source_crs.to_string() if source_crs is not None else None), problems


def companion(path: Path, name: str) -> tuple[str, str, str | None] | None:
    """Where the layer ``name`` that goes with ``path`` is: (GDAL source, label, layer).

    demine's export writes some records in two layers (accidents and their victims,
    settlements and their footprints): in the same GeoPackage or workbook, or as files
    side by side in the export's folder (``victims.geojson`` beside
    ``accidents.geojson``; a Shapefile's attribute table as ``victims.dbf``). None when
    there is no such layer.
    """
    source = source_of(path)
    try:
        names = [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    except Exception:  # unreadable: the main layer was read already, with its own message
        names = []
    layer = next((n for n in names if n.strip().lower() == name), None)
    if layer is not None:
        return source, f"{path.name}:{layer}", layer
    suffix = path.suffix.lower()
    if suffix in (".gpkg", ".xlsx", ".zip", ".kmz") or path.stem.lower() == name:
        return None
    for candidate in (path.with_name(f"{name}{path.suffix}"), path.with_name(f"{name}.dbf")):
        if candidate.exists() and (candidate.suffix.lower() == suffix or suffix == ".shp"):
            return str(candidate), candidate.name, None
    return None
