"""Field forms at the command line: `demine forms build` and `demine forms ingest`.

A thin door over ``demine.forms``: build the XLSForms (and check them with ODK
Validate), or turn a KoBoToolbox / ODK Central export into draft reports. Registered
on the main app at the bottom of ``demine.cli``, like the other ``cli_*`` modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from demine.cli_common import DbOption, UserOption, console, errors, open_repo, user_of
from demine.forms.build import build_forms
from demine.forms.ingest import ingest_file
from demine.forms.validate import validator_info

forms_app = typer.Typer(help="Field forms for ODK Collect / KoBoCollect, and their "
                             "submissions.", no_args_is_help=True)


@forms_app.command("build")
def build(
    outdir: Annotated[Path, typer.Argument(help="folder for the .xlsx XLSForms and their "
                                                ".xml XForms")],
    skip_validate: Annotated[bool, typer.Option(
        "--skip-validate", help="convert with pyxform only; do not run ODK Validate "
                                "(which needs Java)")] = False,
) -> None:
    """Write the XLSForms (non-technical survey, daily progress, EO finding, accident),
    convert them with pyxform and check them with ODK Validate."""
    with errors():
        built = build_forms(outdir, validate=not skip_validate)
        table = Table(title=f"field forms in {outdir}")
        for column in ("form_id", "version", "title", "XLSForm", "XForm", "ODK Validate"):
            table.add_column(column)
        for form in built:
            table.add_row(form.form_id, form.version, form.title, form.xlsx.name,
                          form.xml.name, "passed" if form.validated else "skipped")
        console.print(table)
        if not skip_validate:
            info = validator_info()
            console.print(f"ODK Validate {info.release} (sha256 {info.sha256[:12]}...) "
                          f"with {info.java}")
        for form in built:
            for warning in form.warnings:
                console.print(f"[yellow]warning:[/] {form.form_id}: {warning}")


@forms_app.command("ingest")
def ingest(
    file: Annotated[Path, typer.Argument(help="a KoBoToolbox or ODK Central export: .csv, "
                                              ".xlsx (KoBo, with repeat sheets), .zip "
                                              "(ODK Central, with repeat tables) or "
                                              ".geojson")],
    org: Annotated[str | None, typer.Option(
        "--org", help="organisation of submissions that do not name one")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="check and count, store nothing")] = False,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Turn each new submission into a draft report (skipping those already ingested)."""
    with errors():
        repo = open_repo(db)
        summary = ingest_file(repo, file, author=user_of(user), organisation_code=org,
                              dry_run=dry_run)
        for note in summary.notes:
            console.print(f"[yellow]note:[/] {note}")
        if summary.created:
            table = Table(title=f"{summary.file}: form {summary.form_id} "
                                f"v{summary.form_version or '?'}")
            for column in ("row", "submission", "draft report", "entries"):
                table.add_column(column)
            for c in summary.created:
                table.add_row(str(c.row), c.instance_uuid, c.report_code, str(c.entries))
            console.print(table)
        for skipped in summary.skipped:
            console.print(f"skipped row {skipped.row} ({skipped.instance_uuid}): "
                          f"{skipped.reason}")
        verb = "would create" if dry_run else "created"
        console.print(f"{verb} {len(summary.created)} draft report(s), skipped "
                      f"{len(summary.skipped)} duplicate(s)")
