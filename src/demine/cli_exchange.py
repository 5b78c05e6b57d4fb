"""Data exchange at the command line: `demine export`.

A thin door over ``demine.io.export``: parse the options, export, print what was
written. Registered on the main app at the bottom of ``demine.cli``; like
``cli_fieldops`` it fetches the shared helpers (``_errors``, ``_open``, the consoles)
from ``demine.cli`` only when a command runs, so that ``python -m demine.cli`` does not
import a second copy of that module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from demine.cli_common import DbOption, console, errors, open_repo
from demine.io.export import FORMATS, SINGLE_FILE, export_project
from demine.io.layers import LAYERS


def _format_of(out: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    by_suffix = {suffix: key for key, suffix in SINGLE_FILE.items()}
    return by_suffix.get(out.suffix.lower(), "gpkg")


def export(
    out: Annotated[Path, typer.Argument(
        help="a .gpkg or .xlsx file, or a folder for shp, geojson, kml and csv")],
    fmt: Annotated[str | None, typer.Option(
        "--format", "-f",
        help=f"one of: {', '.join(FORMATS)}; default from OUT's suffix, else gpkg")] = None,
    layers: Annotated[str | None, typer.Option(
        help=f"comma-separated layers (default all): {', '.join(LAYERS)}")] = None,
    include_sensitive: Annotated[bool, typer.Option(
        "--include-sensitive",
        help="also export victims' sex, age and activity and accident narratives "
             "(personal data: only for those entitled to it)")] = False,
    db: DbOption = None,
) -> None:
    """Export the project's layers to GeoPackage (with QGIS styles), Shapefile, GeoJSON,
    KML, CSV or XLSX."""
    with errors():
        repo = open_repo(db)
        chosen = [x for x in layers.split(",")] if layers is not None else None
        summary = export_project(repo, out, _format_of(out, fmt), chosen,
                                 include_sensitive=include_sensitive)
        table = Table(title=f"exported to {summary.out} ({summary.format})")
        table.add_column("layer")
        table.add_column("features", justify="right")
        table.add_column("file(s)")
        for layer in summary.layers:
            where = layer.skipped or ", ".join(p.name for p in layer.files)
            table.add_row(layer.name, str(layer.features), where)
        console.print(table)
        console.print(
            f"{len(summary.layers)} layers, {summary.features} features, "
            f"{len(summary.files)} file(s); personal data "
            + ("[bold yellow]included[/] (sensitive)" if include_sensitive else
               "left out (use --include-sensitive to add it)"))
