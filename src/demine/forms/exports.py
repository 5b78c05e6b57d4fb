"""Read the submissions of a KoBoToolbox or ODK Central export.

Three layouts, as the servers write them:

- CSV (KoBo: ";"-separated, every value quoted; ODK Central: ","): one row per
  submission, group paths in the headers (``survey/hazard_code``; Central uses
  ``survey-hazard_code``), no repeats;
- XLSX (KoBo): the main sheet first, one sheet per repeat whose rows point at their
  submission through ``_parent_index`` = the main sheet's ``_index``;
- GeoJSON (KoBo): one feature per submission, the form's first geo question as the
  geometry (longitude first) and the answers as properties.

Files are opened through ``demine.io.reading.read_table`` (GDAL), so a file that is
not what its extension says, or a sheet GDAL cannot read, is refused the same way as in
``demine import``. Values come back as plain Python (text, numbers, dates, None) keyed
by the column names of the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
from openpyxl import load_workbook
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError
from demine.io.reading import read_table, refuse

KINDS = {".csv": "CSV", ".xlsx": "XLSX", ".geojson": "GeoJSON", ".json": "GeoJSON"}
#: Where each server keeps the link between a repeat row and its submission.
INDEX, PARENT_INDEX = "_index", "_parent_index"


def _plain(value: Any) -> Any:
    """A cell as plain Python: None for empty, dates as dates, whole floats as ints."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        is_midnight = (value.hour, value.minute, value.second, value.microsecond) == \
            (0, 0, 0, 0)
        return value.date() if is_midnight and value.tzinfo is None else value
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    if isinstance(value, str) and value == "":
        return None
    return value


def _index_columns(columns: list[str]) -> dict[str, str]:
    """Field name -> column: exact names first, then the last part of a group path."""
    index: dict[str, str] = {}
    for column in columns:
        index.setdefault(column, column)
    for column in columns:
        for sep in ("/", "-"):
            if sep in column:
                index.setdefault(column.rsplit(sep, 1)[1], column)
    return index


@dataclass
class Row:
    """One row of a sheet (or one feature), with where it is for messages."""

    file: str
    sheet: str | None
    number: int
    word: str
    values: dict[str, Any]
    columns: dict[str, str]

    @property
    def where(self) -> str:
        sheet = f" sheet {self.sheet}" if self.sheet else ""
        return f"file {self.file}{sheet} {self.word} {self.number}"

    def column(self, name: str) -> str | None:
        """The file's column holding field ``name`` (``survey/area`` for ``area``)."""
        return self.columns.get(name)

    def get(self, name: str) -> Any:
        column = self.columns.get(name)
        return None if column is None else self.values.get(column)

    def ending(self, suffix: str) -> Any:
        """The value of the column named ``suffix`` or ending in ``/suffix``/``-suffix``."""
        for column, value in self.values.items():
            if column == suffix or column.endswith((f"/{suffix}", f"-{suffix}")):
                return value
        return None


@dataclass
class Submission:
    main: Row
    repeats: dict[str, list[Row]] = field(default_factory=dict)
    geometry: BaseGeometry | None = None


@dataclass
class ExportFile:
    """What one export holds, in file order."""

    file: str
    kind: str
    columns: list[str]
    submissions: list[Submission]
    #: repeat sheets found (XLSX only): sheet name -> rows
    sheets: dict[str, list[Row]] = field(default_factory=dict)


def _rows(file: str, sheet: str | None, frame: pd.DataFrame, numbers: list[int], word: str
          ) -> list[Row]:
    columns = [str(c) for c in frame.columns]
    index = _index_columns(columns)
    records = frame.to_dict(orient="records")
    return [Row(file, sheet, n, word, {str(k): _plain(v) for k, v in rec.items()}, index)
            for n, rec in zip(numbers, records, strict=True)]


def _read_sheet(path: Path, sheet: str | None):
    try:
        table, problems = read_table(path, sheet=sheet, geometry_required=False)
    except ValidationError as exc:
        if sheet is None:
            raise
        raise refuse(path.name, f"sheet {sheet}", exc.problem) from exc
    if problems:
        row, column, problem = problems[0]
        raise ValidationError(f"file {path.name} row {row}", column, problem)
    return table


def _xlsx_sheets(path: Path) -> list[str]:
    """The sheets to read, main first; a sheet that holds rows but cannot be read is
    refused by name (GDAL leaves such a sheet out without a word, and with it every
    repeat row it held)."""
    def unreadable(exc: Exception) -> ValidationError:
        return refuse(path.name, "file", f"cannot be read as XLSX (is it what its "
                                         f"extension says?): {exc}")
    try:
        book = load_workbook(path, read_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors alike
        raise unreadable(exc) from exc
    try:
        layers = {str(n) for n in pyogrio.list_layers(str(path))[:, 0]}
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise unreadable(exc) from exc
    sheets = []
    try:
        for name in book.sheetnames:
            if name in layers:
                sheets.append(name)
                continue
            try:
                holds_rows = any(any(v is not None for v in row)
                                 for row in book[name].iter_rows(values_only=True))
            except Exception as exc:  # a damaged sheet: broken XML inside the archive
                raise refuse(path.name, f"sheet {name}", f"cannot be read: {exc}") from exc
            if holds_rows:
                raise refuse(path.name, f"sheet {name}", "cannot be read by GDAL")
    finally:
        book.close()
    if not sheets:
        raise refuse(path.name, "file", "holds no sheet with rows")
    return sheets


def read_export(path: Path | str) -> ExportFile:
    """Read a KoBo/ODK export into submissions (repeats attached for XLSX)."""
    path = Path(path)
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise refuse(path.name, "file", f"unknown extension {path.suffix or '(none)'}; a "
                                        f"form export is one of {', '.join(KINDS)}")
    if kind == "GeoJSON":
        table = _read_sheet(path, None)
        rows = _rows(path.name, None, table.frame, table.rows, "feature")
        geoms = list(table.geometry) if table.geometry is not None else [None] * len(rows)
        subs = [Submission(r, geometry=g) for r, g in zip(rows, geoms, strict=True)]
        return ExportFile(path.name, kind, [str(c) for c in table.frame.columns], subs)
    sheets: list[str | None] = [None]
    if kind == "XLSX" and path.exists():
        sheets = list(_xlsx_sheets(path))
    main_sheet = sheets[0]
    table = _read_sheet(path, main_sheet)
    main = _rows(path.name, None, table.frame, table.rows, "row")
    export = ExportFile(path.name, kind, [str(c) for c in table.frame.columns],
                        [Submission(r) for r in main])
    for sheet in sheets[1:]:
        assert sheet is not None
        repeat = _read_sheet(path, sheet)
        export.sheets[sheet] = _rows(path.name, sheet, repeat.frame, repeat.rows, "row")
    return export


def attach_repeats(export: ExportFile, repeat_names: dict[str, str]) -> None:
    """Give each submission its repeat rows (``repeat_names``: sheet name -> repeat).

    KoBo numbers the main sheet's rows in ``_index`` and points each repeat row at one
    of them with ``_parent_index``; a row pointing nowhere is refused by sheet and row.
    """
    if not export.sheets:
        return
    by_index: dict[Any, Submission] = {}
    for sub in export.submissions:
        if sub.main.column(INDEX) is None:
            raise ValidationError(f"file {export.file}", INDEX,
                                  "missing column: the main sheet must number its rows to "
                                  "link the repeat sheets")
        by_index[_key(sub.main.get(INDEX))] = sub
    for sheet, rows in export.sheets.items():
        repeat = repeat_names.get(sheet)
        if repeat is None:
            continue
        for row in rows:
            if row.column(PARENT_INDEX) is None:
                raise ValidationError(f"file {export.file} sheet {sheet}", PARENT_INDEX,
                                      "missing column: cannot tell which submission each "
                                      "row belongs to")
            parent = by_index.get(_key(row.get(PARENT_INDEX)))
            if parent is None:
                raise ValidationError(row.where, PARENT_INDEX,
                                      f"{row.get(PARENT_INDEX)!r} is no {INDEX} of the main "
                                      "sheet")
            parent.repeats.setdefault(repeat, []).append(row)


def _key(value: Any) -> str:
    value = _plain(value)
    return str(value).strip() if value is not None else ""


def as_date(value: Any) -> date | None:
    """A date from an export cell: a date, a datetime or ISO text (KoBo writes text)."""
    value = _plain(value)
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
