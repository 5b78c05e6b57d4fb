"""ODK Central's "download all submissions" zip, written the way Central writes it.

Central (``lib/data/briefcase.js`` in getodk/central-backend) turns each submission's
XML into rows:

- the form's fields in instance order, group paths joined by ``-`` (``survey-area``);
- a geopoint split into ``-Latitude``, ``-Longitude``, ``-Altitude``, ``-Accuracy``;
- each repeat group into its own table ``<form id>-<repeat>.csv``, headers relative to
  the repeat, then ``PARENT_KEY`` (the submission's instance id, for a repeat at the top
  of the form) and ``KEY`` (``<instance id>/<repeat>[n]``);
- the main table ``<form id>.csv`` starts with ``SubmissionDate`` and ends with ``KEY``
  (the instance id) and Central's own columns (``SubmitterID`` ... ``FormVersion``);
- ","-separated, quoted only where needed, "\\n" line ends; attachments under ``media/``.

The fields come from the XForm pyxform makes of demine's own form definition (the form
Central would serve), so a question renamed in ``definitions.py`` moves here too. The
answers are what ODK Collect sends: instance XML values keyed by element name, a repeat
as a list of its instances.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demine.forms.definitions import form_by_id
from demine.forms.xlsform import to_xform, write_xlsform

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
CENTRAL_TAIL = ["SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
                "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]


@dataclass
class Field:
    """One node of the form's instance, as Central's schema sees it."""

    path: tuple[str, ...]  # below the root element
    kind: str  # "structure", "repeat" or the bind type (string, date, geopoint...)


@dataclass
class Table:
    path: tuple[str, ...]
    header: list[str] = field(default_factory=list)
    #: (field path, first column, kind) of the table's own atomic fields
    columns: list[tuple[tuple[str, ...], int, str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def form_fields(form_id: str, workdir: Path) -> list[Field]:
    """The fields of demine's form ``form_id`` in instance order (depth first)."""
    spec = form_by_id(form_id)
    assert spec is not None, form_id
    xml, _ = to_xform(write_xlsform(spec, workdir / f"{form_id}.xlsx"))
    root = ET.fromstring(xml)
    model = root.find(f"{H}head/{XF}model")
    assert model is not None
    data = next(iter(model.find(f"{XF}instance")))
    types = {b.get("nodeset"): b.get("type", "string") for b in model.iter(f"{XF}bind")}
    repeats = {r.get("nodeset") for r in root.iter(f"{XF}repeat")}
    out: list[Field] = []

    def walk(node: ET.Element, path: tuple[str, ...]) -> None:
        seen: set[str] = set()
        for child in node:
            name = child.tag.removeprefix(XF)
            if name in seen:  # the repeat's jr:template and its first instance
                continue
            seen.add(name)
            here = (*path, name)
            xpath = "/" + "/".join((data.tag.removeprefix(XF), *here))
            if xpath in repeats:
                out.append(Field(here, "repeat"))
                walk(child, here)
            elif len(child):
                out.append(Field(here, "structure"))
                walk(child, here)
            else:
                out.append(Field(here, types.get(xpath, "string")))

    walk(data, ())
    return out


def _tables(fields: list[Field]) -> list[Table]:
    """The main table and one per repeat, with their headers (briefcase.js's first pass)."""
    main = Table(())
    main.header.append("SubmissionDate")
    tables = [main]
    stack = [main]
    for f in fields:
        while f.path[: len(stack[-1].path)] != stack[-1].path:
            stack.pop()
        if f.kind == "repeat":
            table = Table(f.path)
            tables.append(table)
            stack.append(table)
            continue
        if f.kind == "structure":
            continue
        table = stack[-1]
        base = "-".join(f.path[len(table.path):])
        table.columns.append((f.path, len(table.header), f.kind))
        if f.kind == "geopoint":
            table.header += [f"{base}-{p}" for p in ("Latitude", "Longitude", "Altitude",
                                                      "Accuracy")]
        else:
            table.header.append(base)
    for table in tables[1:]:
        table.header += ["PARENT_KEY", "KEY"]
    main.header += ["KEY", *CENTRAL_TAIL]
    return tables


def _value(answers: dict[str, Any], path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(answers, dict) or name not in answers:
            return None
        answers = answers[name]
    return answers


def _fill(row: list[str], table: Table, answers: dict[str, Any], base: tuple[str, ...]) -> None:
    for path, at, kind in table.columns:
        value = _value(answers, path[len(base):])
        if value is None:
            continue
        if kind == "geopoint":
            parts = str(value).split()
            row[at:at + len(parts)] = parts
        else:
            row[at] = str(value)


@dataclass
class Submission:
    """One submission as Central holds it: Collect's answers and the server's facts."""

    answers: dict[str, Any]
    submitted: str = "2026-11-20T13:02:10.511Z"
    submitter_id: int = 7
    submitter: str = "team.alpha2"
    attachments: int = 0
    review_state: str = ""
    edits: int = 0


def write_central_zip(path: Path, form_id: str, submissions: list[Submission], *,
                      media: dict[str, bytes] | None = None, workdir: Path) -> Path:
    """Write ``path`` as Central's export of ``submissions`` to demine's form ``form_id``."""
    fields = form_fields(form_id, workdir)
    tables = _tables(fields)
    main, repeats = tables[0], tables[1:]
    for sub in submissions:
        instance = sub.answers["meta"]["instanceID"]
        row = [""] * len(main.header)
        row[0] = sub.submitted
        _fill(row, main, sub.answers, ())
        tail = len(main.header) - len(CENTRAL_TAIL) - 1
        row[tail:] = [instance, str(sub.submitter_id), sub.submitter, str(sub.attachments),
                      str(sub.attachments), "", sub.review_state,
                      sub.answers.get("deviceid", ""), str(sub.edits),
                      sub.answers.get("demine_form_version", "")]
        main.rows.append(row)
        for table in repeats:  # the forms' repeats sit at the top of the form
            for n, item in enumerate(_value(sub.answers, table.path) or [], start=1):
                sub_row = [""] * len(table.header)
                _fill(sub_row, table, item, table.path)
                sub_row[-2:] = [instance, f"{instance}/{table.path[-1]}[{n}]"]
                table.rows.append(sub_row)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            name = f"{form_id}.csv" if not table.path else f"{form_id}-{table.path[-1]}.csv"
            archive.writestr(name, _csv([table.header, *table.rows]))
        for name, data in (media or {}).items():
            archive.writestr(f"media/{name}", data)
    return path


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def read_member(path: Path, name: str) -> list[list[str]]:
    """A table of a written zip back as rows (header first), to change it for a test."""
    with zipfile.ZipFile(path) as archive:
        return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))


def rewrite(path: Path, out: Path, *, tables: dict[str, list[list[str]] | None]) -> Path:
    """Copy the zip at ``path`` to ``out``, replacing (or, with None, leaving out) tables."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename in tables:
                rows = tables[item.filename]
                if rows is not None:
                    dst.writestr(item.filename, _csv(rows))
            else:
                dst.writestr(item, src.read(item.filename))
    return out
