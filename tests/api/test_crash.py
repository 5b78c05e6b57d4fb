"""The server killed in the middle of an approval leaves the record whole.

``demine serve`` runs as its own process. A large report (hundreds of entries over the
demo district's hazards, so that its approval takes a measurable time) is approved over
HTTP, and the process gets SIGKILL while the approval's transaction is open: no clean
shutdown, no rollback by the server. The store, opened directly, must then hold either
the approved report with every one of its effects, or the submitted report with none of
them. Started again, the server approves the report as if nothing had happened.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from demine.store import Repository
from demine.store import schema as s

ENTRIES = 400


def _report_body(hazards: list[str], label: str) -> dict[str, Any]:
    return {"organisation": "FDU", "info_date": "2026-11-21", "summary": f"crash test {label}",
            "entries": [{"kind": "evidence", "payload": {
                "hazard_code": hazards[i % len(hazards)],
                "items": [{"kind": "indirect", "type": "old_survey",
                           "description": f"{label} item {i}"}]}} for i in range(ENTRIES)]}


def _submitted_report(http: httpx.Client, headers, hazards: list[str], label: str) -> str:
    response = http.post("/api/v1/reports", json=_report_body(hazards, label), headers=headers)
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    response = http.post(f"/api/v1/reports/{code}/submit", headers=headers)
    assert response.status_code == 200, response.text
    return code


def _state(url: str, code: str) -> dict[str, Any]:
    """What an approval of ``code`` changes, read straight from the store."""
    repo = Repository.open(url, create=False)
    try:
        with repo.reader() as uow:
            report = uow.require(s.reports, code)
            rid = report["id"]
            count = func.count()
            return {
                "report": {k: report[k] for k in ("status", "version", "decided_by",
                                                  "approval_seq")},
                "evidence": uow.conn.execute(select(count).select_from(s.evidence_items)
                                             .where(s.evidence_items.c.report_id == rid))
                .scalar_one(),
                "audit": {f"{entity}/{action}": n for entity, action, n in uow.conn.execute(
                    select(s.audit_log.c.entity, s.audit_log.c.action, count)
                    .where(s.audit_log.c.report_id == rid)
                    .group_by(s.audit_log.c.entity, s.audit_log.c.action)).all()},
                "audit_total": uow.conn.execute(select(count).select_from(s.audit_log))
                .scalar_one(),
                "hazards": dict(uow.conn.execute(
                    select(s.hazard_areas.c.code, s.hazard_areas.c.version)).all()),
                "settlements": dict(uow.conn.execute(
                    select(s.settlements.c.code, s.settlements.c.version)).all()),
            }
    finally:
        repo.close()


def _approval_open(repo: Repository) -> bool:
    """Whether an approval's transaction is open in the store right now."""
    if repo.dialect == "sqlite":
        # a rollback journal exists while a write transaction has changed a page
        return Path(repo.url.removeprefix("sqlite:///") + "-journal").exists()
    with repo.engine.connect() as conn:
        # approvals hold the "approval" advisory lock for their whole transaction
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND d.datname = current_database()")).scalar())


def _assert_applied(before: dict[str, Any], after: dict[str, Any], touched: set[str]) -> None:
    """``after`` is ``before`` with the whole approval applied, and nothing else."""
    assert after["report"]["status"] == "approved"
    assert after["report"]["decided_by"] == "admin"
    assert after["report"]["version"] == before["report"]["version"] + 1
    assert after["evidence"] == ENTRIES
    audit = dict(after["audit"])
    assert audit.pop("evidence_item/create") == ENTRIES
    assert audit.pop("report/approve") == 1
    assert audit.pop("report/submit") == before["audit"]["report/submit"] == 1
    refolded = audit.pop("hazard_area/update", 0)
    assert not audit, f"the approval wrote what it should not have: {audit}"
    changed = {h for h, v in after["hazards"].items() if v != before["hazards"][h]}
    assert changed <= touched and len(changed) == refolded
    assert all(after["hazards"][h] == before["hazards"][h] + 1 for h in changed)
    assert after["audit_total"] > before["audit_total"]


def test_a_server_killed_mid_approval_leaves_the_record_whole(server_process, kit) -> None:
    db = server_process.db
    server_process.start()
    http = httpx.Client(base_url=server_process.base_url, timeout=300)
    try:
        headers = kit.login(http, "admin")
        hazards = [h["code"] for h in http.get("/api/v1/hazards", params={"limit": 1000},
                                               headers=headers).json()["items"]]
        assert len(hazards) > 50

        # how long an approval of this size takes here, and what it writes
        rehearsal = _submitted_report(http, headers, hazards, "rehearsal")
        started = time.monotonic()
        response = http.post(f"/api/v1/reports/{rehearsal}/approve", headers=headers)
        approval_s = time.monotonic() - started
        assert response.status_code == 200, response.text
        touched = set(response.json()["hazards_changed"])
        rehearsed = _state(db.url, rehearsal)
        assert rehearsed["evidence"] == ENTRIES
        assert approval_s > 0.2, f"an approval of {ENTRIES} entries took only {approval_s:.2f} s"

        code = _submitted_report(http, headers, hazards, "crash")
        before = _state(db.url, code)
        assert before["report"]["status"] == "submitted" and before["evidence"] == 0

        answer: dict[str, Any] = {}

        def approve() -> None:
            try:
                with httpx.Client(base_url=server_process.base_url, timeout=300) as other:
                    answer["response"] = other.post(f"/api/v1/reports/{code}/approve",
                                                    headers=headers)
            except httpx.HTTPError as exc:
                answer["error"] = exc

        thread = threading.Thread(target=approve)
        thread.start()
        watcher = Repository(db.url)
        try:
            deadline = time.monotonic() + 30 * approval_s + 30
            while not _approval_open(watcher):
                assert thread.is_alive(), f"the approval ended before it was seen: {answer}"
                assert time.monotonic() < deadline, "the approval never started"
                time.sleep(0.005)
        finally:
            watcher.close()
        time.sleep(0.1 * approval_s)  # into it, and well before its end
        in_flight = thread.is_alive()
        os.kill(server_process.proc.pid, signal.SIGKILL)
        server_process.proc.wait(30)
        thread.join(60)
        assert not thread.is_alive()
        assert in_flight and "response" not in answer, \
            f"the approval answered before the server was killed: {answer}"

        after = _state(db.url, code)
        outcome = after["report"]["status"]
        if outcome == "submitted":  # rolled back: nothing of it is left
            assert after == before
        else:  # committed just before the kill: all of it is there
            _assert_applied(before, after, touched)

        # started again, the server carries on from the store as it is
        server_process.start()
        with httpx.Client(base_url=server_process.base_url, timeout=300) as again:
            headers = kit.login(again, "admin")
            response = again.post(f"/api/v1/reports/{code}/approve", headers=headers)
            if outcome == "submitted":
                assert response.status_code == 200, response.text
                assert set(response.json()["hazards_changed"]) == touched
            else:
                assert response.status_code == 409, response.text
            _assert_applied(before, _state(db.url, code), touched)
            listed = again.get("/api/v1/reports", params={"status": "approved", "limit": 1000},
                               headers=headers).json()["items"]
            assert code in {r["code"] for r in listed}
        print(f"{db.backend}: approval of {ENTRIES} entries takes {approval_s:.2f} s; "
              f"killed in flight, found {outcome}")
    finally:
        http.close()
