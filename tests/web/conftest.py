"""Browser tests: Debian's Chromium, headless, driven by Playwright, on a real server.

The server is ``demine serve`` over the demo district on each store (the fixtures of
``tests/server_fixtures.py``). Chromium is the system one (``/usr/bin/chromium``,
installed by ``scripts/test``); Playwright downloads nothing. Every request the page
makes is recorded, so a test can prove the page never left 127.0.0.1. Screenshots go
to ``test-artifacts/screenshots`` (or ``$DEMINE_SCREENSHOTS``) for people to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from server_fixtures import live_server, served_db  # noqa: F401

SCREENSHOTS = Path(os.environ.get("DEMINE_SCREENSHOTS", "test-artifacts/screenshots"))


#: WebGL without a GPU: Chromium's software renderer (root in CI needs no sandbox).
CHROMIUM_ARGS = ("--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--ignore-gpu-blocklist")


def chromium_executable() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError("Chromium is not installed: scripts/test installs Debian's "
                           "chromium package; run it, or apt-get install chromium")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable(), headless=True, args=list(CHROMIUM_ARGS))
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """A page and every URL it asked for."""

    page: Page
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def _visit(browser: Browser, width: int, height: int) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    seen = Visit(page)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("response", lambda response: seen.failed.append(
        f"{response.status} {response.url}") if response.status >= 400 else None)
    page.on("console", lambda msg: seen.console_errors.append(msg.text)
            if msg.type == "error" else None)
    yield seen
    context.close()


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    """A laptop's screen: 1280 x 800."""
    yield from _visit(browser, 1280, 800)


@pytest.fixture
def tablet_visit(browser: Browser) -> Iterator[Visit]:
    """A tablet held upright: 768 x 1024."""
    yield from _visit(browser, 768, 1024)
