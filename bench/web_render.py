"""The operations map on the national-scale set: time to a drawn map, and the JS shipped.

    python3 bench/web_render.py [--hazards 200000 --settlements 30000] [--repeat 3]

Loads the synthetic country of ``bench/national_set.py`` into a SQLite store, starts
``demine serve`` on loopback and drives Debian's Chromium (headless, software WebGL)
with Playwright, as the browser tests do. Timed, each the median of ``--repeat`` fresh
page loads (new browser context, empty cache):

  national zoom  from navigation (the login form is filled and sent at once) to the
                 map's first ``idle`` after its layers are added: the page fits the
                 whole country, so every tile of that view is fetched and drawn. The
                 first visit to a fresh server draws every tile ("cold"); later visits
                 get them from the server's tile cache, valid until the record changes
                 (the median of those is the figure compared with the target);
  district zoom  from ``jumpTo`` a cluster of hazards at zoom 11 to the next ``idle``.

The reference measured in the same run is the page with no data layers' tiles at all
(the same navigation, map and fit, against an empty store), so the printed ratio says
what the national data costs on top of MapLibre starting up. Also printed: the bytes
of JavaScript the page ships, MapLibre itself and the rest. Targets (from the issue):
idle under 3 s at national zoom; under 1.5 MB of JavaScript beyond MapLibre.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from api_load import BENCH_USER, demine_server, load_store
from national_set import DEFAULT_SEED, generate

STATIC = Path(__file__).resolve().parent.parent / "src" / "demine" / "web" / "static"
TARGET_IDLE_S = 3.0
TARGET_JS_BYTES = 1_500_000


def js_sizes() -> tuple[int, int]:
    """(MapLibre's JavaScript, every other JavaScript file the page can load), in bytes."""
    maplibre = sum(p.stat().st_size for p in (STATIC / "vendor" / "maplibre-gl").glob("*.js"))
    rest = sum(p.stat().st_size for p in STATIC.rglob("*.js")) - maplibre
    return maplibre, rest


def _chromium():
    from playwright.sync_api import sync_playwright

    from web.conftest import CHROMIUM_ARGS, chromium_executable

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=chromium_executable(), headless=True, args=list(CHROMIUM_ARGS))
    return playwright, browser


def one_visit(browser, base: str, password: str, district: tuple[float, float] | None
              ) -> tuple[float, float | None]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(f"{base}/")
        page.fill("#username", BENCH_USER)
        page.fill("#password", password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("body[data-map-ready='1']", timeout=300_000)
        national = time.perf_counter() - start
        if district is None:
            return national, None
        district_s = page.evaluate("""([lon, lat]) => new Promise(done => {
            const map = window.demineMap;
            const t0 = performance.now();
            map.once('idle', () => done((performance.now() - t0) / 1000));
            map.jumpTo({center: [lon, lat], zoom: 11});
        })""", list(district))
        return national, float(district_s)
    finally:
        context.close()


def measure(label: str, db_url: str, tmp: Path, password: str, repeat: int,
            district: tuple[float, float] | None, browser
            ) -> tuple[float, float, float | None]:
    """(cold national, warm national, warm district) seconds on a fresh server."""
    server = demine_server(label, db_url, 1, secrets.token_urlsafe(48), tmp)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        cold, _ = one_visit(browser, base, password, district)
        runs = [one_visit(browser, base, password, district) for _ in range(repeat)]
    finally:
        server.stop()
    national = statistics.median(r[0] for r in runs)
    district_s = statistics.median(r[1] for r in runs) if district else None
    return cold, national, district_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hazards", type=int, default=200_000)
    parser.add_argument("--settlements", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    maplibre, rest = js_sizes()
    print(f"JavaScript: MapLibre {maplibre / 1e6:.2f} MB; everything else {rest / 1e3:.1f} kB "
          f"(target < {TARGET_JS_BYTES / 1e6:.1f} MB): "
          f"{'MET' if rest < TARGET_JS_BYTES else 'MISSED'}")
    password = secrets.token_urlsafe(16)
    settlements, hazards, _released = generate(args.hazards, args.settlements, args.seed)
    with tempfile.TemporaryDirectory(prefix="demine-web-bench-") as tmpdir:
        tmp = Path(tmpdir)
        seconds, national_db = load_store(f"sqlite:///{tmp}/national.sqlite", settlements,
                                          hazards, password)
        print(f"setup: {args.hazards} hazards, {args.settlements} settlements loaded in "
              f"{seconds:.1f} s")
        _s, empty_db = load_store(f"sqlite:///{tmp}/empty.sqlite", settlements[:1],
                                  hazards[:1], password)
        centre = hazards[len(hazards) // 2].polygon.centroid
        playwright, browser = _chromium()
        try:
            _c, ref, _ = measure("reference", empty_db, tmp, password, args.repeat, None,
                                 browser)
            cold, national, district = measure("national", national_db, tmp, password,
                                         args.repeat, (centre.x, centre.y), browser)
        finally:
            browser.close()
            playwright.stop()
    print(f"reference (one hazard, one settlement): idle {ref:.2f} s after navigation")
    print(f"national zoom: idle {national:.2f} s after navigation ({national / ref:.2f}x the "
          f"reference; target < {TARGET_IDLE_S:.0f} s): "
          f"{'MET' if national < TARGET_IDLE_S else 'MISSED'}")
    print(f"national zoom, first visit to a fresh server (tiles drawn, not cached): "
          f"idle {cold:.2f} s")
    print(f"district zoom (11): idle {district:.2f} s after jumpTo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
