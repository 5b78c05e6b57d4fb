"""The operations map page without a browser: served at ``/``, every file it loads is
served too, and nothing in it points at the internet (field offices work offline)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from posixpath import dirname, normpath
from urllib.parse import urljoin

from fastapi.testclient import TestClient

from demine.service.tiles import HAZARD_CELLS
from demine.web import STATIC

#: the page's own files: none of them may name an internet address, even in a comment
OWN_FILES = ["index.html", "app.js", "app.css", "api.js", "mapstyle.js", "ui.js", "draw.js",
             "reports.js", "dashboard.js"]
INTERNET = re.compile(r"(?i)\b(?:https?|wss?|ftp):|//[a-z0-9-]+\.[a-z]")
IMPORT = re.compile(r"""(?:\bimport|\bexport)\s*(?:[\w*{}\s,]+\s*from\s*)?["']([^"']+)["']"""
                    r"""|\bimport\s*\(\s*["']([^"']+)["']\s*\)""")
MAPLIBRE = "static/vendor/maplibre-gl/maplibre-gl"


class _Assets(HTMLParser):
    """The ``src`` of scripts and the ``href`` of links of an HTML page, less inline
    ``data:`` ones (the empty favicon), which ask nothing of any server."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value and not value.startswith("data:"):
                self.refs.append(value)


def _imports(source: str) -> list[str]:
    return [a or b for a, b in IMPORT.findall(source)]


def test_the_page_is_served_at_the_root(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for element in ('id="login-form"', 'id="map"', 'id="layers"', 'id="legend"',
                    'id="headline"', 'id="search-input"', 'id="panel"'):
        assert element in page.text
    assert "/" not in client.get("/openapi.json").json()["paths"]


def test_every_script_stylesheet_and_module_resolves(client: TestClient) -> None:
    parser = _Assets()
    parser.feed(client.get("/").text)
    refs = [urljoin("/", ref) for ref in parser.refs]
    assert f"/{MAPLIBRE}.js" in refs and f"/{MAPLIBRE}.css" in refs
    assert "/static/app.js" in refs and "/static/app.css" in refs
    seen: set[str] = set()
    todo = list(refs)
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(".js"):
            assert "javascript" in response.headers["content-type"], url
        if url.endswith(".css"):
            assert response.headers["content-type"].startswith("text/css"), url
        if url.endswith(".js") and "/vendor/" not in url:
            for module in _imports(response.text):
                assert module.startswith((".", "/")), f"{url} imports a bare name {module!r}"
                todo.append(normpath(urljoin(dirname(url) + "/", module)))
    # app.js and the modules it imports were all followed
    assert {"/static/app.js", "/static/api.js", "/static/mapstyle.js"} <= seen


def test_the_page_names_no_internet_address() -> None:
    for name in OWN_FILES:
        text = (STATIC / name).read_text(encoding="utf-8")
        found = INTERNET.search(text)
        assert found is None, f"{name} names {text[found.start():found.start() + 60]!r}"


def test_every_module_of_the_page_is_checked() -> None:
    assert sorted(p.name for p in STATIC.glob("*.js")) == sorted(
        n for n in OWN_FILES if n.endswith(".js"))


def test_maplibre_is_vendored_with_its_provenance() -> None:
    vendored = (STATIC / "vendor" / "VENDORED.md").read_text(encoding="utf-8")
    version = re.search(r"\| maplibre-gl \| (5\.\d+\.\d+) \|", vendored)
    assert version, vendored
    assert re.search(r"sha512-[A-Za-z0-9+/]{80,}={0,2}", vendored)
    script = (STATIC / "vendor" / "maplibre-gl" / "maplibre-gl.js").read_text(encoding="utf-8")
    assert f"v{version.group(1)}" in script[:400]
    assert (STATIC / "vendor" / "maplibre-gl" / "LICENSE.txt").is_file()


def test_the_rtl_text_plugin_is_vendored_with_its_provenance_and_served(
        client: TestClient) -> None:
    """Arabic and Hebrew names need MapLibre's RTL text plugin: the page names it by a
    path on this server (its workers import it from there), and it is the npm package's
    file, recorded with its version, licence and integrity like the map library."""
    style = (STATIC / "mapstyle.js").read_text(encoding="utf-8")
    found = re.search(r'export const RTL_TEXT_PLUGIN = "([^"]+)";', style)
    assert found is not None
    path = found.group(1)
    assert path.startswith("static/vendor/") and INTERNET.search(path) is None
    response = client.get(f"/{path}")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    # the plugin registers itself with the worker that imports it, and brings its ICU
    # build inline: it asks nothing more of any server
    assert "registerRTLTextPlugin" in response.text
    assert "processBidirectionalText" in response.text and "applyArabicShaping" in response.text
    assert INTERNET.search(response.text) is None
    vendored = (STATIC / "vendor" / "VENDORED.md").read_text(encoding="utf-8")
    row = re.search(r"^\| @mapbox/mapbox-gl-rtl-text \| (\d+\.\d+\.\d+) \| BSD-2-Clause \| "
                    r"(.+) \| `(sha512-[A-Za-z0-9+/]{80,}={0,2})` \|$", vendored, re.MULTILINE)
    assert row, vendored
    assert f"`{path.removeprefix('static/vendor/')}`" in row.group(2)
    assert (STATIC / "vendor" / "mapbox-gl-rtl-text" / "LICENSE.md").is_file()
    app = (STATIC / "app.js").read_text(encoding="utf-8")
    assert "setRTLTextPlugin(url, true)" in app, "deferred: fetched at the first RTL name"


def test_the_map_switches_to_hazard_cells_at_the_zoom_the_tiles_do() -> None:
    """The zoom lives in two places (the tiles, the style); were they apart, a band of
    zooms would show neither areas nor circles, or both."""
    style = (STATIC / "mapstyle.js").read_text(encoding="utf-8")
    found = re.search(r"export const HAZARD_CELLS_MAXZOOM = (\d+);", style)
    assert found is not None
    assert int(found.group(1)) == HAZARD_CELLS.below
