"""Field operations at the command line: `demine lanes`, `coverage`, `qc plan`, `risk`.

A thin door over ``demine.service.fieldwork``: parse the options, call the service,
write the file with ``demine.fieldops.export`` and print a summary. The commands are
registered on the main app at the bottom of ``demine.cli``.

This module does not import ``demine.cli`` at import time: ``python -m demine.cli``
runs that module as ``__main__`` and imports this one while doing so, and a second,
half-built copy of ``demine.cli`` would be imported if this module reached back for it.
The shared helpers (``_errors``, ``_open``, ``_user``, the console) are fetched when a
command runs instead.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from shapely.geometry import LineString

from demine.cli_common import DbOption, UserOption, console, errors, m2, open_repo, user_of
from demine.domain.errors import DemineError
from demine.fieldops.export import SYNTHETIC_LABEL, export_features, export_format
from demine.fieldops.lanes import DEFAULT_BOX_LENGTH_M, DEFAULT_LANE_WIDTH_M
from demine.service import fieldwork

lanes_app = typer.Typer(help="Manual demining lanes and boxes: plan them, report progress.",
                        no_args_is_help=True)
qc_app = typer.Typer(help="Post-clearance inspection (QC): sampling plans.", no_args_is_help=True)

OutOption = Annotated[Path, typer.Option(
    "--out", help="file to write: .geojson (QGIS, web maps), .gpx (GPS) or .kml (Google Earth)")]
LaneWidth = Annotated[float, typer.Option(help="lane width in metres (one deminer's lane)")]
BoxLength = Annotated[float, typer.Option(help="box length in metres along the lane")]
BaseLine = Annotated[str | None, typer.Option(
    help='start line on safe ground, WGS84 "lon lat, lon lat[, ...]"; default: the '
         "longest side of the hazard with all of it on one side")]
PartOption = Annotated[int | None, typer.Option(
    help="which polygon of a multipolygon hazard (1, 2, ...)")]



def _base_line(text: str | None) -> LineString | None:
    """``"lon lat, lon lat"`` as a WGS84 line; refused by name when unreadable."""
    if text is None or not text.strip():
        return None
    points = []
    for i, pair in enumerate(text.split(","), start=1):
        parts = pair.split()
        try:
            lon, lat = (float(v) for v in parts)
        except ValueError as exc:
            raise DemineError(f"--base-line: point {i} {pair.strip()!r} is not "
                              '"longitude latitude"') from exc
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise DemineError(f"--base-line: point {i} ({lon}, {lat}) is not a WGS84 "
                              "longitude/latitude")
        points.append((lon, lat))
    if len(points) < 2:
        raise DemineError('--base-line: needs at least two points, "lon lat, lon lat"')
    return LineString(points)


def _day(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else date.today()
    except ValueError as exc:
        raise DemineError(f"--date: {text!r} is not an ISO date (YYYY-MM-DD)") from exc


def _synthetic_note(synthetic: bool, written: bool = True) -> None:
    if synthetic:
        labelled = ": every feature of the file is labelled so" if written else ""
        console.print(f"[yellow]{SYNTHETIC_LABEL} synthetic data{labelled}; not for "
                             "operational use.[/]")


def _box_ids(values: list[str]) -> list[str]:
    return [i.strip() for v in values for i in v.split(",") if i.strip()]


# --- lanes ---------------------------------------------------------------------------------


@lanes_app.command("plan")
def lanes_plan(
    hazard: Annotated[str, typer.Argument(help="hazard area code, e.g. HA-000068")],
    out: OutOption,
    lane_width: LaneWidth = DEFAULT_LANE_WIDTH_M,
    box_length: BoxLength = DEFAULT_BOX_LENGTH_M,
    base_line: BaseLine = None,
    part: PartOption = None,
    db: DbOption = None,
) -> None:
    """Lay numbered lanes and boxes over a hazard's original polygon and write them."""
    with errors():
        fmt = export_format(out)
        repo = open_repo(db)
        layout, frame, synthetic = fieldwork.hazard_lanes(
            repo, hazard, lane_width=lane_width, box_length=box_length,
            base_line=_base_line(base_line), part=part)
        export_features(fieldwork.lane_features(layout), out, frame, fmt=fmt,
                        synthetic=synthetic)
        ids = list(layout.boxes)
        table = Table(title=f"Lanes of {layout.record}")
        table.add_column("")
        table.add_column("value", justify="right")
        start, end = frame.to_wgs84(layout.base_line).coords[0], \
            frame.to_wgs84(layout.base_line).coords[-1]
        for label, value in (
                ("layout", layout.id),
                ("lanes", f"{len(layout.lanes):,}"), ("boxes", f"{len(ids):,}"),
                ("lane width (m)", f"{layout.lane_width:g}"),
                ("box length (m)", f"{layout.box_length:g}"),
                ("total area (m²)", m2(layout.area_m2)),
                ("first box", ids[0]), ("last box", ids[-1]),
                ("base line", f"{start[0]:.6f} {start[1]:.6f}, {end[0]:.6f} {end[1]:.6f}")):
            table.add_row(label, value)
        console.print(table)
        console.print(f"written: {out} ({fmt}, {len(layout.lanes) + len(ids) + 1} features)")
        _synthetic_note(synthetic)


@lanes_app.command("progress")
def lanes_progress(
    hazard: Annotated[str, typer.Argument(help="hazard area code")],
    boxes: Annotated[list[str], typer.Option(
        "--boxes", help="box ids finished, comma-separated (repeatable): L003-B001,L003-B002")],
    activity: Annotated[str, typer.Option(help="clearance activity code (new or existing)")],
    organisation: Annotated[str, typer.Option("--org", help="reporting organisation code")],
    info_date: Annotated[str | None, typer.Option(
        "--date", help="date of information (ISO 8601); default today")] = None,
    team: Annotated[str | None, typer.Option(help="team code that did the work")] = None,
    submit: Annotated[bool, typer.Option(
        help="submit the draft for approval at once (as the operator)")] = False,
    lane_width: LaneWidth = DEFAULT_LANE_WIDTH_M,
    box_length: BoxLength = DEFAULT_BOX_LENGTH_M,
    base_line: BaseLine = None,
    part: PartOption = None,
    layout: Annotated[str | None, typer.Option(
        help="the layout id `lanes plan` printed (LY-...): checked against these options")]
    = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """File the boxes finished today as a draft clearance report (the released polygon).

    Use the same --lane-width, --box-length and --base-line as `demine lanes plan`, or the
    box ids name other ground; --layout checks that they do.
    """
    with errors():
        repo = open_repo(db)
        who = user_of(user)
        ids = _box_ids(boxes)
        result = fieldwork.lane_progress_draft(
            repo, author=who, organisation_code=organisation, hazard_code=hazard,
            activity_code=activity, box_ids=ids, info_date=_day(info_date), team_code=team,
            lane_width=lane_width, box_length=box_length, base_line=_base_line(base_line),
            part=part, layout_id=layout)
        code, area, plan = result.report_code, result.released_m2, result.plan
        if submit:
            from demine.service import reports

            reports.submit(repo, code, who)
        state = "submitted" if submit else "draft"
        console.print(
            f"report [bold]{code}[/] ({state}): {len(dict.fromkeys(ids))} box(es) of {hazard}, "
            f"{m2(area)} m² cleared by activity {activity} (layout {plan.layout.id})")
        if layout is None:
            console.print(f"[yellow]no --layout given[/]: the boxes were read as layout "
                          f"{plan.layout.id}; check it is the one the team works from")
        if submit:
            console.print(f"next: an information manager approves it with "
                              f"`demine reports approve {code}`")
        else:
            console.print("next: the operator submits the draft (through the API, or file "
                              "with --submit), then an information manager approves it")
        _synthetic_note(plan.synthetic, written=False)


# --- coverage ---------------------------------------------------------------------------------


def coverage(
    hazard: Annotated[str, typer.Argument(help="hazard area code")],
    out: OutOption,
    team: Annotated[str | None, typer.Option(
        help="take the machine from this team (its asset type's defaults and its width)")]
    = None,
    width: Annotated[float | None, typer.Option(help="working width in metres")] = None,
    turn_radius: Annotated[float | None, typer.Option(
        help="minimum turning radius in metres (0: pivots on the spot)")] = None,
    speed: Annotated[float | None, typer.Option(help="working speed in m/s")] = None,
    overlap: Annotated[float | None, typer.Option(
        help="overlap between neighbouring passes in metres")] = None,
    turn_time: Annotated[float | None, typer.Option(help="extra seconds per turn")] = None,
    db: DbOption = None,
) -> None:
    """Plan a coverage path for a flail or robotic platform over what remains of a hazard."""
    with errors():
        fmt = export_format(out)
        repo = open_repo(db)
        options = {"working_width_m": width, "min_turn_radius_m": turn_radius,
                   "speed_m_s": speed, "overlap_m": overlap, "turn_time_s": turn_time}
        machine = fieldwork.choose_machine(repo, team, **options)
        plan, frame, synthetic, left_out = fieldwork.hazard_coverage(repo, hazard, machine)
        features = fieldwork.coverage_features(plan)
        export_features(features, out, frame, fmt=fmt, synthetic=synthetic)
        m = plan.machine
        table = Table(title=f"Coverage path over the remainder of {hazard}")
        table.add_column("")
        table.add_column("value", justify="right")
        hours = plan.time_s / 3600
        for label, value in (
                ("machine", f"{m.name}: {m.working_width_m:g} m wide, turn radius "
                            f"{m.min_turn_radius_m:g} m, {m.speed_m_s:g} m/s"),
                ("swaths", f"{plan.swath_count:,}"),
                ("headland passes", f"{len(plan.headland):,}"),
                ("touch-up passes", f"{len(plan.touch_ups):,}"),
                ("turns", f"{plan.turn_count:,}"),
                ("path length (m)", m2(plan.path_length_m)),
                ("time estimate", f"{hours:,.1f} h ({hours / 8:,.1f} working days of 8 h)"),
                ("area to work (m²)", m2(plan.area_m2)),
                ("coverage", f"{plan.coverage_fraction:.2%}"),
                ("uncovered (m²)", f"{plan.uncovered_m2:,.1f}"),
                ("worked twice (m²)", m2(plan.double_covered_m2))):
            table.add_row(label, value)
        if left_out > 0:
            table.add_row("crumbs left out (m²)", f"{left_out:,.2f}")
        console.print(table)
        console.print(f"written: {out} ({fmt}, {len(features)} features)")
        _synthetic_note(synthetic)


# --- QC ------------------------------------------------------------------------------------------


@qc_app.command("plan")
def qc_plan(
    target: Annotated[str, typer.Argument(help="activity code (its lot) or hazard code")],
    out: OutOption,
    confidence: Annotated[float, typer.Option(
        help="zero acceptance: chance of finding a bad unit if the lot is as bad as --fraction")]
    = 0.95,
    fraction: Annotated[float, typer.Option(
        help="zero acceptance: fraction of bad units the sample must detect")] = 0.01,
    aql: Annotated[float | None, typer.Option(
        help="use ISO 2859-1 (level II, normal, single) at this AQL in %, e.g. 0.65")] = None,
    unit_size: Annotated[float, typer.Option(help="side of a square sample unit, m")] = 1.0,
    seed: Annotated[int | None, typer.Option(
        help="seed of the draw (default: a new one, printed so the draw can be repeated)")]
    = None,
    random: Annotated[bool, typer.Option(
        "--random", help="simple random sample instead of a stratified one")] = False,
    db: DbOption = None,
) -> None:
    """Sampling plan and sample units for the post-clearance inspection of released land."""
    with errors():
        fmt = export_format(out)
        repo = open_repo(db)
        result = fieldwork.qc_plan(repo, target, confidence=confidence, fraction=fraction,
                                   aql=aql, unit_size=unit_size, seed=seed,
                                   stratified=not random)
        r, p = result.released, result.plan
        features = fieldwork.qc_features(result)
        export_features(features, out, r.frame, fmt=fmt, synthetic=r.synthetic)
        of = f" (hazard {r.hazard_code})" if r.kind == "activity" else ""
        table = Table(title=f"QC plan for {r.kind} {r.target}{of}")
        table.add_column("")
        table.add_column("value", justify="right")
        letter = fieldwork.qc_letter(result)
        rows = [("released area (m²)", m2(r.area_m2)),
                ("sample unit", f"{result.unit_size:g} m x {result.unit_size:g} m"),
                ("lot (units)", f"{result.lot_size:,}"),
                ("plan", result.kind)]
        if letter is not None:
            rows += [("AQL", f"{p.aql:g} %"), ("code letter (lot)", letter),
                     ("code letter (plan)", p.code_letter or "")]
        else:
            rows += [("confidence", f"{result.confidence:.0%}"),
                     ("detects a bad fraction of", f"{result.fraction:g}")]
        rows += [("sample size n", f"{p.sample_size:,}"), ("accept number Ac", str(p.accept)),
                 ("reject number Re", str(p.reject)),
                 ("sampling", "stratified" if result.stratified else "simple random"),
                 ("seed", str(result.seed))]
        rows += [(f"Pa at p = {q:g}", f"{pa:.3f}") for q, pa in result.oc]
        for label, value in rows:
            table.add_row(label, value)
        console.print(table)
        console.print(f"written: {out} ({fmt}, {len(result.units)} sample units)")
        _synthetic_note(r.synthetic)


# --- residual risk --------------------------------------------------------------------------------


def risk(
    hazard: Annotated[str, typer.Argument(help="hazard area code")],
    pd: Annotated[float | None, typer.Option(
        help="clearance detection probability for all work (default: by asset type)")]
    = None,
    qc_fraction: Annotated[float | None, typer.Option(
        help="fraction inspected by QC that found nothing (default: passed inspections)")]
    = None,
    pq: Annotated[float | None, typer.Option(help="QC inspector detection probability")] = None,
    plain_density: Annotated[bool, typer.Option(
        "--plain-density", help="density = items / area worked, not its 95 % upper bound")]
    = False,
    db: DbOption = None,
) -> None:
    """Residual-risk statement of a hazard, with the assumptions behind every figure."""
    with errors():
        repo = open_repo(db)
        result = fieldwork.hazard_risk(
            repo, hazard, pd=pd, qc_fraction=qc_fraction, pq=pq,
            density_confidence=None if plain_density else fieldwork.DEFAULT_DENSITY_CONFIDENCE)
        label = f"{SYNTHETIC_LABEL} " if result.synthetic else ""
        console.print(f"[bold]{label}Residual risk of {hazard}[/]")
        lines = result.statements()
        if not lines:
            console.print("no cleared land and no remaining land: nothing to state")
        for line in lines:
            console.print(f"- {line}")
        console.print("[bold]Assumptions[/]")
        for note in result.assumptions:
            console.print(f"- {note}")
        _synthetic_note(result.synthetic, written=False)
