"""`demine import FILE --layer ...`: a thin door over :func:`demine.io.imports.import_file`.

It shows progress, the column mapping (on a dry run), the summary and the rejection
report; no rule lives here. A file refused as a whole exits with status 1.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from demine.cli_common import DbOption, UserOption, console, err, progress_bar, user_of
from demine.domain.errors import DemineError
from demine.io.imports import ImportSummary, Rejection, import_file
from demine.io.mapping import LAYERS
from demine.store import Repository

#: Rejections printed on the terminal; the rest go to --report.
SHOWN_REJECTIONS = 30


def _write_report(path: Path, rejected: list[Rejection]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "field", "problem"])
        writer.writerows([r.file, r.row, r.field, r.problem] for r in rejected)


def _print_rejections(rejected: list[Rejection]) -> None:
    table = Table("file", "row", "field", "problem", title="rejected rows", title_justify="left")
    for r in rejected[:SHOWN_REJECTIONS]:
        table.add_row(r.file, str(r.row), r.field, r.problem)
    err.print(table)
    if len(rejected) > SHOWN_REJECTIONS:
        err.print(f"... and {len(rejected) - SHOWN_REJECTIONS} more; write them all with "
                  "--report rejects.csv")


def _print_updates(summary: ImportSummary) -> None:
    """Which records the import changes and in which fields (values stay in the file)."""
    verb = "would be updated" if summary.dry_run else "updated"
    if summary.report_code and not summary.dry_run:
        verb = f"revised in {summary.report_code}"
    table = Table("row", "code", "fields", title=f"{verb}", title_justify="left")
    for u in summary.updates[:SHOWN_REJECTIONS]:
        table.add_row(str(u.row), u.code, ", ".join(u.fields))
    console.print(table)
    if len(summary.updates) > SHOWN_REJECTIONS:
        console.print(f"... and {len(summary.updates) - SHOWN_REJECTIONS} more")


def _print_summary(summary: ImportSummary) -> None:
    verb = "would be " if summary.dry_run else ""
    table = Table("", "records", title=f"{summary.file} -> {summary.layer}"
                  + (" (dry run: nothing written)" if summary.dry_run else ""),
                  title_justify="left")
    table.add_row(f"{verb}created", str(summary.created))
    table.add_row(f"{verb}updated", str(summary.updated))
    table.add_row("unchanged", str(summary.unchanged))
    table.add_row("rejected", str(len({r.row for r in summary.rejected})))
    console.print(table)
    if summary.report_code:
        console.print(f"{summary.layer} reported in [bold]{summary.report_code}[/]"
                      " (submitted; approved only with --approve)")


def import_command(
    file: Annotated[Path, typer.Argument(help="GeoPackage, Shapefile (.shp, .zip, or a "
                                              ".dbf table), GeoJSON, KML/KMZ, CSV or XLSX")],
    layer: Annotated[str, typer.Option(help=f"what the file holds: {', '.join(LAYERS)}")],
    mapping: Annotated[Path | None, typer.Option(
        help="YAML/JSON file {demine_field: file_column} for columns not recognised")] = None,
    crs: Annotated[str | None, typer.Option(
        help="CRS of a file that declares none (or overrides it), e.g. EPSG:32636")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="import the good rows; write the refused ones to --report")]
    = False,
    report: Annotated[Path | None, typer.Option(
        help="CSV file for the rejection report (file, row, field, problem)")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="show the mapping and what would change; write nothing")] = False,
    org: Annotated[str | None, typer.Option(
        help="hazards, activities, findings, accidents: code of the organisation "
             "reporting them (they enter the record through a report)")] = None,
    info_date: Annotated[str | None, typer.Option(
        "--date", help="reported layers: date of information, YYYY-MM-DD (default today)")]
    = None,
    approve: Annotated[bool, typer.Option(
        "--approve", help="reported layers: approve the import's report at once")]
    = False,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Import a file of settlements, teams, hazards, activities, findings or accidents;
    matched by code, safe to re-run."""
    try:
        _run(file, layer, mapping, crs, skip_invalid, report, dry_run, org, info_date,
             approve, db, user)
    except DemineError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def _run(file: Path, layer: str, mapping: Path | None, crs: str | None, skip_invalid: bool,
         report: Path | None, dry_run: bool, org: str | None, info_date: str | None,
         approve: bool, db: str | None, user: str | None) -> None:
    if skip_invalid and report is None:
        raise DemineError("import: --report: --skip-invalid needs a file for the "
                          "rejection report, e.g. --report rejects.csv")
    day = None
    if info_date is not None:
        try:
            day = date.fromisoformat(info_date)
        except ValueError as exc:
            raise DemineError(f"import: --date: {info_date!r} is not YYYY-MM-DD") from exc
    repo = Repository.open(db, create=False)
    with progress_bar() as progress:
        author = user_of(user)
        summary = import_file(
            repo, file, layer, author=author, mapping=mapping, crs=crs,
            skip_invalid=skip_invalid, dry_run=dry_run, organisation_code=org,
            info_date=day, approve=approve, progress=progress)
    if dry_run:
        table = Table("demine field", "file column", title="column mapping",
                      title_justify="left")
        for fld, column in summary.mapping.items():
            table.add_row(fld, column)
        console.print(table)
        console.print(f"source CRS: {summary.source_crs or '(none: no geometry)'}")
    for companion in summary.companions:
        console.print(f"read with it: {companion}")
    if summary.rejected:
        if report is not None:
            _write_report(report, summary.rejected)
            err.print(f"rejection report written to {report} "
                      f"({len(summary.rejected)} problems)")
        _print_rejections(summary.rejected)
    if summary.updates:
        _print_updates(summary)
    _print_summary(summary)
    if summary.refused:
        err.print(f"[bold red]error:[/] file {summary.file}: refused; nothing was imported "
                  "(fix the rows above, or use --skip-invalid --report FILE)")
        raise typer.Exit(1)
