"""The operations map in a real Chromium: it logs in, draws every layer from the
server's vector tiles, says what it shows, and never asks anything of the internet."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from map_page import idle_at
from shapely.geometry import shape

from server_fixtures import PASSWORD

MAP_LAYERS = ("hazards-fill", "hazards-line", "outcomes-fill", "settlements-circle",
              "findings-circle", "roads-line", "settlements-label")


def _log_in(visit, server, username: str = "viewer", password: str = PASSWORD) -> None:
    page = visit.page
    page.goto(f"{server.base_url}/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Log in").click()


def _rendered(page, layer: str) -> list[dict]:
    return page.evaluate(
        "(layer) => window.demineMap.queryRenderedFeatures({layers: [layer]})"
        ".map(f => f.properties)", layer)


def _api(server, path: str) -> dict:
    return httpx.get(f"{server.base_url}{path}", headers=server.auth_header, timeout=30).json()


def test_the_map_draws_every_layer_from_the_server_alone(live_server, visit) -> None:
    _log_in(visit, live_server)
    page = visit.page
    page.wait_for_selector("body[data-map-ready='1']", timeout=90_000)
    settlements = {s["code"]: s for s in _api(live_server, "/api/v1/settlements?limit=1000")
                   ["items"]}
    drawn = {f["code"]: f for f in _rendered(page, "settlements-circle")}
    assert drawn and set(drawn) <= set(settlements)
    assert len(drawn) >= 0.9 * len(settlements)  # the whole district is in view
    assert all(f["status"] == settlements[c]["status"] for c, f in drawn.items())
    hazards = {h["code"] for h in _api(live_server, "/api/v1/hazards?limit=1000")["items"]}
    drawn_hazards = {f["code"] for f in _rendered(page, "hazards-fill")}
    assert drawn_hazards and drawn_hazards <= hazards
    for layer in MAP_LAYERS:
        assert _rendered(page, layer), f"nothing of {layer} is drawn"
    ind = _api(live_server, "/api/v1/indicators")["settlements"]
    assert page.text_content("#headline").strip().startswith(
        f"{ind['closed']} of {ind['total']} settlements closed")
    visit.screenshot(f"map-district-{live_server.db.backend}")
    outside = [u for u in visit.requests
               if urlsplit(u).scheme not in ("data", "blob")
               and urlsplit(u).hostname != "127.0.0.1"]
    assert outside == [], f"the page asked outside 127.0.0.1: {outside[:5]}"
    assert visit.failed == [] and visit.console_errors == []


def _outside(visit, server) -> list[str]:
    """Requests to anywhere but the server (data: and blob: URLs are the page's own)."""
    return [u for u in visit.requests if urlsplit(u).scheme not in ("data", "blob")
            and not u.startswith(f"{server.base_url}/")]


def test_labels_and_roads_are_drawn_from_the_servers_glyphs_and_tiles(live_server,
                                                                      visit) -> None:
    """Settlement names over the district, hazard codes close in, and the roads beneath:
    the text drawn with the glyphs this server serves, nothing asked of anyone else."""
    _log_in(visit, live_server)
    page = visit.page
    page.wait_for_selector("body[data-map-ready='1']", timeout=90_000)
    settlements = _api(live_server, "/api/v1/settlements?limit=1000")["items"]
    names = {s["name"] for s in settlements}
    labelled = {f["name"] for f in _rendered(page, "settlements-label")}
    assert labelled <= names
    assert len(labelled) >= 5, f"only {sorted(labelled)} of the settlements are labelled"
    # where labels compete, closed settlements win: every label of an open one means
    # no closed one was left out for it... at least the largest closed one is labelled
    closed = [s for s in settlements if s["status"] == "closed"]
    assert max(closed, key=lambda s: s["population"])["name"] in labelled
    roads = _rendered(page, "roads-line")
    assert roads and {r["road_class"] for r in roads} >= {"primary", "track"}
    assert not _rendered(page, "hazards-label"), "hazard codes are for closer zooms"
    glyphs = [u for u in visit.requests if "/glyphs/" in u]
    assert any(u.endswith("/0-255.pbf") for u in glyphs), visit.requests
    visit.screenshot(f"map-labels-{live_server.db.backend}")

    # a hazard of middling size, fitted to the screen: its code is written on it
    open_hazards = sorted((h for h in _api(live_server, "/api/v1/hazards?limit=1000")["items"]
                           if h["status"] == "open"), key=lambda h: h["remaining_m2"])
    hazard = open_hazards[len(open_hazards) // 2]
    zoom = page.evaluate("""(box) => new Promise((done) => {
        const map = window.demineMap;
        map.once('idle', () => done(map.getZoom()));
        map.fitBounds(box, {padding: 150, maxZoom: 16, animate: false});
    })""", [list(shape(hazard["geometry"]).bounds[:2]),
            list(shape(hazard["geometry"]).bounds[2:])])
    assert zoom >= 13
    codes = {f["code"] for f in _rendered(page, "hazards-label")}
    assert hazard["code"] in codes, sorted(codes)
    assert _rendered(page, "roads-line") or _rendered(page, "settlements-label")
    visit.screenshot(f"map-hazard-codes-{live_server.db.backend}")
    assert _outside(visit, live_server) == []
    assert visit.failed == [] and visit.console_errors == []


def test_a_click_on_a_settlement_shows_its_record_and_history(live_server, visit) -> None:
    _log_in(visit, live_server)
    page = visit.page
    page.wait_for_selector("body[data-map-ready='1']", timeout=90_000)
    point = page.evaluate("""() => {
        const f = window.demineMap.queryRenderedFeatures({layers: ['settlements-circle']})
            .find(x => x.properties.status === 'closed');
        const p = window.demineMap.project(f.geometry.coordinates);
        const box = window.demineMap.getCanvas().getBoundingClientRect();
        return {x: box.left + p.x, y: box.top + p.y, code: f.properties.code};
    }""")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector("#panel:not([hidden])", timeout=30_000)
    page.wait_for_selector("#panel .history > li", timeout=30_000)
    panel = page.text_content("#panel")
    assert point["code"] in panel and "closed" in panel
    assert "create" in page.text_content("#panel .history")
    visit.screenshot(f"settlement-panel-{live_server.db.backend}")


def test_a_wrong_password_is_said_in_words(live_server, visit) -> None:
    _log_in(visit, live_server, password="not the password")
    page = visit.page
    page.wait_for_selector("#message:not([hidden])", timeout=30_000)
    assert "wrong user name or password" in page.text_content("#message")
    assert page.is_hidden("#workspace")


def _click_at(page, lonlat: list[float]) -> None:
    point = page.evaluate("""(lonlat) => {
        const p = window.demineMap.project(lonlat);
        const box = window.demineMap.getCanvas().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""", lonlat)
    page.mouse.click(*point)


def test_far_out_hazards_are_counted_by_status_and_a_click_zooms_in_to_them(live_server,
                                                                           visit) -> None:
    """At zoom 8 the hazards are circles counting them by status (the district's whole
    register, status by status), explained in the legend; a click on one zooms in to
    where the areas are drawn, and a click on an area there opens its record."""
    _log_in(visit, live_server)
    page = visit.page
    page.wait_for_selector("body[data-map-ready='1']", timeout=90_000)
    hazards = _api(live_server, "/api/v1/hazards?limit=1000")["items"]
    centre = shape({"type": "GeometryCollection",
                    "geometries": [h["geometry"] for h in hazards]}).centroid
    idle_at(page, [centre.x, centre.y], 8)
    cells = page.evaluate("""() => window.demineMap.queryRenderedFeatures(
        {layers: ['hazard-cells']}).map(f => ({...f.properties, at: f.geometry.coordinates}))""")
    assert cells and not _rendered(page, "hazards-fill"), "far out, counts and no areas"
    by_status: dict[str, int] = {}
    for h in hazards:
        by_status[h["status"]] = by_status.get(h["status"], 0) + 1
    counted: dict[str, int] = {}
    for c in cells:
        counted[c["status"]] = counted.get(c["status"], 0) + c["count"]
    assert counted == by_status
    assert "Zoomed out" in page.text_content("#legend")
    visit.screenshot(f"map-far-out-{live_server.db.backend}")

    # settlements, finds, accidents and released land win a click: switched off here
    for group in ("settlements", "findings", "accidents", "outcomes"):
        page.uncheck(f"#layer-{group}")
    biggest = max(cells, key=lambda c: c["count"])
    _click_at(page, biggest["at"])
    page.wait_for_function("window.demineMap.getZoom() >= 10 && !window.demineMap.isMoving()",
                           timeout=30_000)
    page.evaluate("() => new Promise((done) => window.demineMap.once('idle', done))")
    drawn = {f["code"] for f in _rendered(page, "hazards-fill")}
    assert drawn and not _rendered(page, "hazard-cells")
    hazard = next(h for h in hazards if h["code"] in drawn
                  and shape(h["geometry"]).area == max(shape(g["geometry"]).area for g in hazards
                                                         if g["code"] in drawn))
    _click_at(page, list(shape(hazard["geometry"]).representative_point().coords[0]))
    page.wait_for_selector("#panel .history > li", timeout=30_000)
    assert hazard["code"] in page.text_content("#panel-title")
    assert visit.failed == [] and visit.console_errors == []
