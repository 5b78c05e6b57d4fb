"""`demine plan` and `demine forecast` as an operations officer runs them: real processes
on the demo district, with the written assignments read back through GDAL."""

from __future__ import annotations

import re
from pathlib import Path

import pyogrio
import pytest

from demine.store import Repository
from demine.store import schema as s
from demine_cli import run as run_cli

START = "2026-12-01"


def run(*args: str, db: str, ok: bool = True):
    return run_cli(*args, db=db, ok=ok, user="ops.test")






@pytest.fixture(scope="module")
def closed(demo: str) -> list[str]:
    repo = Repository.open(demo, create=False)
    try:
        with repo.reader() as uow:
            rows = uow.conn.execute(s.settlements.select()
                                    .where(s.settlements.c.status == "closed")).all()
    finally:
        repo.close()
    return sorted(r.code for r in rows)


@pytest.fixture(scope="module")
def planned(demo: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("plan")
    proc = run("plan", "--time-limit", "3", "--start", START, "--out", str(out), db=demo)
    return proc.stdout, out


def test_plan_names_every_closed_settlement_with_a_date(planned, closed):
    out, _ = planned
    assert len(closed) == 37
    for code in closed:
        assert re.search(rf"│ {code}\s+│.*│ \d{{4}}-\d\d-\d\d\s+│\s+\d+ │", out), code
    assert "found by" in out and "gap" in out and "proven optimal" in out
    assert "terrain, slope and density are not in the record" in out


def test_plan_files_read_back(planned):
    _, out = planned
    table = pyogrio.read_dataframe(out / "assignments.csv")
    features = pyogrio.read_dataframe(out / "assignments.geojson")
    assert len(table) == len(features) > 0
    assert (table["finish_day"].astype(int) >= table["start_day"].astype(int)).all()
    assert (features["finish"] >= features["start"]).all()
    assert features.geometry.notna().all()
    assert set(features.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    assert table["item"].is_unique
    gantt = (out / "gantt.html").read_text(encoding="utf-8")
    assert "<svg" in gantt and "http://" not in gantt.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_forecast_p50_before_p90(demo, closed):
    out = run("forecast", "--runs", "2000", "--time-limit", "3", "--start", START,
              db=demo).stdout
    for code in closed:
        m = re.search(rf"│ {code}\s+│.*?│ (\S+)\s+│ (\S+)\s+│ (\S+)\s+│", out)
        assert m, f"{code} missing:\n{out}"
        assert m.group(2) <= m.group(3), code
    for day in ("30", "60", "90", "120"):
        assert re.search(rf"│\s+{day} │", out)


def test_bad_profile_names_the_file(demo, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("criteria: [1, 2\n", encoding="utf-8")
    proc = run("plan", "--profile", str(bad), "--time-limit", "1", db=demo, ok=False)
    assert proc.returncode == 1
    assert str(bad) in proc.stderr.replace("\n", "")
