"""Changes through the API: an operator's clearance report reopens a settlement once an
information manager approves it; reference edits need the version they were read at."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from demine.store import Repository
from demine.store import schema as s


def _settlement_with_one_untouched_blocker(client, h) -> tuple[dict, dict]:
    closed = client.get("/api/v1/settlements", headers=h,
                        params={"status": "closed", "limit": 1000}).json()["items"]
    for settlement in closed:
        if len(settlement["blocking_hazards"]) != 1:
            continue
        hazard = client.get(f"/api/v1/hazards/{settlement['blocking_hazards'][0]}",
                            headers=h).json()
        if hazard["remaining_m2"] == hazard["original_m2"]:
            return settlement, hazard
    raise AssertionError("the demo district has no settlement closed by one untouched hazard")


def test_clearance_report_reopens_a_settlement_after_approval(client, headers,
                                                             served_db) -> None:
    op, im = headers["op.fdu"], headers["im"]
    settlement, hazard = _settlement_with_one_untouched_blocker(client, im)
    before = client.get("/api/v1/indicators", headers=im).json()["settlements"]["closed"]
    body = {"organisation": "FDU", "info_date": date.today().isoformat(),
            "summary": "clearance of the last hazard", "entries": [{
                "kind": "activity", "payload": {
                    "code": "ACT-API-0001", "hazard_code": hazard["code"],
                    "type": "clearance", "status": "completed", "organisation_code": "FDU",
                    "outcomes": [{"method": "cleared", "geometry": hazard["geometry"]}]}}]}
    created = client.post("/api/v1/reports", json=body, headers=op)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    assert created.headers["location"] == f"/api/v1/reports/{code}"
    # a viewer does not see another organisation's draft; the operator and managers do
    assert client.get(f"/api/v1/reports/{code}", headers=headers["viewer"]).status_code == 404
    assert client.get(f"/api/v1/reports/{code}", headers=op).json()["status"] == "draft"
    assert client.post(f"/api/v1/reports/{code}/approve", headers=im).status_code == 409
    submitted = client.post(f"/api/v1/reports/{code}/submit", headers=op,
                            params={}).json()
    assert submitted["status"] == "submitted"
    assert client.post(f"/api/v1/reports/{code}/approve", headers=op).status_code == 403
    approved = client.post(f"/api/v1/reports/{code}/approve", headers=im)
    assert approved.status_code == 200, approved.text
    assert settlement["code"] in approved.json()["settlements_reopened"]
    after = client.get("/api/v1/indicators", headers=im).json()["settlements"]["closed"]
    assert after == before - 1
    now = client.get(f"/api/v1/settlements/{settlement['code']}", headers=im).json()
    assert now["status"] == "open" and now["blocking_hazards"] == []
    repo = Repository.open(served_db.url, create=False)
    with repo.reader() as uow:
        who = uow.conn.execute(select(s.audit_log.c.author).where(
            s.audit_log.c.entity == "report", s.audit_log.c.entity_code == code,
            s.audit_log.c.action == "approve")).scalar_one()
    repo.close()
    assert who == "im"


def test_rejection_needs_a_reason_and_a_submitted_report(client, headers) -> None:
    op, im = headers["op.rcs"], headers["im"]
    hazard = client.get("/api/v1/hazards", headers=im, params={"limit": 1}).json()["items"][0]
    body = {"organisation": "RCS", "info_date": "2026-11-01", "entries": [{
        "kind": "evidence", "payload": {"hazard_code": hazard["code"], "items": [
            {"kind": "indirect", "type": "hearsay", "description": "herder"}]}}]}
    created = client.post("/api/v1/reports", json=body, headers=op)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    client.post(f"/api/v1/reports/{code}/submit", headers=op)
    assert client.post(f"/api/v1/reports/{code}/reject", json={"reason": ""},
                       headers=im).status_code == 422
    rejected = client.post(f"/api/v1/reports/{code}/reject", json={"reason": "no source"},
                           headers=im)
    assert rejected.json()["status"] == "rejected"
    assert client.post(f"/api/v1/reports/{code}/reject", json={"reason": "again"},
                       headers=im).status_code == 409


def test_reference_edit_needs_the_current_version(client, headers) -> None:
    im = headers["im"]
    team = client.get("/api/v1/teams", headers=im, params={"limit": 1}).json()["items"][0]
    url = f"/api/v1/teams/{team['code']}"
    assert client.patch(url, json={"available": False}, headers=im).status_code == 428
    ok = client.patch(url, json={"available": not team["available"]},
                      headers={**im, "If-Match": f'"{team["version"]}"'})
    assert ok.status_code == 200 and ok.json()["version"] == team["version"] + 1
    assert ok.headers["etag"] == f'"{team["version"] + 1}"'
    stale = client.patch(url, json={"headcount": 3, "version": team["version"]}, headers=im)
    assert stale.status_code == 409 and "stale version" in stale.json()["detail"]
    history = client.get(f"{url}/history", headers=im).json()["items"]
    assert history[-1]["author"] == "im" and "available" in history[-1]["changed"]


def test_a_drawn_polygon_past_its_hazard_is_refused_when_the_draft_is_saved(
        client, headers) -> None:
    """The site manager hears it while the drawing is on screen, not at approval."""
    from shapely.affinity import translate
    from shapely.geometry import mapping, shape
    op, im = headers["op.fdu"], headers["im"]
    _, hazard = _settlement_with_one_untouched_blocker(client, im)
    # the hazard itself moved 2 km east: wholly outside it
    moved = translate(shape(hazard["geometry"]), xoff=0.02)
    total = client.get("/api/v1/reports", headers=im, params={"limit": 1}).json()["total"]
    body = {"organisation": "FDU", "info_date": date.today().isoformat(), "entries": [{
        "kind": "activity", "payload": {
            "code": "ACT-API-OUT1", "hazard_code": hazard["code"], "type": "clearance",
            "status": "completed", "organisation_code": "FDU",
            "outcomes": [{"method": "cleared", "geometry": mapping(moved)}]}}]}
    refused = client.post("/api/v1/reports", json=body, headers=op)
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["field"] == "outcome polygon"
    assert answer["record"].endswith("entry 1")
    assert f"outside hazard area {hazard['code']}" in answer["problem"]
    assert client.get("/api/v1/reports", headers=im,
                      params={"limit": 1}).json()["total"] == total
