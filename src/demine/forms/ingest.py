"""Ingest a form export: every new submission becomes a draft report, in one go.

Three passes, like ``demine import``, so that nothing is ever half-written:

1. read the export and tell which demine form it is (its ``demine_form`` column);
2. turn each submission into draft entries, checking every answer (vocabularies,
   codes, geocheck rules, distance from the project's area) and collecting *all*
   problems; submissions whose instance uuid is already stored, or that come twice in
   the file, are skipped;
3. unless a problem was found (then :class:`IngestRefused`, and nothing is stored),
   store every draft and the uuid of its submission in one transaction.

A draft is exactly what an operator would send through any other door: it changes the
official record only when an information manager submits and approves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from demine.domain.changes import parse_change
from demine.domain.errors import DemineError, ValidationError
from demine.forms.definitions import FORM_VERSION, form_by_id
from demine.forms.entries import BUILDERS, Draft, Known
from demine.forms.exports import (
    KINDS,
    ExportFile,
    Submission,
    attach_repeats,
    column_index,
    read_export,
)
from demine.forms.xlsform import FormSpec, Question
from demine.geo.checks import check_near_extent
from demine.service import reports
from demine.store import schema as s
from demine.store.repository import Repository, UnitOfWork

FORM_COLUMN = "demine_form"
VERSION_COLUMN = "demine_form_version"
#: Where the exports keep a submission's instance uuid, most trusted first: KoBo's
#: ``_uuid``, the form's own ``meta/instanceID`` (ODK Central: ``meta-instanceID``,
#: ``KEY``), and demine's hidden copy ``instance_uuid`` (all KoBo's GeoJSON keeps).
UUID_COLUMNS = ("_uuid", "meta/instanceID", "meta-instanceID", "instanceID", "KEY",
                "instance_uuid")
SUBMITTED_COLUMNS = ("_submission_time", "SubmissionDate")
MAX_UUID_LENGTH = 64


class IngestRefused(DemineError):
    """The export has problems; each names its file, row and column. Nothing was stored."""

    def __init__(self, file: str, problems: list[ValidationError]) -> None:
        self.file = file
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"file {file}: {len(problems)} problem(s), nothing ingested:\n"
                         f"{lines}")


@dataclass
class Skipped:
    row: int
    instance_uuid: str
    reason: str


@dataclass
class Created:
    row: int
    instance_uuid: str
    report_code: str
    entries: int


@dataclass
class IngestSummary:
    file: str
    form_id: str
    form_version: str | None
    created: list[Created] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False


def normalise_uuid(value: Any) -> str | None:
    """``uuid:3f2a...`` (ODK), ``3F2A...`` (KoBo) -> ``3f2a...``: one key per submission."""
    if value is None:
        return None
    text = str(value).strip().lower().removeprefix("uuid:").strip()
    return text or None


def _which_form(export: ExportFile) -> tuple[FormSpec, str | None]:
    values: set[str] = set()
    versions: set[str] = set()
    for sub in export.submissions:
        form = sub.main.get(FORM_COLUMN)
        if form is not None:
            values.add(str(form).strip())
        version = sub.main.get(VERSION_COLUMN)
        if version is not None:
            versions.add(str(version).strip())
    if not export.submissions:
        raise ValidationError(f"file {export.file}", "file", "holds no submission")
    if not any(sub.main.column(FORM_COLUMN) for sub in export.submissions[:1]):
        raise ValidationError(f"file {export.file}", FORM_COLUMN,
                              "missing column: not an export of a demine form (see "
                              "`demine forms build`)")
    if len(values) != 1:
        raise ValidationError(f"file {export.file}", FORM_COLUMN,
                              f"expected one form, found {sorted(values) or 'none'}")
    form_id = values.pop()
    spec = form_by_id(form_id)
    if spec is None:
        raise ValidationError(f"file {export.file}", FORM_COLUMN,
                              f"unknown form {form_id!r}")
    return spec, (sorted(versions)[-1] if versions else None)


def _check_columns(export: ExportFile, spec: FormSpec) -> None:
    """Every always-required question of the main section must have its column.

    A missing column is a wrong or hand-trimmed export, not a blank answer: said once
    for the file rather than once per row. KoBo's GeoJSON keeps the geometry out of the
    properties, so geo questions are not looked for there.
    """
    if not export.submissions:
        return
    for path, question in spec.questions():
        if any(r.name in path for r in spec.repeats()) or not question.required:
            continue
        if question.relevant or (export.kind == "GeoJSON" and question.type.startswith("geo")):
            continue
        if not _has_column(export.columns, question):
            raise ValidationError(f"file {export.file}", question.name,
                                  "missing column: the export does not hold this question")


def _has_column(columns: list[str], question: Question) -> bool:
    """The table holds ``question``: by its name (bare or under a group path) or, for a
    geopoint, as the split columns ODK Central (``-Latitude``) or KoBo (``_latitude``)
    write."""
    if question.name in column_index(columns):
        return True
    split = (f"{question.name}-Latitude", f"_{question.name}_latitude")
    return question.type == "geopoint" and any(c.endswith(split) for c in columns)


def _check_repeats(export: ExportFile, spec: FormSpec, tables: dict[str, str]) -> None:
    """Every repeat group of the form has its table, with a column per required question.

    ODK Central writes a table for each repeat group even when no submission has a row
    in it, so a zip without one was trimmed by hand: ingesting it would drop every
    answer of that repeat without a word. KoBo's XLSX is not held to that (whether it
    writes a sheet for a repeat nobody filled is not relied on): only the sheets present
    are held to their columns there.
    """
    held = set(tables.values())
    for repeat in spec.repeats():
        if export.central and repeat.name not in held:
            stem = export.main_table.removesuffix(".csv")
            raise ValidationError(f"file {export.file}", f"{stem}-{repeat.name}.csv",
                                  f"missing table: the form's repeat group {repeat.name} "
                                  "would be lost (ODK Central writes one for every repeat "
                                  "group; download the export again)")
    questions = {r.name: [q for q in r.children if isinstance(q, Question)]
                 for r in spec.repeats()}
    for table, repeat in tables.items():
        columns = export.sheet_columns.get(table, [])
        for question in questions[repeat]:
            if question.required and not question.relevant and \
                    not _has_column(columns, question):
                raise ValidationError(export.table_label(table), question.name,
                                      f"missing column: the {repeat} table does not hold "
                                      "this question")


def _counted_rows(sub: Submission, repeat: str) -> int | None:
    """How many rows of ``repeat`` the submission had on the phone (its hidden
    ``<repeat>_count``); None for a form built before the count was added."""
    value = sub.main.get(f"{repeat}_count")
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() and number >= 0 else None


def _repeat_count_problems(export: ExportFile, spec: FormSpec) -> list[ValidationError]:
    """Where the export carries repeats (KoBo's XLSX, Central's zip), every submission
    holds as many rows of each repeat as it had on the phone. Fewer means a sheet or
    table was left out or trimmed, and the draft would lose those answers silently."""
    if export.kind not in ("XLSX", KINDS[".zip"]):
        return []
    problems = []
    for repeat in spec.repeats():
        for sub in export.submissions:
            expected = _counted_rows(sub, repeat.name)
            held = len(sub.repeats.get(repeat.name, []))
            if expected is not None and held != expected:
                column = f"{repeat.name}_count"
                problems.append(ValidationError(
                    sub.main.where, sub.main.column(column) or column,
                    f"the submission had {expected} {repeat.name} row(s), the file holds "
                    f"{held}: a repeat {export.table_word} was left out or trimmed "
                    "(download the export again)"))
    return problems


def _uuid(sub: Submission) -> tuple[str | None, str]:
    for name in UUID_COLUMNS:
        found = normalise_uuid(sub.main.get(name))
        if found:
            return found, sub.main.column(name) or name
    return None, "_uuid"


def _submitted_at(sub: Submission) -> datetime | None:
    for name in SUBMITTED_COLUMNS:
        value = sub.main.get(name)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if value:
            try:
                parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _known(uow: UnitOfWork, default_org: str | None) -> tuple[Known, set[str], tuple | None]:
    def codes(table) -> set[str]:
        return set(uow.conn.execute(select(table.c.code)).scalars())
    known = Known(codes(s.organisations), codes(s.hazard_areas), codes(s.activities),
                  codes(s.accidents), default_org)
    stored = set(uow.conn.execute(select(s.form_submissions.c.instance_uuid)).scalars())
    boxes = [b for b in (uow.spatial.extent(uow.conn, "settlements", "geom"),
                         uow.spatial.extent(uow.conn, "hazard_areas", "geom")) if b]
    extent = None if not boxes else (min(b[0] for b in boxes), min(b[1] for b in boxes),
                                     max(b[2] for b in boxes), max(b[3] for b in boxes))
    return known, stored, extent


def _sub_word(export: ExportFile) -> str:
    return "features" if export.kind == "GeoJSON" else "rows"


def _notes(export: ExportFile, spec: FormSpec, version: str | None,
           tables: dict[str, str]) -> list[str]:
    notes = []
    repeats = [r.name for r in spec.repeats()]
    if repeats and export.kind in ("CSV", "GeoJSON"):
        notes.append(f"{export.kind} exports hold no repeat groups: {', '.join(repeats)} "
                     "not read (export as XLSX from KoBo, or as ODK Central's zip, to "
                     "bring them)")
        for repeat in repeats:
            lost = [sub.main.number for sub in export.submissions
                    if (_counted_rows(sub, repeat) or 0) > 0]
            if lost:
                notes.append(f"{repeat} rows left out of this {export.kind} export: "
                             f"{len(lost)} submission(s) had some ({_sub_word(export)} "
                             f"{', '.join(map(str, lost))})")
    for table in export.sheets:
        if table not in tables:
            notes.append(f"{export.table_word} {table} is no repeat group of form "
                         f"{spec.form_id}: not read")
    media = [name for name in export.ignored if name.startswith("media/")]
    if media:
        notes.append(f"{len(media)} attachment(s) in media/ not read (photos stay where "
                     "they are; the draft keeps their file names)")
    others = [name for name in export.ignored if not name.startswith("media/")]
    if others:
        notes.append(f"not read: {', '.join(others)}")
    if version and version != FORM_VERSION:
        notes.append(f"submissions of form version {version}; demine's forms are at "
                     f"{FORM_VERSION}")
    return notes


def _check_draft(draft: Draft, where: str, extent, problems: list[ValidationError]) -> None:
    for row, column, geom in draft.geometries:
        try:
            check_near_extent(geom, extent, record=row.where, field=column)
        except ValidationError as exc:
            problems.append(exc)
    for seq, (kind, payload) in enumerate(draft.entries, start=1):
        try:  # the same parse create_draft does: a last guard, named by row
            parse_change(kind, payload, f"{where} entry {seq}")
        except ValidationError as exc:
            problems.append(exc)


def ingest_file(repo: Repository, path: Path | str, *, author: str,
                organisation_code: str | None = None, dry_run: bool = False
                ) -> IngestSummary:
    """Turn every new submission of the export at ``path`` into a draft report."""
    export = read_export(path)
    spec, version = _which_form(export)
    _check_columns(export, spec)
    tables = export.repeat_tables([r.name for r in spec.repeats()])
    _check_repeats(export, spec, tables)
    attach_repeats(export, tables)
    summary = IngestSummary(export.file, spec.form_id, version, dry_run=dry_run,
                            notes=_notes(export, spec, version, tables))
    with repo.reader() as uow:
        known, stored, extent = _known(uow, organisation_code)
    problems: list[ValidationError] = _repeat_count_problems(export, spec)
    todo: list[tuple[Submission, str, Draft]] = []
    seen: dict[str, int] = {}
    new_hazards: dict[str, int] = {}
    for sub in export.submissions:
        row = sub.main
        instance, column = _uuid(sub)
        if instance is None:
            problems.append(ValidationError(row.where, column, "no submission uuid"))
            continue
        if len(instance) > MAX_UUID_LENGTH:
            problems.append(ValidationError(row.where, column, f"uuid {instance[:16]!r}... "
                                            f"is longer than {MAX_UUID_LENGTH} characters"))
            continue
        if instance in stored:
            summary.skipped.append(Skipped(row.number, instance, "already ingested"))
            continue
        if instance in seen:
            summary.skipped.append(Skipped(row.number, instance,
                                           f"same submission as {row.word} {seen[instance]}"))
            continue
        seen[instance] = row.number
        try:
            draft = BUILDERS[spec.form_id](sub, spec, known)
        except ValidationError as exc:
            problems.append(exc)
            continue
        for code in draft.new_hazards:
            if code in new_hazards:
                problems.append(ValidationError(
                    row.where, row.column("hazard_code") or "hazard_code",
                    f"hazard area {code} is surveyed as new in {row.word} "
                    f"{new_hazards[code]} too"))
            new_hazards[code] = row.number
        _check_draft(draft, row.where, extent, problems)
        todo.append((sub, instance, draft))
    if problems:
        raise IngestRefused(export.file, problems)
    if dry_run or not todo:
        summary.created = [Created(sub.main.number, u, "(dry run)", len(d.entries))
                           for sub, u, d in todo] if dry_run else []
        return summary
    try:
        with repo.unit(author, f"field form {spec.form_id} ingested from {export.file}") \
                as uow:
            for sub, instance, draft in todo:
                code, report_id = reports.add_draft(
                    uow, organisation_code=draft.organisation_code,
                    info_date=draft.info_date, entries=draft.entries,
                    summary=f"{spec.title}: field form {spec.form_id} v{version or '?'}, "
                            f"submission {instance} ({sub.main.where})")
                uow.insert(s.form_submissions, {
                    "instance_uuid": instance, "form_id": spec.form_id,
                    "form_version": version, "report_id": report_id,
                    "source_file": export.file, "source_row": sub.main.number,
                    "submitted_at": _submitted_at(sub), "ingested_at": uow.now,
                    "ingested_by": uow.author}, report_id=report_id)
                summary.created.append(Created(sub.main.number, instance, code,
                                               len(draft.entries)))
    except IntegrityError as exc:
        raise DemineError(f"file {export.file}: a submission was ingested by someone else "
                          "at the same time; nothing was stored, run the ingest again") \
            from exc
    return summary
