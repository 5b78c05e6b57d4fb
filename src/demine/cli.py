"""The `demine` command: a thin door over the services (no rule lives here).

Every command finds its database the same way (``--db``, else ``DEMINE_DB``, else
``./demine.sqlite``) and signs its writes with ``--user`` (else ``DEMINE_USER``,
else the login name), so the audit trail always says who.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from demine.cli_common import (
    DbOption,
    UserOption,
    console,
    progress_bar,
)
from demine.cli_common import errors as _errors
from demine.cli_common import m2 as _m2
from demine.cli_common import open_repo as _open
from demine.cli_common import user_of as _user
from demine.domain.errors import DemineError
from demine.domain.vocab import ActivityStatus, ActivityType, ReleaseMethod
from demine.geo.crs import MetricFrame
from demine.service import queries, reports
from demine.service import status as status_service
from demine.store import Repository
from demine.store import schema as s

app = typer.Typer(help="demine: the record of explosive hazards, land release and settlements.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
reports_app = typer.Typer(help="Reports: list, approve and reject.", invoke_without_command=True)
app.add_typer(reports_app, name="reports")
@app.command()
def init(
    db: DbOption = None,
    metric_crs: Annotated[str | None, typer.Option(
        help="projected CRS for areas and distances, e.g. EPSG:32636; default: UTM zone "
             "of the first data's centroid")] = None,
    closure_distance: Annotated[float | None, typer.Option(
        help="a settlement is closed while an unreleased hazard lies within this many metres")]
    = None,
    name: Annotated[str | None, typer.Option(help="project name")] = None,
    user: UserOption = None,
) -> None:
    """Create (or upgrade) the database and set the project's settings."""
    with _errors():
        repo = _open(db, create=True)
        with repo.unit(_user(user), "project settings") as uow:
            if metric_crs:
                try:
                    frame = MetricFrame(metric_crs)
                except Exception as exc:
                    raise DemineError(f"project: metric_crs: {exc}") from exc
                uow.set_setting("metric_crs", frame.crs)
            if closure_distance is not None:
                if closure_distance <= 0:
                    raise DemineError("project: closure_distance: must be above 0 m")
                uow.set_setting("closure_distance_m", repr(float(closure_distance)))
                status_service.refresh(uow)
            if name:
                uow.set_setting("name", name)
        settings = repo.settings()
        console.print(f"database ready: [bold]{repo.display_url}[/]")
        console.print(f"metric CRS: {settings.metric_crs or '(chosen from the first data)'}; "
                      f"closure distance: {settings.closure_distance_m:g} m")


@app.command()
def demo(
    db: DbOption = None,
    seed: Annotated[int, typer.Option(help="seed of the synthetic district")] = 7,
    serve: Annotated[bool, typer.Option(
        "--serve", help="then serve it: the web page, API and tiles, with demo accounts")] = False,
    host: Annotated[str, typer.Option(help="with --serve: address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="with --serve: TCP port")] = 8000,
) -> None:
    """Load the synthetic demo district (safe to re-run) and print its summary."""
    from demine.scenario.district import load_demo

    with _errors():
        repo = _open(db, create=True)
        with progress_bar() as progress:
            summary = load_demo(repo, seed=seed, progress=progress)
        console.print(f"[bold]{summary.message()}[/]")
        console.print("[yellow]SYNTHETIC DATA: a made-up district for demonstration and "
                      "training, not a real contaminated area.[/]")
        _print_status(repo)
        _print_teams(repo)
        console.print(f"database: {repo.display_url}  (try `demine status`, `demine hazards`, "
                      "`demine history HA-...`)")
        if serve:
            url = repo.url
            _demo_accounts(repo)
    if serve:
        from demine.cli_server import serve_demo

        serve_demo(url, host=host, port=port)


#: user name -> (role, organisation) of the accounts ``demine demo --serve`` provides
DEMO_ACCOUNTS = {
    "demo.im": ("information_manager", None),
    "demo.operator": ("operator_editor", "FDU"),
    "demo.viewer": ("viewer", None),
}


def _demo_accounts(repo: Repository) -> None:
    """Demo accounts with passwords made up now and shown once: nothing to remember,
    nothing in the repository, and an earlier run's passwords stop working."""
    import secrets

    from demine.service import accounts

    table = Table(title="Demo accounts (passwords valid until the next `demine demo --serve`)")
    for col in ("user", "role", "password"):
        table.add_column(col)
    existing = {u.username for u in accounts.list_users(repo)}
    for name, (role, org) in DEMO_ACCOUNTS.items():
        password = secrets.token_urlsafe(12)
        if name in existing:
            accounts.reset_password(repo, author="demine demo", username=name,
                                    password=password)
        else:
            accounts.add_user(repo, author="demine demo", username=name, password=password,
                              role=role, organisation_code=org)
        table.add_row(name, role + (f" ({org})" if org else ""), password)
    console.print(table)


def _print_status(repo: Repository, closed_only: bool = True) -> None:
    ind = queries.indicator(repo)
    table = Table(title="Settlements closed by hazards" if closed_only else "Settlements")
    for col in ("settlement", "name", "population", "status", "closed by (hazard, remaining m²)"):
        table.add_column(col, justify="right" if col == "population" else "left")
    for st in queries.settlement_statuses(repo, only_closed=closed_only):
        reasons = ", ".join(f"{b.hazard_code} ({_m2(b.remaining_m2)})" for b in st.blockers)
        colour = "red" if st.status == "closed" else "green"
        table.add_row(st.code, st.name, f"{st.population:,}", f"[{colour}]{st.status}[/]",
                      reasons or "-")
    console.print(table)
    land = queries.land_totals(repo)
    lt = Table(title="Land by status (m²)")
    for col in ("status", "hazard areas", "remaining m²"):
        lt.add_column(col, justify="left" if col == "status" else "right")
    for st_name in ("open", "worked_on", "released"):
        lt.add_row(st_name, str(land.count_by_status.get(st_name, 0)),
                   _m2(land.by_status.get(st_name, 0.0)))
    for method, area in land.released_by_method.items():
        lt.add_row(f"released: {method}", "", _m2(area))
    console.print(lt)
    console.print(f"[bold]{ind.headline}[/] ({ind.population_closed:,} of "
                  f"{ind.population_total:,} people live in closed settlements)")


def _print_teams(repo: Repository) -> None:
    table = Table(title="Teams and assets")
    for col in ("team", "organisation", "type", "people", "m²/day", "available", "working on"):
        table.add_column(col)
    for t in queries.teams(repo):
        table.add_row(t.code, t.organisation, t.asset_type, str(t.headcount),
                      _m2(t.productivity_m2_day), "yes" if t.available else "no",
                      ", ".join(t.working_on) or "-")
    console.print(table)


@app.command()
def status(
    db: DbOption = None,
    all_settlements: Annotated[bool, typer.Option(
        "--all", help="list open settlements too")] = False,
    month: Annotated[bool, typer.Option(help="land released by method and month")] = False,
) -> None:
    """Settlements open/closed with the hazards that close them; the district indicator."""
    with _errors():
        repo = _open(db)
        _print_status(repo, closed_only=not all_settlements)
        if month:
            land = queries.land_totals(repo)
            table = Table(title="Land released by method and month (m²)")
            for col in ("month", *(m.value for m in ReleaseMethod)):
                table.add_column(col, justify="right")
            for key, per in land.released_by_month.items():
                table.add_row(key, *(_m2(per[m.value]) for m in ReleaseMethod))
            console.print(table)


@app.command("hazards")
def hazards_cmd(
    db: DbOption = None,
    status_filter: Annotated[str | None, typer.Option(
        "--status", help="open, worked_on or released")] = None,
) -> None:
    """Hazard areas with their land release accounting (m²)."""
    with _errors():
        repo = _open(db)
        try:
            rows = queries.hazards(repo, status=status_filter)
        except ValueError as exc:
            raise DemineError(f"--status: {exc}") from exc
        table = Table(title="Hazard areas")
        for col in ("code", "class", "status", "EO", "original", "cancelled", "reduced",
                    "cleared", "remaining"):
            table.add_column(col, justify="right" if col in (
                "original", "cancelled", "reduced", "cleared", "remaining") else "left")
        for h in rows:
            eo = ",".join(h.eo_confirmed or h.eo_suspected)
            table.add_row(h.code, h.classification, h.status, eo, _m2(h.original_m2),
                          _m2(h.cancelled_m2), _m2(h.reduced_m2), _m2(h.cleared_m2),
                          _m2(h.remaining_m2))
        console.print(table)
        console.print(f"{len(rows)} hazard area(s)")


def _read_outcomes(path: Path, method: ReleaseMethod) -> list[dict]:
    """Outcome polygons from a GeoJSON file: a geometry, a Feature or a FeatureCollection."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DemineError(f"{path}: not a readable GeoJSON file: {exc}") from exc
    if not isinstance(data, dict):
        raise DemineError(f"{path}: GeoJSON must be an object")
    if data.get("type") == "FeatureCollection":
        features = data.get("features") or []
    elif data.get("type") == "Feature":
        features = [data]
    else:
        features = [{"type": "Feature", "geometry": data, "properties": {}}]
    if not features:
        raise DemineError(f"{path}: holds no feature")
    outcomes = []
    for i, feature in enumerate(features):
        props = feature.get("properties") or {}
        if not feature.get("geometry"):
            raise DemineError(f"{path}: feature {i}: geometry: missing")
        outcomes.append({"method": props.get("method", method.value),
                         "geometry": feature["geometry"]})
    return outcomes


_DEFAULT_TYPE = {ReleaseMethod.CANCELLED: ActivityType.NTS, ReleaseMethod.REDUCED: ActivityType.TS,
                 ReleaseMethod.CLEARED: ActivityType.CLEARANCE}


@app.command()
def release(
    hazard: Annotated[str, typer.Argument(help="hazard area code, e.g. HA-000012")],
    geojson: Annotated[Path, typer.Argument(help="GeoJSON file with the released polygon(s)")],
    method: Annotated[ReleaseMethod, typer.Option(help="how the land was released")]
    = ReleaseMethod.CLEARED,
    activity: Annotated[str | None, typer.Option(help="activity code (new or existing)")] = None,
    organisation: Annotated[str | None, typer.Option(
        "--org", help="reporting organisation code; default: the activity's or the NMAA")]
    = None,
    info_date: Annotated[str | None, typer.Option(
        "--date", help="date of information (ISO 8601); default today")] = None,
    completed: Annotated[bool, typer.Option(help="mark the activity completed")] = True,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """File and approve a report releasing land of a hazard, then show what changed."""
    with _errors():
        repo = _open(db)
        who = _user(user)
        try:
            day = date.fromisoformat(info_date) if info_date else date.today()
        except ValueError as exc:
            raise DemineError(f"--date: {info_date!r} is not an ISO date") from exc
        with repo.reader() as uow:
            before = uow.require(s.hazard_areas, hazard)
            act = uow.row(s.activities, code=activity) if activity else None
            org_code = organisation or _default_org(uow, act)
            activity = activity or uow.next_code(s.activities, f"ACT-{hazard}")
        payload: dict = {"code": activity, "hazard_code": hazard,
                         "outcomes": _read_outcomes(geojson, method)}
        if act is None:
            payload["type"] = _DEFAULT_TYPE[method].value
        if completed:
            payload.update(status=ActivityStatus.COMPLETED.value, actual_end=day.isoformat())
        code = reports.create_draft(repo, author=who, organisation_code=org_code, info_date=day,
                                    entries=[("activity", payload)],
                                    summary=f"release of {hazard} from {geojson.name}")
        reports.submit(repo, code, who)
        result = reports.approve(repo, code, who)
        _print_approval(repo, result, before)


def _default_org(uow, act: dict | None) -> str:
    if act is not None:
        row = uow.row(s.organisations, id=act["organisation_id"])
        return row["code"]
    row = uow.conn.execute(s.organisations.select().where(
        s.organisations.c.kind == "nmaa").order_by(s.organisations.c.id)).mappings().first()
    if row is None:
        raise DemineError("--org: no organisation given and no NMAA on record")
    return row["code"]


def _print_approval(repo: Repository, result: reports.ApprovalResult, before: dict | None) -> None:
    console.print(f"report [bold]{result.report_code}[/] approved")
    table = Table(title="Hazard areas changed")
    for col in ("hazard", "status", "remaining m² before", "remaining m² after"):
        table.add_column(col)
    for h in result.hazards:
        table.add_row(h.code, f"{h.status_before} -> {h.status_after}",
                      _m2(h.remaining_before_m2 or 0.0), _m2(h.remaining_after_m2))
    console.print(table)
    for code in result.reopened:
        console.print(f"[bold green]settlement {code} reopened[/]")
    for code in result.closed:
        console.print(f"[bold red]settlement {code} closed[/]")
    console.print(queries.indicator(repo).headline)


@app.command()
def history(
    code: Annotated[str, typer.Argument(help="code of any record: hazard, settlement, report...")],
    db: DbOption = None,
) -> None:
    """The audit trail of a record: who changed what, when and why."""
    with _errors():
        repo = _open(db)
        lines = queries.history(repo, code)
        if not lines:
            raise DemineError(f"{code}: no record with this code has a history")
        table = Table(title=f"History of {code}")
        for col in ("when (UTC)", "record", "v", "who", "action", "why", "what changed"):
            table.add_column(col, overflow="fold")
        for ln in lines:
            changed = "created" if ln.action == "create" else "; ".join(
                f"{k}: {_short(a)} -> {_short(b)}" for k, (a, b) in ln.changed.items())
            at = ln.at.strftime("%Y-%m-%d %H:%M:%S") if hasattr(ln.at, "strftime") else str(ln.at)
            table.add_row(at, ln.entity, str(ln.version), ln.author, ln.action, ln.reason,
                          changed)
        console.print(table)


def _short(value: object, limit: int = 40) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    text = str(value)
    if text.startswith(("POLYGON", "MULTIPOLYGON", "POINT", "LINESTRING", "MULTILINESTRING")):
        return f"<{text.split(' ', 1)[0].lower()}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@reports_app.callback()
def reports_list(
    ctx: typer.Context,
    db: DbOption = None,
    status_filter: Annotated[str | None, typer.Option(
        "--status", help="draft, submitted, approved or rejected")] = None,
) -> None:
    """List reports (by default all; `--status submitted` is the approval queue)."""
    if ctx.invoked_subcommand is not None:
        return
    with _errors():
        repo = _open(db)
        table = Table(title="Reports")
        for col in ("report", "status", "date of information", "author", "org", "entries",
                    "decided by", "reason"):
            table.add_column(col)
        for r in queries.reports(repo, status=status_filter):
            table.add_row(r.code, r.status, str(r.info_date), r.author, r.organisation,
                          str(r.entries), r.decided_by or "", r.decision_reason or "")
        console.print(table)


@reports_app.command("submit")
def reports_submit(
    report: Annotated[str, typer.Argument(help="report code of a draft, e.g. RPT-000004")],
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Submit a draft for approval (it changes nothing in the record until approved)."""
    with _errors():
        repo = _open(db)
        reports.submit(repo, report, _user(user))
        console.print(f"report [bold]{report}[/] submitted; it waits in `demine reports "
                      "--status submitted` for an information manager")


@reports_app.command("approve")
def reports_approve(
    report: Annotated[str, typer.Argument(help="report code, e.g. RPT-000004")],
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Approve a submitted report: apply it to the official record."""
    with _errors():
        repo = _open(db)
        _print_approval(repo, reports.approve(repo, report, _user(user)), None)


@reports_app.command("reject")
def reports_reject(
    report: Annotated[str, typer.Argument(help="report code")],
    reason: Annotated[str, typer.Option(help="why the report is rejected (required)")],
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Reject a submitted report with a reason; nothing in the record changes."""
    with _errors():
        repo = _open(db)
        reports.reject(repo, report, _user(user), reason)
        console.print(f"report [bold]{report}[/] rejected: {reason}")


# Field operations (issue 7): lanes, coverage paths, QC plans, residual risk.
from demine import cli_fieldops  # noqa: E402

app.add_typer(cli_fieldops.lanes_app, name="lanes")
app.add_typer(cli_fieldops.qc_app, name="qc")
app.command("coverage")(cli_fieldops.coverage)
app.command("risk")(cli_fieldops.risk)

# Import of files (issue 3): settlements, teams, hazards.
from demine import cli_import  # noqa: E402

app.command("import")(cli_import.import_command)

# Data exchange (issue 3): export to GeoPackage, Shapefile, GeoJSON, KML, CSV, XLSX.
from demine import cli_exchange  # noqa: E402

app.command("export")(cli_exchange.export)

# Field forms (issue 3): build the XLSForms, ingest their submissions as drafts.
from demine import cli_forms  # noqa: E402

app.add_typer(cli_forms.forms_app, name="forms")

# District planning (issue 6): plan, forecast and compare scenarios.
from demine import cli_planning, cli_scenario  # noqa: E402

app.command("plan")(cli_planning.plan)
app.command("forecast")(cli_planning.forecast)
app.add_typer(cli_scenario.app, name="scenario")

# The server (issue 4): serve, and its accounts.
from demine import cli_server  # noqa: E402

app.command("serve")(cli_server.serve)
app.add_typer(cli_server.users_app, name="users")

if __name__ == "__main__":
    app()
