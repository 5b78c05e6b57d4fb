"""Read the submissions of a KoBoToolbox or ODK Central export.

Four layouts, as the servers write them:

- CSV (KoBo: ";"-separated, every value quoted; ODK Central: ","): one row per
  submission, group paths in the headers (``survey/hazard_code``; Central uses
  ``survey-hazard_code``), no repeats;
- XLSX (KoBo): the main sheet first, one sheet per repeat whose rows point at their
  submission through ``_parent_index`` = the main sheet's ``_index``;
- ZIP (ODK Central's "download all submissions"): the main table ``<form id>.csv`` and
  one ``<form id>-<repeat name>.csv`` per repeat group, whose rows point at their
  submission through ``PARENT_KEY`` = the main table's ``KEY`` (the instance id). A
  repeat table's headers are paths inside the repeat (``find_point-Latitude``), and
  Central writes every repeat table, empty or not. ``media/`` (the attachments, when
  asked for) is not read;
- GeoJSON (KoBo): one feature per submission, the form's first geo question as the
  geometry (longitude first) and the answers as properties.

Files are opened through ``demine.io.reading.read_table`` (GDAL), so a file that is
not what its extension says, or a sheet GDAL cannot read, is refused the same way as in
``demine import``. Values come back as plain Python (text, numbers, dates, None) keyed
by the column names of the file.
"""

from __future__ import annotations

import math
import re
import tempfile
import zipfile
import zlib
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

KINDS = {".csv": "CSV", ".xlsx": "XLSX", ".zip": "ODK Central ZIP", ".geojson": "GeoJSON",
         ".json": "GeoJSON"}
#: Where each server keeps the link between a repeat row and its submission: KoBo's XLSX
#: numbers the main sheet's rows, ODK Central keys them by instance id.
INDEX, PARENT_INDEX = "_index", "_parent_index"
KEY, PARENT_KEY = "KEY", "PARENT_KEY"
#: ODK Central adds ``~1``, ``~2``... to the table names of repeats sharing a name.
_SAME_NAME = re.compile(r"~\d+$")


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


def column_index(columns: list[str]) -> dict[str, str]:
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
    #: repeat tables found (XLSX sheets, Central's repeat CSVs): name -> rows
    sheets: dict[str, list[Row]] = field(default_factory=dict)
    #: the columns of each repeat table (an empty table has columns but no rows)
    sheet_columns: dict[str, list[str]] = field(default_factory=dict)
    #: how a repeat row names its submission: (main table's column, repeat's column)
    link: tuple[str, str] = (INDEX, PARENT_INDEX)
    #: what a message calls a repeat table and the main one
    table_word: str = "sheet"
    main_table: str = "the main sheet"
    #: Central's tables: file name -> the repeat group it holds (from the file name)
    repeat_of: dict[str, str] = field(default_factory=dict)
    #: what was in the export but not read (attachments, other files)
    ignored: list[str] = field(default_factory=list)

    @property
    def central(self) -> bool:
        """ODK Central's zip: its repeat tables are named after their repeat group."""
        return self.kind == KINDS[".zip"]

    def repeat_tables(self, repeats: list[str]) -> dict[str, str]:
        """Table -> repeat group, for the groups ``repeats`` of the form.

        Central names its tables after the repeat; KoBo names its sheets so, cut to
        Excel's 31 characters.
        """
        if self.central:
            return {t: r for t, r in self.repeat_of.items() if r in repeats}
        return {sheet: r for r in repeats for sheet in (r, r[:31]) if sheet in self.sheets}

    def table_label(self, name: str) -> str:
        """A repeat table as messages name it: ``file p.xlsx sheet finds`` or
        ``file export.zip/demine_progress-finds.csv``."""
        if self.table_word == "sheet":
            return f"file {self.file} sheet {name}"
        return f"file {self.file}/{name}"


def _rows(file: str, sheet: str | None, frame: pd.DataFrame, numbers: list[int], word: str
          ) -> list[Row]:
    columns = [str(c) for c in frame.columns]
    index = column_index(columns)
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


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The archive, every member's checksum verified: a damaged member is refused by
    name before anything is read, rather than read as a table cut short."""
    if not path.exists():
        raise refuse(path.name, "file", "does not exist")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise refuse(path.name, "file", f"is not a zip archive, as its extension says "
                                        f"(a damaged or partial download?): {exc}") from exc
    try:
        bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        archive.close()
        raise refuse(path.name, "file", f"the archive is damaged: {exc}") from exc
    if bad is not None:
        archive.close()
        raise refuse(f"{path.name}/{bad}", "file", "is damaged in the archive (checksum "
                                                   "mismatch): download the export again")
    return archive


def _member_error(exc: ValidationError, zip_name: str, member: str) -> ValidationError:
    """A refusal of an extracted table, re-addressed to the table inside the archive."""
    record = exc.record.replace(f"file {member}", f"file {zip_name}/{member}", 1)
    return ValidationError(record, exc.field, exc.problem)


def _read_central_zip(path: Path) -> ExportFile:
    """ODK Central's zip: the main table, and a table per repeat linked by PARENT_KEY.

    The main table is the one CSV without ``PARENT_KEY`` (``<form id>.csv``); every other
    CSV must be ``<form id>-<repeat>.csv`` and carry ``PARENT_KEY`` and ``KEY``.
    """
    zip_name = path.name
    with _open_zip(path) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        tables = [m for m in members if m.filename.lower().endswith(".csv")
                  and "/" not in m.filename]
        ignored = [m.filename for m in members if m not in tables]
        if not tables:
            raise refuse(zip_name, "file", "holds no CSV table: not an ODK Central export "
                                           "(download it as CSV with the repeat tables)")
        frames: dict[str, tuple[Any, list[int]]] = {}
        with tempfile.TemporaryDirectory(prefix="demine-central-") as tmp:
            for member in tables:
                target = Path(tmp) / member.filename
                target.write_bytes(archive.read(member))
                try:
                    table = _read_sheet(target, None)
                except ValidationError as exc:
                    raise _member_error(exc, zip_name, member.filename) from exc
                frames[member.filename] = (table.frame, table.rows)
    names = sorted(frames)
    mains = [n for n in names if PARENT_KEY not in frames[n][0].columns]
    if len(mains) != 1:
        if mains:
            problem = (f"holds {len(mains)} tables without {PARENT_KEY} ({', '.join(mains)});"
                       " an ODK Central export holds one main table of submissions")
        else:
            guess = sorted({f"{n.rsplit('-', 1)[0]}.csv" for n in names if "-" in n})
            problem = (f"holds no main table of submissions (expected "
                       f"{' or '.join(guess) or '<form id>.csv'}): every CSV in it "
                       f"({', '.join(names)}) is a repeat table, with {PARENT_KEY}")
        raise refuse(zip_name, "file", problem)
    main = mains[0]
    stem = main[: -len(".csv")]
    frame, numbers = frames[main]
    if KEY not in frame.columns:
        raise ValidationError(f"file {zip_name}/{main}", KEY,
                              "missing column: repeat rows cannot be linked to submissions")
    label = f"{zip_name}/{main}"
    rows = _rows(label, None, frame, numbers, "row")
    export = ExportFile(zip_name, KINDS[".zip"], [str(c) for c in frame.columns],
                        [Submission(r) for r in rows], link=(KEY, PARENT_KEY),
                        table_word="table", main_table=main, ignored=ignored)
    for name in names:
        if name == main:
            continue
        repeat = name[: -len(".csv")]
        if not repeat.startswith(f"{stem}-") or len(repeat) == len(stem) + 1:
            raise ValidationError(f"file {zip_name}/{name}", "file",
                                  f"a repeat table (it has {PARENT_KEY}) not named "
                                  f"{stem}-<repeat>.csv: which repeat group it holds is "
                                  "unknown")
        frame, numbers = frames[name]
        export.sheets[name] = _rows(f"{zip_name}/{name}", None, frame, numbers, "row")
        export.sheet_columns[name] = [str(c) for c in frame.columns]
        export.repeat_of[name] = repeat[len(stem) + 1:]
    return export


def read_export(path: Path | str) -> ExportFile:
    """Read a KoBo/ODK export into submissions (repeat tables read, not yet attached)."""
    path = Path(path)
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise refuse(path.name, "file", f"unknown extension {path.suffix or '(none)'}; a "
                                        f"form export is one of {', '.join(KINDS)}")
    if kind == KINDS[".zip"]:
        return _read_central_zip(path)
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
        export.sheet_columns[sheet] = [str(c) for c in repeat.frame.columns]
    return export


def attach_repeats(export: ExportFile, repeat_names: dict[str, str]) -> None:
    """Give each submission its repeat rows (``repeat_names``: table name -> repeat).

    KoBo numbers the main sheet's rows in ``_index`` and points each repeat row at one
    of them with ``_parent_index``; ODK Central points ``PARENT_KEY`` at the main
    table's ``KEY``. A row pointing nowhere is refused by table and row: its answers
    would otherwise be dropped without a word.
    """
    tables = [t for t in export.sheets if t in repeat_names]
    if not tables:
        return
    index, parent_index = export.link
    by_index: dict[Any, Submission] = {}
    for sub in export.submissions:
        if sub.main.column(index) is None:
            raise ValidationError(f"file {export.file}", index,
                                  f"missing column: {export.main_table} must number its rows "
                                  f"to link the repeat {export.table_word}s")
        by_index[_key(sub.main.get(index))] = sub
    for table in tables:
        repeat = repeat_names[table]
        for row in export.sheets[table]:
            if row.column(parent_index) is None:
                raise ValidationError(export.table_label(table), parent_index,
                                      "missing column: cannot tell which submission each "
                                      "row belongs to")
            parent = by_index.get(_key(row.get(parent_index)))
            if parent is None:
                raise ValidationError(row.where, parent_index,
                                      f"{row.get(parent_index)!r} is no {index} of "
                                      f"{export.main_table}: the row belongs to no "
                                      "submission of this export")
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
