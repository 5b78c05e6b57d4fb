"""The `demine` command as a user runs it: a real process on a real database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import shapely
from shapely.geometry import Point, box, mapping

from demine.domain.entities import Organisation, Settlement
from demine.domain.vocab import OrganisationKind
from demine.service import queries, reference, reports
from demine.store import Repository
from demine.store import schema as s
from demine_cli import run


def _small_world(url: str) -> Repository:
    """One settlement, one hazard 200 m east of it; both from the services."""
    repo = Repository.open(url)
    with repo.unit("im.test", "setup") as uow:
        reference.add_organisation(uow, Organisation("MAC", "Centre", OrganisationKind.NMAA))
        reference.add_organisation(uow, Organisation("OP1", "Operator", OrganisationKind.OPERATOR))
        reference.add_settlement(uow, Settlement("STL-1", "Alpha", "D1", Point(171.6, -43.6), 800))
    hazard = box(171.6025, -43.6010, 171.6045, -43.5990)
    code = reports.create_draft(
        repo, author="op.one", organisation_code="OP1", info_date=date(2026, 10, 1),
        entries=[("new_hazard", {"code": "HA-1", "geometry": mapping(hazard),
                                 "eo_suspected": ["ap_mine"]})])
    reports.submit(repo, code, "op.one")
    reports.approve(repo, code, "im.test")
    return repo


def test_release_reopens_and_history_names_who(db_url: str, tmp_path: Path) -> None:
    repo = _small_world(db_url)
    assert queries.indicator(repo).closed == 1
    half = tmp_path / "half.geojson"
    half.write_text(json.dumps(mapping(box(171.6025, -43.6010, 171.6035, -43.5990))))
    out = run("release", "HA-1", str(half), "--user", "sm.alpha", "--date", "2026-11-01",
              db=db_url).stdout
    assert "1 of 1 settlements closed" in out
    assert "reopened" not in out
    rest = tmp_path / "rest.geojson"
    rest.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"method": "reduced"},
        "geometry": mapping(box(171.6035, -43.6010, 171.6045, -43.5990))}]}))
    out = run("release", "HA-1", str(rest), "--user", "sm.alpha", "--date", "2026-11-02",
              db=db_url).stdout
    assert "settlement STL-1 reopened" in out
    assert "0 of 1 settlements closed" in out
    hz = queries.hazards(repo)[0]
    assert hz.status == "released"
    assert abs(hz.original_m2 - hz.cleared_m2 - hz.reduced_m2 - hz.remaining_m2) < 1.0
    assert hz.reduced_m2 > 0 and hz.cleared_m2 > 0
    history = run("history", "HA-1", db=db_url).stdout
    assert "sm.alpha" in history and "released" in history and "op.one" in history
    settlement_history = run("history", "STL-1", db=db_url).stdout
    assert "status" in settlement_history and "open" in settlement_history


def test_release_outside_hazard_is_refused_and_nothing_changes(db_url: str,
                                                               tmp_path: Path) -> None:
    repo = _small_world(db_url)
    with repo.reader() as uow:
        audit_before = uow.conn.execute(s.audit_log.select()).all()
    reports_before = queries.reports(repo)
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(mapping(box(171.6035, -43.6010, 171.6100, -43.5990))))
    proc = run("release", "HA-1", str(bad), "--user", "sm.alpha", db=db_url, ok=False)
    assert proc.returncode == 1
    assert "outside hazard area HA-1" in proc.stderr
    assert re.search(r"report RPT-\d+ entry 1: outcome polygon", proc.stderr)
    assert queries.hazards(repo)[0].status == "open"
    with repo.reader() as uow:
        # refused as the draft is saved: no report, not even a draft
        assert uow.conn.execute(s.audit_log.select()).all() == audit_before
    assert queries.reports(repo) == reports_before


def test_reports_queue_reject_needs_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/q.sqlite"
    repo = _small_world(url)
    code = reports.create_draft(
        repo, author="op.one", organisation_code="OP1", info_date=date(2026, 10, 5),
        entries=[("evidence", {"hazard_code": "HA-1",
                               "items": [{"kind": "direct", "type": "mine_sign"}]})])
    reports.submit(repo, code, "op.one")
    queue = run("reports", "--status", "submitted", db=url).stdout
    assert code in queue
    missing = run("reports", "reject", code, db=url, ok=False)
    assert missing.returncode != 0
    run("reports", "reject", code, "--reason", "sign photographed elsewhere",
        "--user", "im.test", db=url)
    assert queries.reports(repo, status="rejected")[0].decision_reason == \
        "sign photographed elsewhere"
    again = run("reports", "approve", code, db=url, ok=False)
    assert again.returncode == 1 and "only a submitted report" in again.stderr
    assert queries.hazards(repo)[0].classification == "SHA"


def test_commands_find_the_database_the_same_way(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/env.sqlite"
    _small_world(url)
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DEMINE_DB", None)
    proc = subprocess.run([sys.executable, "-m", "demine.cli", "status"], cwd=tmp_path,
                          env={**env, "DEMINE_DB": "env.sqlite"}, capture_output=True, text=True)
    assert proc.returncode == 0 and "1 of 1 settlements closed" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "demine.cli", "status", "--db", url],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "1 of 1 settlements closed" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", "demine.cli", "status"], cwd=tmp_path / "..",
                             env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "demine init" in missing.stderr


def test_outcome_area_is_metric(tmp_path: Path) -> None:
    """The accounting is in m² on the metric plane, not in square degrees."""
    repo = _small_world(f"sqlite:///{tmp_path}/m.sqlite")
    hz = queries.hazards(repo)[0]
    frame = repo.settings().frame
    expected = frame.to_metric(box(171.6025, -43.6010, 171.6045, -43.5990)).area
    assert abs(hz.original_m2 - expected) < 0.01
    assert 30_000 < hz.original_m2 < 40_000  # 0.002° x 0.002° at 43.6° S
    assert shapely.area(box(171.6025, -43.6010, 171.6045, -43.5990)) < 1e-5
