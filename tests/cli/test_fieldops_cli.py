"""`demine lanes`, `coverage`, `qc plan` and `risk` as a site manager runs them: real
processes on the demo district, with every written file read back through GDAL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from demine.store import Repository
from demine.store import schema as s
from demine_cli import run as run_cli

#: An open hazard nobody works on in the demo: lanes and progress reports go here.
OPEN_HAZARD = "HA-000014"
#: Worked on by the robotic platform EBN-RCP1 (activity ACT-000004): coverage, QC, risk.
ROBOT_HAZARD, ROBOT_TEAM, ROBOT_ACTIVITY = "HA-000024", "EBN-RCP1", "ACT-000004"




def run(*args: str, db: str, ok: bool = True):
    return run_cli(*args, db=db, ok=ok, user="sm.test")


def value(out: str, label: str) -> str:
    """The value column of a summary table row."""
    match = re.search(rf"│ {re.escape(label)}\s+│\s+(.+?)\s+│", out)
    assert match, f"no row {label!r} in:\n{out}"
    return match.group(1)




@pytest.fixture(scope="module")
def repo(demo: str) -> Iterator[Repository]:
    repository = Repository.open(demo, create=False)
    yield repository
    repository.close()


def hazard(repo: Repository, code: str) -> dict:
    with repo.reader() as uow:
        return uow.require(s.hazard_areas, code)


def metric(repo: Repository, geom: BaseGeometry) -> BaseGeometry:
    return repo.settings().frame.to_metric(geom)


@pytest.fixture(scope="module")
def lanes_geojson(demo: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("lanes") / "lanes.geojson"
    proc = run("lanes", "plan", OPEN_HAZARD, "--out", str(out), db=demo)
    return out, proc.stdout


def test_lanes_plan_writes_lanes_and_boxes_inside_the_hazard(
        repo: Repository, lanes_geojson: tuple[Path, str]) -> None:
    path, out = lanes_geojson
    lanes, boxes = int(value(out, "lanes")), int(value(out, "boxes").replace(",", ""))
    assert lanes > 50 and boxes > lanes
    frame = pyogrio.read_dataframe(path)
    assert (frame["kind"] == "lane").sum() == lanes and (frame["kind"] == "box").sum() == boxes
    assert (frame["kind"] == "base_line").sum() == 1
    assert frame["synthetic"].all()
    # every feature names the layout the plan printed
    assert set(frame["layout"]) == {value(out, "layout")}
    assert re.fullmatch(r"LY-[0-9A-F]{8}", value(out, "layout"))
    polys = frame[frame["kind"] != "base_line"]
    assert set(polys.geom_type) <= {"Polygon", "MultiPolygon"}
    original = hazard(repo, OPEN_HAZARD)["geom"]
    assert original.buffer(1e-6).covers(shapely.union_all(polys.geometry.values))
    box_area = polys[polys["kind"] == "box"]["area_m2"].sum()
    assert box_area == pytest.approx(hazard(repo, OPEN_HAZARD)["original_m2"], rel=1e-4)
    names = polys[polys["kind"] == "box"]["name"].tolist()
    assert value(out, "first box") == names[0] and value(out, "last box") == names[-1]


def test_lanes_plan_gpx_carries_the_synthetic_label(demo: str, repo: Repository,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "lanes.gpx"
    stdout = run("lanes", "plan", OPEN_HAZARD, "--out", str(out), "--lane-width", "2",
                 "--box-length", "20", db=demo).stdout
    tracks = pyogrio.read_dataframe(out, layer="tracks")
    lanes, boxes = int(value(stdout, "lanes")), int(value(stdout, "boxes"))
    assert len(tracks) == lanes + boxes + 1
    assert set(tracks.geom_type) == {"MultiLineString"}
    assert tracks["desc"].str.startswith("[SYNTHETIC]").all()
    xy = shapely.get_coordinates(tracks.geometry.values)
    area = hazard(repo, OPEN_HAZARD)["geom"].buffer(1e-5)
    assert shapely.contains_xy(area, xy[:, 0], xy[:, 1]).all()


def test_lanes_progress_files_a_draft_and_approval_releases_the_boxes(
        demo: str, repo: Repository, lanes_geojson: tuple[Path, str]) -> None:
    path, _ = lanes_geojson
    frame = pyogrio.read_dataframe(path)
    boxes = frame[frame["kind"] == "box"].sort_values("area_m2", ascending=False)
    first, second = boxes["name"].iloc[:3].tolist(), boxes["name"].iloc[3:8].tolist()
    before = hazard(repo, OPEN_HAZARD)

    out = run("lanes", "progress", OPEN_HAZARD, "--boxes", ",".join(first),
              "--activity", "ACT-LANES-1", "--org", "FDU", "--team", "FDU-MT3",
              "--date", "2026-11-23", db=demo).stdout
    draft = re.search(r"report (RPT-\d+) \(draft\)", out)
    assert draft, out
    with repo.reader() as uow:
        assert uow.require(s.reports, draft.group(1))["status"] == "draft"
    assert hazard(repo, OPEN_HAZARD)["cleared_m2"] == before["cleared_m2"]
    # the operator submits the draft from the CLI; the manager sends it back
    run("reports", "submit", draft.group(1), "--user", "op.site", db=demo)
    with repo.reader() as uow:
        row = uow.require(s.reports, draft.group(1))
        assert row["status"] == "submitted" and row["submitted_at"] is not None
    run("reports", "reject", draft.group(1), "--reason", "wrong boxes", "--user", "im.test",
        db=demo)
    with repo.reader() as uow:
        assert uow.require(s.reports, draft.group(1))["status"] == "rejected"
    assert hazard(repo, OPEN_HAZARD)["cleared_m2"] == before["cleared_m2"]

    # boxes quoted with their layout, but read with another box length: refused, no draft
    layout = frame["layout"].iloc[0]
    count_reports = sa.select(sa.func.count()).select_from(s.reports)
    with repo.reader() as uow:
        drafts = uow.conn.execute(count_reports).scalar()
    other = run("lanes", "progress", OPEN_HAZARD, "--boxes", ",".join(second),
                "--activity", "ACT-LANES-1", "--org", "FDU", "--layout", layout,
                "--box-length", "5", db=demo, ok=False)
    assert other.returncode == 1 and layout in other.stderr and "layout" in other.stderr
    with repo.reader() as uow:
        assert uow.conn.execute(count_reports).scalar() == drafts

    out = run("lanes", "progress", OPEN_HAZARD, "--boxes", ",".join(second[:2]),
              "--boxes", ",".join(second[2:]), "--activity", "ACT-LANES-1", "--org", "FDU",
              "--team", "FDU-MT3", "--date", "2026-11-23", "--submit", "--layout",
              layout.lower(), db=demo).stdout
    submitted = re.search(r"report (RPT-\d+) \(submitted\)", out)
    assert submitted, out
    assert f"layout {layout}" in out and "no --layout given" not in out
    approved = run("reports", "approve", submitted.group(1), "--user", "im.test", db=demo).stdout
    assert OPEN_HAZARD in approved and "open -> worked_on" in approved
    after = hazard(repo, OPEN_HAZARD)
    expected = boxes["area_m2"].iloc[3:8].sum()
    assert after["cleared_m2"] - before["cleared_m2"] == pytest.approx(expected, rel=0.01)
    assert after["status"] == "worked_on"
    with repo.reader() as uow:
        activity = uow.require(s.activities, "ACT-LANES-1")
        assert activity["type"] == "clearance" and activity["status"] == "in_progress"
        assert activity["team_id"] == uow.require(s.teams, "FDU-MT3")["id"]

    again = run("lanes", "progress", OPEN_HAZARD, "--boxes", second[0], "--activity",
                "ACT-LANES-1", "--org", "FDU", db=demo, ok=False)
    assert again.returncode == 1 and second[0] in again.stderr
    assert "no remaining land" in again.stderr


def test_coverage_for_a_robotic_team_writes_its_route(demo: str, repo: Repository,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "route.kml"
    stdout = run("coverage", ROBOT_HAZARD, "--team", ROBOT_TEAM, "--out", str(out),
                 db=demo).stdout
    swaths = int(value(stdout, "swaths"))
    assert swaths > 10 and value(stdout, "coverage") == "100.00%"
    assert "2.6 m wide" in value(stdout, "machine")
    assert float(value(stdout, "time estimate").split()[0]) > 1
    legs = pyogrio.read_dataframe(out)
    assert (legs["kind"] == "swath").sum() == swaths
    assert set(legs.geom_type) == {"LineString"}
    assert legs["synthetic"].all()
    assert legs["description"].str.startswith("[SYNTHETIC]").all()
    route = metric(repo, shapely.union_all(legs.geometry.values))
    remainder = hazard(repo, ROBOT_HAZARD)["remaining_m"]
    remainder = shapely.set_srid(remainder, 0)
    assert remainder.buffer(2.6).covers(route)  # on the remainder, or turning just off it


def test_qc_plan_zero_acceptance_then_iso(demo: str, repo: Repository, tmp_path: Path) -> None:
    out = tmp_path / "qc.geojson"
    stdout = run("qc", "plan", ROBOT_ACTIVITY, "--out", str(out), "--seed", "7",
                 db=demo).stdout
    assert value(stdout, "sample size n") == "299" and value(stdout, "accept number Ac") == "0"
    assert value(stdout, "Pa at p = 0.01") == "0.050"
    frame = pyogrio.read_dataframe(out)
    units = frame[frame["kind"] == "sample_unit"]
    assert len(units) == 299 and (frame["kind"] == "unit_centre").sum() == 299
    assert set(units.geom_type) == {"Polygon"} and frame["synthetic"].all()
    with repo.reader() as uow:
        act = uow.require(s.activities, ROBOT_ACTIVITY)
        released = shapely.union_all([g for (g,) in uow.conn.execute(
            s.outcome_polygons.select().with_only_columns(s.outcome_polygons.c.geom).where(
                s.outcome_polygons.c.activity_id == act["id"],
                s.outcome_polygons.c.void.is_(False)))])
    assert released.buffer(1e-6).covers(shapely.union_all(units.geometry.values))

    again = tmp_path / "again.gpx"
    run("qc", "plan", ROBOT_ACTIVITY, "--out", str(again), "--seed", "7", db=demo)
    waypoints = pyogrio.read_dataframe(again, layer="waypoints")
    assert sorted(waypoints["name"]) == sorted(units["name"])

    iso = run("qc", "plan", ROBOT_ACTIVITY, "--out", str(tmp_path / "iso.kml"), "--aql", "0.65",
              "--seed", "1", db=demo).stdout
    assert 35_001 <= int(value(iso, "lot (units)").replace(",", "")) <= 150_000
    assert value(iso, "code letter (lot)") == "N"  # the letter of such a lot
    assert value(iso, "sample size n") == "500" and value(iso, "accept number Ac") == "7"


def test_risk_prints_statements_and_assumptions(demo: str) -> None:
    out = run("risk", ROBOT_HAZARD, db=demo).stdout
    assert "[SYNTHETIC] Residual risk of HA-000024" in out
    assert "The cleared part of HA-000024" in out and "probability that none remain" in out
    assert "remaining (unworked) part of HA-000024" in out
    assert "Pd 0.9 for activity ACT-000004: assumed for robotic_platform" in out
    assert "5 item(s) found" in out
    forced = run("risk", ROBOT_HAZARD, "--pd", "0.5", "--plain-density", db=demo).stdout
    assert "Pd 0.5 for all clearance (given)" in forced
    assert "detection probability of 0.5" in forced and "upper bound" not in forced
    prior = run("risk", "HA-000018", db=demo).stdout
    assert "assumed prior" in prior and "not yet searched" in prior


@pytest.mark.parametrize(("args", "named"), [
    (("lanes", "plan", "HA-999999", "--out", "x.geojson"), "HA-999999"),
    (("lanes", "plan", OPEN_HAZARD, "--out", "x.geojson", "--lane-width", "0"), "lane_width"),
    (("lanes", "plan", OPEN_HAZARD, "--out", "x.shp"), "x.shp"),
    (("lanes", "plan", OPEN_HAZARD, "--out", "x.gpx", "--base-line", "171.7 south"),
     "--base-line"),
    (("lanes", "progress", OPEN_HAZARD, "--boxes", "L001-B001,L999-B999", "--activity",
      "ACT-X", "--org", "FDU"), "L999-B999"),
    (("coverage", ROBOT_HAZARD, "--out", "x.kml", "--width", "0"), "working_width_m"),
    (("coverage", "HA-999999", "--out", "x.kml", "--width", "2"), "HA-999999"),
    (("coverage", ROBOT_HAZARD, "--out", "x.kml", "--team", "FDU-MT1"), "manual_team"),
    (("qc", "plan", "HA-000018", "--out", "x.gpx"), "HA-000018"),
    (("risk", "HA-999999"), "HA-999999"),
])
def test_bad_input_is_one_line_naming_the_thing(demo: str, tmp_path: Path,
                                                args: tuple[str, ...], named: str) -> None:
    args = tuple(str(tmp_path / a) if a.startswith("x.") else a for a in args)
    proc = run(*args, db=demo, ok=False)
    assert proc.returncode == 1
    assert named in proc.stderr and "error:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing half-written
