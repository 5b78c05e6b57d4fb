"""`demine scenario compare` and the productivity table of `demine plan`, as an officer runs
them: real processes on a real record, outputs read back."""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from demine_world import OPERATOR, World
from shapely.geometry import Point, box

from demine.domain.entities import Team
from demine.domain.vocab import AssetType
from demine.service import reference
from demine.store import Repository
from demine_cli import run

START = "2026-12-01"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    run("demo", db=str(path))
    return str(path)


@pytest.fixture(scope="module")
def compared(demo: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    out = tmp_path_factory.mktemp("compare")
    html, table = out / "compare.html", out / "compare.csv"
    proc = run("scenario", "compare", "baseline", "two-more-robots", "--time-limit", "2",
               "--runs", "300", "--start", START, "--out", str(html), db=demo)
    run("scenario", "compare", "baseline", "two-more-robots", "--time-limit", "1",
        "--runs", "200", "--start", START, "--out", str(table), db=demo)
    return proc.stdout, html, table


def test_compare_prints_the_scenarios_side_by_side(compared):
    out, _, _ = compared
    assert "A: Baseline" in out and "B: Two more robotic platforms" in out
    for day in (30, 60, 90, 120):
        when = (date.fromisoformat(START) + timedelta(days=day)).isoformat()
        row = re.search(rf"open by day {day} \({when}\)\s+│(.*)│(.*)│", out)
        assert row, f"day {day} missing:\n{out}"
        for cell in row.groups():
            m = re.search(r"P50 (\d+) · plan (\d+)", cell)
            assert m and 0 <= int(m.group(1)) <= 37 and 0 <= int(m.group(2)) <= 37
    assert re.search(r"person-days avoided vs A\s+│\s+-\s+│\s+P50 [+-][\d,]+ · plan \+[\d,]+",
                     out), out
    assert re.search(r"all work finished P90\s+│\s+\d{4}-\d\d-\d\d\s+│\s+\d{4}-\d\d-\d\d", out)
    assert "added NEW-RCP1, NEW-RCP2 (robotic_platform" in out


def test_compare_writes_an_offline_chart(compared):
    _, html, _ = compared
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 1
    assert page.count("<polyline") == 4                 # P50 and plan per scenario
    assert page.count("<polygon") == 2                  # the P10-P90 bands
    assert "Two more robotic platforms" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_compare_writes_the_curves_as_csv(compared):
    _, _, table = compared
    with table.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = {r["scenario"] for r in rows}
    assert names == {"Baseline", "Two more robotic platforms"}
    for name in names:
        mine = [r for r in rows if r["scenario"] == name]
        assert [int(r["day"]) for r in mine] == list(range(len(mine)))
        assert mine[0]["date"] == START
        p50 = [float(r["open_p50"]) for r in mine]
        assert p50 == sorted(p50) and p50[-1] == 37
        assert all(float(r["open_p10"]) <= float(r["open_p50"]) <= float(r["open_p90"])
                   for r in mine)


def test_bad_scenario_names_file_key_and_problem(demo, tmp_path):
    bad = tmp_path / "lose.yaml"
    bad.write_text("unavailable:\n  - {asset: FDU-MT9, from: 0, to: 29}\n", encoding="utf-8")
    proc = run("scenario", "compare", "baseline", str(bad), "--time-limit", "1", db=demo,
               ok=False)
    err = " ".join(proc.stderr.split())
    assert proc.returncode == 1
    assert str(bad) in err.replace(" ", "") or str(bad) in err
    assert "unavailable[0].asset" in err and "FDU-MT9" in err
    assert "Scenarios compared" not in proc.stdout      # refused before any solving

    broken = tmp_path / "broken.yaml"
    broken.write_text("add_assets: [{type: robotic\n", encoding="utf-8")
    proc = run("scenario", "compare", str(broken), db=demo, ok=False)
    assert proc.returncode == 1 and "not valid YAML" in " ".join(proc.stderr.split())

    proc = run("scenario", "compare", "baseline", "--out", str(tmp_path / "x.png"), db=demo,
               ok=False)
    assert proc.returncode == 1 and "expected .html or .csv" in " ".join(proc.stderr.split())


def test_plan_prints_which_assets_use_learned_productivity(tmp_path):
    """A team that reported 10,000 m² in 12 working days plans at 833 m²/day, not 300."""
    db = str(tmp_path / "small.sqlite")
    repo = Repository.open(db)
    try:
        w = World(repo).setup()
        with repo.unit("im.alice", "teams") as uow:
            reference.add_team(uow, Team("ALPHA-MT1", OPERATOR, AssetType.MANUAL_TEAM, 10,
                                         300.0))
            reference.add_team(uow, Team("ALPHA-MT2", OPERATOR, AssetType.MANUAL_TEAM, 10,
                                         280.0))
        w.settlement("STL-A", Point(0, -300), population=500)
        w.file(date(2026, 1, 2), [w.hazard_entry("HA-1", box(0, 0, 200, 100))])
        w.file(date(2026, 1, 5), [w.activity_entry(
            "ACT-1", "HA-1", type="clearance", status="in_progress", team_code="ALPHA-MT1",
            actual_start="2026-01-05")])
        w.file(date(2026, 1, 18), [w.activity_entry("ACT-1", "HA-1",
                                                    [("cleared", box(0, 0, 100, 100))])])
    finally:
        repo.close()
    out = run("plan", "--time-limit", "1", "--start", "2026-02-01", db=db).stdout
    assert "Productivity used" in out and "learned for 1 of 2 assets" in out
    assert re.search(r"│ ALPHA-MT1 │ manual_team\s+│\s+833 │ learned from reported progress",
                     out), out
    assert re.search(r"│ ALPHA-MT2 │ manual_team\s+│\s+280 │ team register\s+│ no clearance "
                     r"progress reported", out), out
