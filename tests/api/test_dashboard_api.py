"""The dashboard, settlement page and review screen's reads: they agree with the
record, follow an approval, and show personal data only to those permitted."""

from __future__ import annotations

from datetime import date, timedelta


def _closed_by_one_untouched(client, h) -> tuple[dict, dict]:
    for settlement in client.get("/api/v1/settlements", headers=h,
                                 params={"status": "closed", "limit": 1000}).json()["items"]:
        if len(settlement["blocking_hazards"]) == 1:
            hazard = client.get(f"/api/v1/hazards/{settlement['blocking_hazards'][0]}",
                                headers=h).json()
            if hazard["remaining_m2"] == hazard["original_m2"]:
                return settlement, hazard
    raise AssertionError("no settlement closed by exactly one untouched hazard")


def test_the_dashboard_agrees_with_the_indicators_and_its_trend_ends_at_the_headline(
        client, headers) -> None:
    h = headers["viewer"]
    board = client.get("/api/v1/dashboard", headers=h).json()
    indicators = client.get("/api/v1/indicators", headers=h).json()
    assert board["settlements"] == indicators["settlements"]
    assert board["findings_by_category"] == indicators["findings_by_category"]
    trend = board["trend"]
    assert trend, "the demo district has closures, so its trend has points"
    assert [p["date"] for p in trend] == sorted({p["date"] for p in trend})
    assert trend[-1]["closed"] == board["settlements"]["closed"]
    assert all(p["closed"] >= 0 for p in trend)
    teams = client.get("/api/v1/teams", headers=h, params={"limit": 1000}).json()
    assert sorted(t["code"] for t in board["teams"]) == sorted(t["code"] for t in teams["items"])
    accidents = client.get("/api/v1/accidents", headers=h, params={"limit": 1000}).json()
    assert board["accidents"]["accidents"] == accidents["total"]
    victims = sum(len(a["victims"]) for a in accidents["items"])
    assert board["accidents"]["victims"] == victims
    assert sum(board["accidents"]["victims_by_outcome"].values()) == victims


def test_victims_by_sex_and_age_only_for_those_who_may_read_personal_data(
        client, headers) -> None:
    viewer = client.get("/api/v1/dashboard", headers=headers["viewer"]).json()["accidents"]
    manager = client.get("/api/v1/dashboard", headers=headers["im"]).json()["accidents"]
    assert "victims_by_sex" not in viewer and "victims_by_age" not in viewer
    assert sum(manager["victims_by_sex"].values()) == manager["victims"]
    assert sum(manager["victims_by_age"].values()) == manager["victims"]


def test_a_settlement_page_lists_what_keeps_it_closed(client, headers) -> None:
    h = headers["viewer"]
    closed = client.get("/api/v1/settlements", headers=h,
                        params={"status": "closed", "limit": 5}).json()["items"]
    assert closed
    for settlement in closed:
        page = client.get(f"/api/v1/settlements/{settlement['code']}/blockers",
                          headers=h).json()
        assert page["status"] == "closed"
        assert [b["hazard_code"] for b in page["blockers"]] == settlement["blocking_hazards"]
        for blocker in page["blockers"]:
            hazard = client.get(f"/api/v1/hazards/{blocker['hazard_code']}", headers=h).json()
            assert blocker["remaining_m2"] == hazard["remaining_m2"] > 0
    missing = client.get("/api/v1/settlements/STL-NOPE/blockers", headers=h)
    assert missing.status_code == 404 and "STL-NOPE" in missing.json()["detail"]
    assert client.get(f"/api/v1/settlements/{closed[0]['code']}/blockers").status_code == 401


def test_report_entries_are_shown_to_whoever_may_see_the_report(client, headers) -> None:
    op, other, im, viewer = (headers[n] for n in ("op.fdu", "op.rcs", "im", "viewer"))
    _, hazard = _closed_by_one_untouched(client, im)
    body = {"organisation": "FDU", "info_date": date.today().isoformat(), "entries": [
        {"kind": "accident", "payload": {
            "code": "ACC-DASH-1", "accident_date": date.today().isoformat(),
            "geometry": {"type": "Point", "coordinates": hazard["geometry"]["coordinates"][0][0]
                         if hazard["geometry"]["type"] == "Polygon"
                         else hazard["geometry"]["coordinates"][0][0][0]},
            "type": "demining", "device_category": "ap_mine",
            "narrative": "deminer injured while excavating a signal",
            "victims": [{"outcome": "injured", "role": "deminer", "sex": "female",
                         "age": 31}]}},
        {"kind": "accident_revision", "payload": {
            "code": "ACC-DASH-1", "narrative": "deminer injured by a second signal",
            "victims": [{"outcome": "killed", "role": "deminer", "sex": "female",
                         "age": 32}]}}]}
    created = client.post("/api/v1/reports", json=body, headers=op)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    as_manager = client.get(f"/api/v1/reports/{code}/entries", headers=im).json()["items"]
    assert as_manager[0]["payload"]["victims"][0]["age"] == 31
    assert as_manager[0]["payload"]["narrative"].startswith("deminer injured")
    as_author = client.get(f"/api/v1/reports/{code}/entries", headers=op).json()["items"]
    assert as_author[0]["kind"] == "accident"
    assert as_author[0]["payload"]["victims"][0]["age"] is None
    assert as_author[0]["payload"]["narrative"] is None
    assert "narrative" in as_author[0]["payload"]["redacted"]
    revision = as_author[1]["payload"]  # a revision is redacted as the accident is
    assert (as_author[1]["kind"], revision["narrative"], revision["victims"][0]["age"]) == (
        "accident_revision", None, None)
    assert revision["victims"][0]["outcome"] == "killed"
    # a draft is its organisation's and the managers' alone
    assert client.get(f"/api/v1/reports/{code}/entries", headers=other).status_code == 404
    assert client.get(f"/api/v1/reports/{code}/entries", headers=viewer).status_code == 404


def test_the_trend_follows_an_approval_dated_by_its_information(client, headers) -> None:
    op, im = headers["op.fdu"], headers["im"]
    settlement, hazard = _closed_by_one_untouched(client, im)
    day = (date.today() + timedelta(days=1)).isoformat()
    before = client.get("/api/v1/dashboard", headers=im).json()
    body = {"organisation": "FDU", "info_date": day, "entries": [{
        "kind": "activity", "payload": {
            "code": "ACT-DASH-1", "hazard_code": hazard["code"], "type": "clearance",
            "status": "completed", "organisation_code": "FDU",
            "outcomes": [{"method": "cleared", "geometry": hazard["geometry"]}]}}]}
    code = client.post("/api/v1/reports", json=body, headers=op).json()["code"]
    assert client.post(f"/api/v1/reports/{code}/submit", headers=op).status_code == 200
    approved = client.post(f"/api/v1/reports/{code}/approve", headers=im).json()
    assert settlement["code"] in approved["settlements_reopened"]
    after = client.get("/api/v1/dashboard", headers=im).json()
    assert after["settlements"]["closed"] == before["settlements"]["closed"] - 1
    assert after["trend"][-1] == {"date": day,
                                  "closed": before["settlements"]["closed"] - 1}
    cleared = after["land_released_m2"]["by_month"][day[:7]]["cleared"]
    assert cleared >= hazard["original_m2"] * 0.99
    page = client.get(f"/api/v1/settlements/{settlement['code']}/blockers", headers=im).json()
    assert page == {**page, "status": "open", "blockers": []}
