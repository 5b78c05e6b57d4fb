"""Road names and right-to-left place names on the operations map, in a real Chromium.

Roads are the basemap: their names are written along them close in, and a click on one
says what the map holds about it. Settlements named in Arabic or Hebrew are drawn only
with MapLibre's RTL text plugin, which the page fetches from its own server, and only
once such a name is to be drawn; their letters, shaped into joined forms, come from this
server's glyphs. The district's roads are known here from the demo generator itself (the
fixtures load the same seed), not from what the page reports.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from map_page import idle_at
from shapely.geometry import Point

from demine.domain.entities import Settlement
from demine.scenario.district import generate_district
from demine.service import reference
from demine.store import Repository
from server_fixtures import PASSWORD

#: the seed tests/server_fixtures.py loads the demo district with
SEED = 7
#: away from the district (25 x 20 km round its centre), where no other label competes
ARABIC = ("STL-AR1", "عين الماء")  # "the water spring"
HEBREW = ("STL-HE1", "כפר התקווה")  # "the village of hope"
RTL_PLUGIN = "/static/vendor/mapbox-gl-rtl-text/mapbox-gl-rtl-text.js"
#: the glyph blocks the shaped names need: Arabic presentation forms B, and Hebrew
ARABIC_FORMS_BLOCK = "/65024-65279.pbf"
HEBREW_BLOCK = "/1280-1535.pbf"
#: the groups whose layers would compete with the roads for room and for a click
OTHER_GROUPS = ("hazards", "settlements", "findings", "accidents", "outcomes", "activities")


def _log_in(visit, server) -> None:
    page = visit.page
    page.goto(f"{server.base_url}/")
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("body[data-map-ready='1']", timeout=90_000)


def _rendered(page, layer: str) -> list[dict]:
    return page.evaluate(
        "(layer) => window.demineMap.queryRenderedFeatures({layers: [layer]})"
        ".map(f => f.properties)", layer)


def _screen(page, lonlat: list[float]) -> list[float]:
    return page.evaluate("""(lonlat) => {
        const p = window.demineMap.project(lonlat);
        const box = window.demineMap.getCanvas().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""", lonlat)


def _ink_right_of(page, lonlat: list[float]) -> int:
    """Dark pixels (the label's near-black, not the background, the white halo or the
    circle's green) in the strip right of a settlement's circle, where its name is
    written, read back from the map's drawing buffer as it is drawn. MapLibre reports
    a label as rendered even when its glyphs are missing (it places the symbol, with
    nothing to draw): only the pixels show the letters."""
    return page.evaluate("""(lonlat) => new Promise((done) => {
        const map = window.demineMap;
        const canvas = map.getCanvas();
        const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
        const ratio = canvas.width / canvas.clientWidth;
        const p = map.project(lonlat);
        const read = () => {
            const x = Math.round((p.x + 6) * ratio);
            const w = Math.min(Math.round(160 * ratio), gl.drawingBufferWidth - x);
            const h = Math.round(24 * ratio);
            const y = gl.drawingBufferHeight - Math.round((p.y + 12) * ratio);
            const pixels = new Uint8Array(w * h * 4);
            gl.readPixels(x, y, w, h, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
            let dark = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                if (Math.max(pixels[i], pixels[i + 1], pixels[i + 2]) < 150) dark += 1;
            }
            done(dark);
        };
        // read once idle (labels faded in), in the 'render' of a frame drawn then: the
        // drawing buffer holds that frame until the task ends
        map.once('idle', () => {
            map.once('render', read);
            map.triggerRepaint();
        });
        map.triggerRepaint();
    })""", lonlat)


def _outside(visit, server) -> list[str]:
    return [u for u in visit.requests if urlsplit(u).scheme not in ("data", "blob")
            and not u.startswith(f"{server.base_url}/")]


def test_roads_are_named_along_their_lines_and_a_click_says_what_the_map_holds(
        live_server, visit) -> None:
    district = generate_district(SEED)
    names = {r.name for r in district.roads}
    # the longest main road, seen whole at zoom 14 (a few hundred pixels of it)
    road = max((r for r in district.roads if r.road_class == "primary"),
               key=lambda r: r.line.length)
    middle = road.line.interpolate(0.5, normalized=True)
    _log_in(visit, live_server)
    page = visit.page
    # at the district's zoom the roads are drawn but not yet named
    assert _rendered(page, "roads-line")
    assert page.evaluate("window.demineMap.getZoom()") < 12
    assert not _rendered(page, "roads-label"), "road names are for closer zooms"

    for group in OTHER_GROUPS:
        page.uncheck(f"#layer-{group}")
    idle_at(page, [middle.x, middle.y], 14)
    labelled = {f["name"] for f in _rendered(page, "roads-label")}
    assert labelled and labelled <= names, sorted(labelled)
    assert road.name in labelled, sorted(labelled)
    visit.screenshot(f"map-road-names-{live_server.db.backend}")

    # a click on the road (a point of its line, as stored) opens the side panel
    page.mouse.click(*_screen(page, [middle.x, middle.y]))
    page.wait_for_selector("#panel:not([hidden])", timeout=30_000)
    title = page.text_content("#panel-title")
    assert road.code in title and road.name in title, title
    panel = page.text_content("#panel-body")
    assert "Main road" in panel and road.name in panel
    assert "not a record with a history" in panel
    assert "Synthetic exercise data" in panel
    # and the road is outlined on the map, all of it that is loaded
    page.evaluate("() => new Promise((done) => window.demineMap.once('idle', done))")
    assert page.evaluate("window.demineMap.queryRenderedFeatures("
                         "{layers: ['selection-line']}).length") > 0
    visit.screenshot(f"road-panel-{live_server.db.backend}")
    assert _outside(visit, live_server) == []
    assert visit.failed == [] and visit.console_errors == []


@pytest.fixture(scope="module")
def rtl_settlements(live_server) -> dict[tuple[str, str], Point]:
    """An Arabic- and a Hebrew-named settlement added to this module's own store
    through the service, 3 km apart and 35 km east of the demo district's edge: no
    tile of the district's first view holds them."""
    lon, lat = generate_district(SEED).centre
    places = {ARABIC: Point(lon + 0.60, lat), HEBREW: Point(lon + 0.64, lat)}
    repo = Repository.open(live_server.db.url, create=False)
    try:
        with repo.unit("test-setup", "settlements named in right-to-left scripts") as uow:
            for (code, name), point in places.items():
                reference.add_settlement(uow, Settlement(
                    code=code, name=name, admin_area="test", point=point, population=900,
                    synthetic=True))
    finally:
        repo.close()
    return places


def test_arabic_and_hebrew_names_are_drawn_with_the_rtl_plugin_from_this_server(
        live_server, rtl_settlements, visit) -> None:
    _log_in(visit, live_server)
    page = visit.page
    # lazy: nothing in view is written right to left, so the plugin is not fetched
    assert page.evaluate("maplibregl.getRTLTextPluginStatus()") == "deferred"
    assert not any(RTL_PLUGIN in u for u in visit.requests)

    for (code, name), point in rtl_settlements.items():
        idle_at(page, [point.x, point.y], 13)
        page.wait_for_function("maplibregl.getRTLTextPluginStatus() === 'loaded'",
                               timeout=30_000)
        # the tiles are laid out again once the plugin is in: wait for the name
        page.wait_for_function("""(name) => window.demineMap.queryRenderedFeatures(
            {layers: ['settlements-label']}).some(f => f.properties.name === name)""",
                               arg=name, timeout=30_000)
        # the letters are on the map: joined Arabic forms and Hebrew from this
        # server's glyphs (about 130-160 px with them; 0-15, label or not, with the
        # block missing)
        assert _ink_right_of(page, [point.x, point.y]) >= 60, name
        visit.screenshot(f"map-rtl-{code}-{live_server.db.backend}")
    assert page.evaluate("maplibregl.getRTLTextPluginStatus()") == "loaded"
    assert f"{live_server.base_url}{RTL_PLUGIN}" in visit.requests
    glyphs = [u for u in visit.requests if "/glyphs/" in u]
    assert any(u.endswith(ARABIC_FORMS_BLOCK) for u in glyphs), glyphs
    assert any(u.endswith(HEBREW_BLOCK) for u in glyphs), glyphs
    assert _outside(visit, live_server) == []
    assert visit.failed == [] and visit.console_errors == []


def test_the_road_names_layer_follows_the_roads_switch(live_server, visit) -> None:
    """Switching the roads off hides their names with them."""
    road = max(generate_district(SEED).roads, key=lambda r: r.line.length)
    middle = road.line.interpolate(0.5, normalized=True)
    _log_in(visit, live_server)
    page = visit.page
    for group in OTHER_GROUPS:
        page.uncheck(f"#layer-{group}")
    idle_at(page, [middle.x, middle.y], 14)
    assert _rendered(page, "roads-label")
    page.uncheck("#layer-roads")
    page.wait_for_function("""() => ['roads-label', 'roads-line'].every((layer) =>
        window.demineMap.getLayoutProperty(layer, 'visibility') === 'none'
        && !window.demineMap.queryRenderedFeatures({layers: [layer]}).length)""",
                           timeout=30_000)
