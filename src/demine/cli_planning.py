"""`demine plan` and `demine forecast` (issue 6): what an operations officer acts on.

The plan prints who reopens when and what each team does first; ``--out`` writes the
assignments as CSV and GeoJSON (for a GIS) and a self-contained Gantt page (no CDN:
field offices are often offline).
"""

from __future__ import annotations

import csv
import html
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from shapely.geometry import mapping

from demine.cli_common import DbOption, console, errors, open_repo
from demine.domain.errors import ValidationError
from demine.planning.productivity import MIN_WORKING_DAYS
from demine.planning.schedule import Plan, PlannedItem
from demine.service.planning import PlanningInputs, district_forecast, district_plan

ProfileOption = Annotated[str, typer.Option(
    "--profile", help="priority profile: default, agricultural or a YAML/JSON file")]
TimeLimitOption = Annotated[float, typer.Option("--time-limit", help="solver seconds")]
StartOption = Annotated[str | None, typer.Option(
    "--start", help="day 0 of the plan, YYYY-MM-DD; default today")]
FIRST_ITEMS = 3


def _start(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise ValidationError("--start", "date", f"expected YYYY-MM-DD, got {value!r}") from exc


def _on(start: date, day: int | float) -> str:
    return (start + timedelta(days=round(day))).isoformat()


def plan(
    db: DbOption = None,
    profile: ProfileOption = "default",
    time_limit: TimeLimitOption = 20.0,
    start: StartOption = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="directory for assignments.csv, assignments.geojson, gantt.html")] = None,
) -> None:
    """Plan the district: which team clears which hazard when, so people go home soonest."""
    with errors():
        day0 = _start(start)
        repo = open_repo(db)
        result, inputs = district_plan(repo, profile=profile, time_limit=time_limit,
                                       start_date=day0)
        _print_plan(result, inputs, day0)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            rows = _rows(result, day0)
            _write_csv(out / "assignments.csv", rows)
            _write_geojson(out / "assignments.geojson", rows, inputs)
            (out / "gantt.html").write_text(_gantt(result, day0), encoding="utf-8")
            console.print(f"wrote {len(rows)} work items to {out}/assignments.csv, "
                          "assignments.geojson and gantt.html")


def forecast(
    db: DbOption = None,
    profile: ProfileOption = "default",
    runs: Annotated[int, typer.Option("--runs", min=1)] = 10_000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    time_limit: TimeLimitOption = 20.0,
    start: StartOption = None,
) -> None:
    """Plan, then forecast P50/P90 reopening dates under productivity and stand-down risk."""
    with errors():
        day0 = _start(start)
        repo = open_repo(db)
        result, inputs = district_plan(repo, profile=profile, time_limit=time_limit,
                                       seed=seed, start_date=day0)
        fc = district_forecast(repo, result, inputs, runs=runs, seed=seed)
        lag = inputs.rules.qc_lag_days
        names = inputs.names
        table = Table(title=f"Reopening forecast ({runs:,} runs, seed {seed}; "
                            f"day 0 = {day0}; includes the {lag}-day QC lag)")
        for col in ("settlement", "name", "population", "planned", "P50", "P90"):
            table.add_column(col, justify="right" if col == "population" else "left")
        for sf in sorted(fc.settlements, key=lambda x: (x.p50, x.code)):
            table.add_row(sf.code, names.get(sf.code, ""), f"{sf.population:,}",
                          _on(day0, result.reopening_day[sf.code]),
                          _on(day0, _ceil(sf.p50) + lag), _on(day0, _ceil(sf.p90) + lag))
        console.print(table)
        curve = Table(title="District curve (P50 over runs)")
        for col in ("day", "date", "settlements open", "people home"):
            curve.add_column(col, justify="right")
        total = len(fc.settlements)
        for d in (30, 60, 90, 120):
            k = min(max(d - lag, 0), len(fc.curve.days) - 1)
            curve.add_row(str(d), _on(day0, d), f"{fc.curve.open_p50[k]:.0f} of {total}",
                          f"{fc.curve.population_p50[k]:,.0f}")
        console.print(curve)
        console.print(f"all work finished: P50 {_on(day0, _ceil(fc.finish_p50) + lag)}, "
                      f"P90 {_on(day0, _ceil(fc.finish_p90) + lag)}")


def _ceil(x: float) -> int:
    return int(-(-x // 1))


def _print_plan(result: Plan, inputs: PlanningInputs, day0: date) -> None:
    table = Table(title=f"Closed settlements: planned reopening (day 0 = {day0})")
    for col in ("settlement", "name", "population", "blocking hazards", "reopens", "day"):
        table.add_column(col, justify="right" if col in ("population", "day") else "left")
    for st in sorted(inputs.settlements,
                     key=lambda x: (result.reopening_day.get(x.code, 0), x.code)):
        d = result.reopening_day.get(st.code, 0)
        table.add_row(st.code, inputs.names.get(st.code, ""), f"{st.population:,}",
                      ", ".join(st.blockers), _on(day0, d), str(d))
    console.print(table)
    first = Table(title=f"First assignments per team (up to {FIRST_ITEMS})")
    for col in ("team", "hazard", "work", "m²", "start", "finish"):
        first.add_column(col, justify="right" if col == "m²" else "left")
    for team, items in sorted(result.assets.items()):
        for it in items[:FIRST_ITEMS]:
            first.add_row(team, it.hazard, it.item.split("/", 1)[1], f"{it.area_m2:,.0f}",
                          _on(day0, it.start_day), _on(day0, it.finish_day))
        if not items:
            first.add_row(team, "-", "idle", "", "", "")
    console.print(first)
    console.print(_productivity_table(inputs))
    console.print(
        f"objective {result.objective:,.0f} people-days (population-days "
        f"{result.population_days:,.0f}); bound {result.lower_bound:,.0f}; "
        f"gap {result.gap:.1%}; proven optimal: {'yes' if result.proven_optimal else 'no'}; "
        f"found by {result.source} in {result.elapsed:.1f} s; profile {inputs.profile}")
    for w in (*result.warnings, *result.deadline_issues):
        console.print(f"[yellow]warning:[/] {w}")


_SOURCES = {"learned": "learned from reported progress", "register": "team register",
            "default": "reference default", "given": "given by the scenario"}


def _productivity_table(inputs: PlanningInputs) -> Table:
    """Which figure each asset is planned with: its own reported progress, or a fallback."""
    learned = sum(c.learned for c in inputs.productivity)
    table = Table(title=f"Productivity used (m² per working day on open ground): learned for "
                        f"{learned} of {len(inputs.productivity)} assets (needs "
                        f"{MIN_WORKING_DAYS:g}+ working days of reported clearance)")
    for col in ("asset", "type", "m²/day", "source", "why"):
        table.add_column(col, justify="right" if col == "m²/day" else "left")
    types = {a.code: a.type.value for a in inputs.assets}
    for c in inputs.productivity:
        if c.learned:
            why = f"{c.reason}; {c.fallback_source} figure {c.fallback_m2_day:,.0f}"
        elif c.learned_m2_day is not None or c.reason:
            why = f"reported progress not used: {c.reason}"
        else:
            why = "no clearance progress reported"
        table.add_row(c.asset, types.get(c.asset, ""), f"{c.rate_m2_day:,.0f}",
                      _SOURCES.get(c.source, c.source), why)
    return table


def _rows(result: Plan, day0: date) -> list[dict[str, object]]:
    rows = []
    for team, items in sorted(result.assets.items()):
        for it in items:
            rows.append(_row(team, it, day0))
    return rows


def _row(team: str, it: PlannedItem, day0: date) -> dict[str, object]:
    return {"asset": team, "item": it.item, "hazard": it.hazard, "kind": it.kind,
            "area_m2": it.area_m2, "start_day": it.start_day, "finish_day": it.finish_day,
            "start": _on(day0, it.start_day), "finish": _on(day0, it.finish_day)}


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    fields = ["asset", "item", "hazard", "kind", "area_m2", "start_day", "finish_day",
              "start", "finish"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _write_geojson(path: Path, rows: list[dict[str, object]], inputs: PlanningInputs) -> None:
    """One feature per work item: the hazard's remaining polygon (WGS84) and its timing."""
    features = []
    for r in rows:
        geom = inputs.geometry.get(str(r["hazard"]))
        features.append({"type": "Feature", "properties": r,
                         "geometry": None if geom is None else mapping(geom)})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")


_COLOURS = {"clearance": "#2b7bb9", "preparation": "#d98c1f"}


def _gantt(result: Plan, day0: date) -> str:
    """A hand-written SVG Gantt chart: one row per team, one bar per work item."""
    teams = sorted(result.assets)
    horizon = max([it.finish_day for items in result.assets.values() for it in items] or [1])
    left, row, width = 110, 22, 1100
    scale = (width - left - 10) / max(horizon, 1)
    height = row * (len(teams) + 2)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">']
    for d in range(0, horizon + 1, 30):
        x = left + d * scale
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - row}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{x + 2:.1f}" y="{height - 6}">{_on(day0, d)}</text>')
    for k, team in enumerate(teams):
        y = k * row + 4
        parts.append(f'<text x="4" y="{y + 13}">{html.escape(team)}</text>')
        for it in result.assets[team]:
            x = left + it.start_day * scale
            w = max((it.finish_day - it.start_day) * scale, 1.0)
            tip = html.escape(f"{it.item}: {_on(day0, it.start_day)} to "
                              f"{_on(day0, it.finish_day)}, {it.area_m2:,.0f} m²")
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 6}" '
                         f'fill="{_COLOURS.get(it.kind, "#888")}" stroke="#fff">'
                         f'<title>{tip}</title></rect>')
    parts.append("</svg>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>District plan</title>"
            "</head><body><h1>District plan</h1>"
            f"<p>Day 0 = {day0}. Blue: clearance; orange: machine ground preparation. "
            f"Objective {result.objective:,.0f} people-days, found by "
            f"{html.escape(result.source)}.</p>" + "".join(parts) + "</body></html>\n")
