"""`demine scenario compare A.yaml B.yaml ...` (issue 6): what-ifs side by side.

The table answers the officer's question ("if we get two more robots / lose a team
for a month, how many villages are open by day 60, and how many person-days of
closure does it save?"); ``--out`` writes the district curves as a self-contained
page (hand-written SVG like the plan's Gantt: field offices are often offline) or as
CSV for a spreadsheet.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from demine.cli_common import DbOption, console, errors, open_repo
from demine.cli_planning import StartOption, TimeLimitOption, _on, _start
from demine.domain.errors import ValidationError
from demine.planning.scenarios import BUILT_IN_SCENARIOS
from demine.service.scenarios import DEFAULT_RUNS, Comparison, compare_files

app = typer.Typer(help="What-if scenarios: compare plans side by side.", no_args_is_help=True)

#: One colour per scenario (colour-blind safe, Okabe-Ito), cycled beyond eight.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
           "#f0e442")


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(
        help="scenario YAML files, or built-in names: " + ", ".join(BUILT_IN_SCENARIOS)
             + "; the first is the reference")],
    db: DbOption = None,
    start: StartOption = None,
    time_limit: TimeLimitOption = 10.0,
    runs: Annotated[int, typer.Option("--runs", min=1, help="forecast runs per scenario")]
    = DEFAULT_RUNS,
    out: Annotated[Path | None, typer.Option(
        "--out", help="write the curves: .html (chart) or .csv")] = None,
) -> None:
    """Plan and forecast each scenario on the same record (nothing is written) and compare."""
    with errors():
        if out is not None and out.suffix.lower() not in (".html", ".htm", ".csv"):
            raise ValidationError("--out", "file", f"expected .html or .csv, got {out.name}")
        day0 = _start(start)
        repo = open_repo(db)
        result = compare_files(repo, scenarios, start=day0, time_limit=time_limit, runs=runs)
        console.print(_table(result))
        _print_notes(result)
        if out is not None:
            if out.suffix.lower() == ".csv":
                _write_csv(out, result)
            else:
                out.write_text(_chart(result), encoding="utf-8")
            console.print(f"wrote the district curves of {len(result.outcomes)} scenarios "
                          f"to {out}")


def _table(c: Comparison) -> Table:
    ref = c.outcomes[0]
    total = ref.settlements
    table = Table(title=f"Scenarios compared (day 0 = {c.start}; {total} closed settlements; "
                        f"P50 over {c.forecast_runs:,} forecast runs; QC lag included)")
    table.add_column("", style="bold")
    for k, o in enumerate(c.outcomes):
        table.add_column(f"{chr(65 + k) if k < 26 else k + 1}: {o.name}", justify="right")

    def row(label: str, cell) -> None:
        table.add_row(label, *(cell(o) for o in c.outcomes))

    row("file", lambda o: o.source)
    row("assets planned", lambda o: str(o.assets))
    row("priority profile", lambda o: Path(o.profile).name)
    for d in c.checkpoints:
        row(f"open by day {d} ({_on(c.start, d)})",
            lambda o, d=d: "P50 {1:.0f} · plan {0}".format(*o.reopened_by(d)))
    row("person-days closed", lambda o: f"P50 {o.person_days_p50:,.0f} · "
                                        f"plan {o.person_days_planned:,.0f}")
    row("person-days avoided vs A", lambda o: "-" if o is ref else
        f"P50 {o.person_days_avoided_p50:+,.0f} · plan {o.person_days_avoided_planned:+,.0f}")
    row("settlements earlier / later than A", lambda o: "-" if o is ref else
        f"{o.earlier} / {o.later}")
    row("all settlements open (plan)",
        lambda o: _on(c.start, max(o.reopening_day.values(), default=0)))
    row("all work finished P50", lambda o: _on(c.start, o.finish_p50))
    row("all work finished P90", lambda o: _on(c.start, o.finish_p90))
    row("plan found by", lambda o: f"{o.plan_source}, gap {o.gap:.0%}")
    return table


def _print_notes(c: Comparison) -> None:
    """What each scenario changed, and plan warnings the reference does not share."""
    shared = set(c.runs[0].plan.warnings)
    for k, (o, run) in enumerate(zip(c.outcomes, c.runs, strict=True)):
        label = chr(65 + k) if k < 26 else str(k + 1)
        if o.description:
            console.print(f"{label}: {o.description}")
        for note in o.notes:
            console.print(f"  {label}: {note}")
        for w in run.plan.warnings if k == 0 else [w for w in run.plan.warnings
                                                    if w not in shared]:
            console.print(f"  [yellow]{label} warning:[/] {w}")


def _extent(c: Comparison) -> int:
    """Last day worth drawing: every curve, P10 included, has every settlement open."""
    ends = []
    for o in c.outcomes:
        for curve in ("planned", "open_p10", "open_p50", "open_p90"):
            day = o.day_reaching(o.settlements, curve)
            ends.append(len(o.planned) - 1 if day is None else day)
    horizon = max([*ends, *c.checkpoints, 1])
    return min(int(horizon * 1.05) + 1, len(c.outcomes[0].planned) - 1)


def _write_csv(path: Path, c: Comparison) -> None:
    last = _extent(c)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["scenario", "file", "day", "date", "planned_open", "open_p10", "open_p50",
                    "open_p90"])
        for o in c.outcomes:
            for d in range(last + 1):
                w.writerow([o.name, o.source, d, _on(c.start, d), int(o.planned[d]),
                            f"{o.open_p10[d]:g}", f"{o.open_p50[d]:g}", f"{o.open_p90[d]:g}"])


def _chart(c: Comparison) -> str:
    """Settlements open over time per scenario: P50 line, P10-P90 band, planned dashed."""
    last = _extent(c)
    total = max(o.settlements for o in c.outcomes) or 1
    left, top, width, height = 60, 20, 1100, 460
    plot_w, plot_h = width - left - 20, height - top - 50

    def x(day: float) -> float:
        return left + day * plot_w / max(last, 1)

    def y(count: float) -> float:
        return top + plot_h - count * plot_h / total

    def steps(values) -> str:
        pts = [f"{x(0):.1f},{y(values[0]):.1f}"]
        for d in range(1, last + 1):
            if values[d] != values[d - 1]:
                pts.append(f"{x(d):.1f},{y(values[d - 1]):.1f}")
                pts.append(f"{x(d):.1f},{y(values[d]):.1f}")
        pts.append(f"{x(last):.1f},{y(values[last]):.1f}")
        return " ".join(pts)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">']
    step = 30 if last <= 400 else 90
    for d in range(0, last + 1, step):
        colour = "#bbb" if d in c.checkpoints else "#eee"
        parts.append(f'<line x1="{x(d):.1f}" y1="{top}" x2="{x(d):.1f}" y2="{top + plot_h}" '
                     f'stroke="{colour}"/>')
        parts.append(f'<text x="{x(d) + 2:.1f}" y="{top + plot_h + 14}">{d}</text>')
        parts.append(f'<text x="{x(d) + 2:.1f}" y="{top + plot_h + 27}" fill="#666">'
                     f'{_on(c.start, d)}</text>')
    for k in range(0, total + 1, max(1, total // 8)):
        parts.append(f'<line x1="{left}" y1="{y(k):.1f}" x2="{left + plot_w}" y2="{y(k):.1f}" '
                     'stroke="#f3f3f3"/>')
        parts.append(f'<text x="{left - 6}" y="{y(k) + 4:.1f}" text-anchor="end">{k}</text>')
    parts.append(f'<text x="12" y="{top + plot_h / 2:.0f}" transform="rotate(-90 12 '
                 f'{top + plot_h / 2:.0f})" text-anchor="middle">settlements open</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle">'
                 f'day (day 0 = {c.start})</text>')
    legend = []
    for k, o in enumerate(c.outcomes):
        colour = COLOURS[k % len(COLOURS)]
        upper = [f"{x(d):.1f},{y(o.open_p10[d]):.1f}" for d in range(last + 1)]
        lower = [f"{x(d):.1f},{y(o.open_p90[d]):.1f}" for d in range(last, -1, -1)]
        name = html.escape(o.name)
        parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="{colour}" '
                     f'fill-opacity="0.12" stroke="none"><title>{name}: P10-P90</title>'
                     '</polygon>')
        parts.append(f'<polyline points="{steps(o.planned)}" fill="none" stroke="{colour}" '
                     f'stroke-dasharray="5 4" stroke-width="1.2"><title>{name}: planned'
                     '</title></polyline>')
        parts.append(f'<polyline points="{steps(o.open_p50)}" fill="none" stroke="{colour}" '
                     f'stroke-width="2.2"><title>{name}: P50</title></polyline>')
        legend.append(f'<li><span style="color:{colour}">&#9632;</span> '
                      f'{chr(65 + k) if k < 26 else k + 1}: {name} '
                      f'({html.escape(o.source)}): open by day 90 P50 '
                      f'{o.reopened_by(90)[1]:.0f} of {o.settlements}; all work P90 '
                      f'{_on(c.start, o.finish_p90)}</li>')
    parts.append("</svg>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            "<title>Scenarios: settlements open over time</title></head><body>"
            "<h1>Settlements open over time</h1>"
            f"<p>Day 0 = {c.start}. Solid: P50 over {c.forecast_runs:,} forecast runs; band: "
            "P10-P90; dashed: the plan. QC lag included.</p>"
            + "".join(parts) + "<ul>" + "".join(legend) + "</ul></body></html>\n")
