"""Reports in a real Chromium: an operator draws and files a report, an information
manager reviews it on the map and approves or rejects it, and the map, the headline
and the dashboard follow the approval. Also: the dashboard's charts, a settlement's
page, and the page at a tablet's width."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from map_page import draw_square
from shapely.geometry import shape
from shapely.ops import polylabel

from server_fixtures import PASSWORD


def _api(server, path: str, **params) -> dict:
    return httpx.get(f"{server.base_url}{path}", headers=server.auth_header, params=params,
                     timeout=30).json()


def _closed_by_one_untouched(server) -> tuple[dict, dict]:
    for settlement in _api(server, "/api/v1/settlements", status="closed",
                           limit=1000)["items"]:
        if len(settlement["blocking_hazards"]) != 1:
            continue
        hazard = _api(server, f"/api/v1/hazards/{settlement['blocking_hazards'][0]}")
        if hazard["remaining_m2"] == hazard["original_m2"]:
            return settlement, hazard
    raise AssertionError("no settlement closed by exactly one untouched hazard")


def _log_in(page, server, username: str) -> None:
    page.goto(f"{server.base_url}/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("body[data-map-ready='1']", timeout=90_000)


def _log_out(page) -> None:
    page.click("#logout")
    page.wait_for_selector("#login-form", state="visible")


def _message(page, words: str, timeout: int = 30_000) -> str:
    page.wait_for_function("(w) => document.getElementById('message').textContent.includes(w)",
                           arg=words, timeout=timeout)
    return page.text_content("#message")


def _screen_box(page, geometry: dict) -> list[tuple[float, float]]:
    """The corners of a geometry's bounding box on the screen: SW, SE, NE, NW."""
    return [tuple(p) for p in page.evaluate("""(g) => {
        const m = window.demineMap; let w = 1e9, s = 1e9, e = -1e9, n = -1e9;
        const walk = (c) => { if (typeof c[0] === 'number') {
            w = Math.min(w, c[0]); e = Math.max(e, c[0]);
            s = Math.min(s, c[1]); n = Math.max(n, c[1]); } else c.forEach(walk); };
        walk(g.coordinates);
        const r = m.getCanvas().getBoundingClientRect();
        return [[w, s], [e, s], [e, n], [w, n]].map(([x, y]) => {
            const p = m.project([x, y]); return [r.left + p.x, r.top + p.y]; });
    }""", geometry)]


def _inside_square(page, geometry: dict) -> tuple[float, float, float]:
    """Screen centre and half-side of a square that lies inside the polygon: centred on
    its pole of inaccessibility, corners within the largest circle inside it."""
    polygon = shape(geometry)
    if polygon.geom_type == "MultiPolygon":
        polygon = max(polygon.geoms, key=lambda part: part.area)
    pole = polylabel(polygon, tolerance=1e-7)
    radius = polygon.exterior.distance(pole)
    if polygon.interiors:
        radius = min(radius, min(ring.distance(pole) for ring in polygon.interiors))
    centre, east, north = page.evaluate("""(pts) => {
        const m = window.demineMap, r = m.getCanvas().getBoundingClientRect();
        return pts.map(([x, y]) => { const p = m.project([x, y]);
            return [r.left + p.x, r.top + p.y]; }); }""",
        [[pole.x, pole.y], [pole.x + radius, pole.y], [pole.x, pole.y + radius]])
    reach = min(abs(east[0] - centre[0]), abs(north[1] - centre[1]))
    side = min(reach * 0.6, 40.0)  # corners at 0.85 of the radius
    assert side >= 3.0, f"the hazard is too thin on screen to draw in: {reach:.1f} px"
    return centre[0], centre[1], side


def _start_report(page, hazard_code: str) -> None:
    page.click("#view-reports")
    page.click("#new-report")
    page.fill("#report-hazard", hazard_code)
    page.press("#report-hazard", "Tab")
    page.wait_for_function(
        "document.getElementById('report-hazard-info').textContent.includes('remaining')",
        timeout=30_000)
    # the map flies to the hazard: draw only once it has stopped, or the clicks land
    # where the hazard was on the screen a moment ago
    page.wait_for_timeout(300)
    page.wait_for_function("!window.demineMap.isMoving() && window.demineMap.loaded()",
                           timeout=30_000)


def _save_and_submit(page) -> str:
    page.click("#save-draft")
    page.wait_for_selector("#saved", timeout=30_000)
    code = page.text_content("#saved").split()[1]
    page.click("#submit-report")
    _message(page, "sent for approval")
    return code


def _open_review(page, code: str) -> None:
    page.click("#view-reports")
    page.wait_for_selector(f"#queue li[data-code='{code}'] button", timeout=30_000)
    page.click(f"#queue li[data-code='{code}'] button")
    page.wait_for_selector("#approve:not([disabled])", timeout=30_000)
    page.wait_for_timeout(1200)


def _rendered_status(page, code: str) -> str | None:
    return page.evaluate("""(code) => {
        const f = window.demineMap.queryRenderedFeatures({layers: ['settlements-circle']})
            .find(x => x.properties.code === code);
        return f ? f.properties.status : null; }""", code)


def test_an_operator_draws_a_report_and_a_manager_rejects_it_with_a_reason(
        live_server, visit) -> None:
    page = visit.page
    _, hazard = _closed_by_one_untouched(live_server)
    _log_in(page, live_server, "op.fdu")
    _start_report(page, hazard["code"])
    # a small square drawn well inside the hazard, corner by corner: around the point
    # farthest from its edges (the middle of its box may lie outside a bent hazard, and
    # a polygon past the hazard is refused as the draft is saved)
    cx, cy, side = _inside_square(page, hazard["geometry"])
    draw_square(page, cx, cy, side)
    page.click("#add-find")
    page.mouse.move(cx, cy)
    page.mouse.click(cx, cy)
    page.wait_for_selector("#report-finds li", timeout=10_000)
    page.select_option("#report-finds li select >> nth=0", "at_mine")
    page.select_option("#report-status", "in_progress")
    page.fill("#report-summary", "first day of clearance, one AT mine")
    visit.screenshot(f"report-form-{live_server.db.backend}")
    code = _save_and_submit(page)

    # the draft as stored: the polygon drawn, inside the hazard, and the find
    _log_out(page)
    _log_in(page, live_server, "im")
    _open_review(page, code)
    review = page.text_content("#panel")
    assert "Find: at mine" in review and hazard["code"] in review
    drawn = page.evaluate("window.demineMap.getSource('review').getData()"
                          ".then(d => d.features.length)")
    assert drawn == 2  # the land and the find, beside the current record
    visit.screenshot(f"report-review-{live_server.db.backend}")
    page.click("#reject")
    assert "write why" in _message(page, "write why")  # a reason is needed
    page.fill("#reject-reason", "the worked polygon does not match the daily sheet")
    page.click("#reject")
    _message(page, f"Report {code} rejected")

    _log_out(page)
    _log_in(page, live_server, "op.fdu")
    page.click("#view-reports")
    page.wait_for_selector(f"#own-reports li[data-code='{code}']", timeout=30_000)
    mine = page.text_content(f"#own-reports li[data-code='{code}']")
    assert "Rejected by im: the worked polygon does not match" in mine


def test_a_polygon_drawn_past_the_hazard_is_refused_when_the_draft_is_saved(
        live_server, visit) -> None:
    """The site manager hears it with the drawing still on screen, in words, and no
    draft is stored."""
    page = visit.page
    _, hazard = _closed_by_one_untouched(live_server)
    drafts = _api(live_server, "/api/v1/reports", limit=1)["total"]
    _log_in(page, live_server, "op.fdu")
    _start_report(page, hazard["code"])
    sw, se, _ne, nw = _screen_box(page, hazard["geometry"])
    width = page.evaluate("window.demineMap.getCanvas().getBoundingClientRect().right")
    left = page.evaluate("window.demineMap.getCanvas().getBoundingClientRect().left")
    side = 12.0
    # a square beside the hazard's box, on whichever side the screen has room
    cx = se[0] + 3 * side if width - se[0] > 5 * side else sw[0] - 3 * side
    assert left + 2 * side < cx < width - 2 * side
    cy = (sw[1] + nw[1]) / 2
    draw_square(page, cx, cy, side)
    page.select_option("#report-status", "in_progress")
    page.click("#save-draft")
    said = _message(page, "lie outside hazard area")
    assert "was not saved" in said and hazard["code"] in said
    assert page.query_selector("#saved") is None
    assert page.is_enabled("#save-draft")                 # the drawing can be mended
    assert _api(live_server, "/api/v1/reports", limit=1)["total"] == drafts

def test_a_report_approved_in_the_browser_reopens_a_settlement(live_server, visit) -> None:
    page = visit.page
    settlement, hazard = _closed_by_one_untouched(live_server)
    _log_in(page, live_server, "op.fdu")
    _start_report(page, hazard["code"])
    page.click("#use-outline")  # edit the record's outline rather than draw from nothing
    page.wait_for_function(
        "document.getElementById('report-area').textContent.startsWith('Drawn')")
    code = _save_and_submit(page)
    _log_out(page)

    _log_in(page, live_server, "im")
    before = _api(live_server, "/api/v1/indicators")["settlements"]
    assert page.text_content("#headline").startswith(
        f"{before['closed']} of {before['total']} settlements closed")
    _open_review(page, code)
    page.click("#approve")
    text = _message(page, f"Report {code} approved")
    assert settlement["code"] in text
    page.wait_for_function(
        "(n) => document.getElementById('headline').textContent.startsWith(n + ' of')",
        arg=str(before["closed"] - 1), timeout=30_000)
    # the map draws the settlement green from fresh tiles
    page.evaluate("(c) => window.demineMap.flyTo({center: c, zoom: 14, animate: false})",
                  settlement["geometry"]["coordinates"])
    page.wait_for_function("""(code) => {
        const f = window.demineMap.queryRenderedFeatures({layers: ['settlements-circle']})
            .find(x => x.properties.code === code);
        return f && f.properties.status === 'open'; }""", arg=settlement["code"],
        timeout=60_000)
    visit.screenshot(f"settlement-reopened-{live_server.db.backend}")
    page.click("#view-dashboard")
    page.wait_for_selector("#dashboard[data-ready='1']", timeout=30_000)
    assert page.text_content("#dash-closed").startswith(f"{before['closed'] - 1} of")
    outside = [u for u in visit.requests if urlsplit(u).scheme not in ("data", "blob")
               and urlsplit(u).hostname != "127.0.0.1"]
    assert outside == []


def test_the_dashboard_draws_its_charts_from_the_record(live_server, visit) -> None:
    page = visit.page
    _log_in(page, live_server, "viewer")
    page.click("#view-dashboard")
    page.wait_for_selector("#dashboard[data-ready='1']", timeout=30_000)
    board = _api(live_server, "/api/v1/dashboard")
    charts = page.evaluate("""() => ['chart-trend', 'chart-land', 'chart-findings'].map(id => {
        const c = window.Chart.getChart(id);
        return c ? c.data.datasets.map(d => d.data) : null; })""")
    trend, land, findings = charts
    assert trend == [[p["closed"] for p in board["trend"]]]
    months = board["land_released_m2"]["by_month"]
    assert [sum(d[i] for d in land) for i in range(len(months))] == pytest.approx(
        [sum(v.values()) for v in months.values()], abs=3)
    assert sorted(findings[0]) == sorted(board["findings_by_category"].values())
    text = page.text_content("#dashboard")
    assert f"{board['accidents']['accidents']} accidents" in text
    assert "Counts only" in text  # a viewer sees no victim details
    for team in board["teams"]:
        assert team["code"] in text
    visit.screenshot(f"dashboard-{live_server.db.backend}")
    assert visit.console_errors == []


def test_a_settlement_page_lists_the_hazards_keeping_it_closed(live_server, visit) -> None:
    page = visit.page
    settlement = next(s for s in _api(live_server, "/api/v1/settlements", status="closed",
                                      limit=1000)["items"] if len(s["blocking_hazards"]) >= 1)
    _log_in(page, live_server, "viewer")
    page.fill("#search-input", settlement["code"])
    page.press("#search-input", "Enter")
    page.wait_for_selector("#panel .blockers li", timeout=30_000)
    listed = page.eval_on_selector_all("#panel .blockers li button",
                                       "bs => bs.map(b => b.textContent)")
    assert listed == settlement["blocking_hazards"]
    assert "remaining" in page.text_content("#panel .blockers")
    page.click(f"#panel .blockers li button >> text={listed[0]}")
    page.wait_for_function("(c) => document.getElementById('panel-title').textContent"
                           ".includes(c)", arg=listed[0], timeout=30_000)


def test_the_page_works_at_a_tablet_width_and_from_the_keyboard(live_server,
                                                                tablet_visit) -> None:
    page = tablet_visit.page
    _log_in(page, live_server, "op.fdu")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways at 768 px: {width}"
    for control in ("#view-map", "#view-dashboard", "#view-reports", "#search-input",
                    "#logout", "#map"):
        box = page.locator(control).bounding_box()
        assert box and box["width"] > 0 and box["x"] + box["width"] <= 768 + 1, control
    # the views are reached with the keyboard alone
    page.focus("#view-dashboard")
    page.keyboard.press("Enter")
    page.wait_for_selector("#dashboard[data-ready='1']", timeout=30_000)
    tablet_visit.screenshot(f"tablet-dashboard-{live_server.db.backend}")
    page.focus("#view-reports")
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-report", timeout=30_000)
    page.focus("#new-report")
    page.keyboard.press("Enter")
    page.wait_for_selector("#report-hazard:focus", timeout=10_000)
    page.focus("#save-draft")
    page.keyboard.press("Enter")
    assert "Please give the hazard area" in _message(page, "Please give")
    assert page.evaluate("document.activeElement.id") == "report-hazard"
    tablet_visit.screenshot(f"tablet-report-{live_server.db.backend}")
