"""Driving the map page the way a person does, shared by the browser tests."""

from __future__ import annotations


def idle_at(page, centre: list[float], zoom: float) -> None:
    """Jump the map to ``centre`` at ``zoom`` and wait until every tile is drawn."""
    page.evaluate("""([centre, zoom]) => new Promise((done) => {
        const map = window.demineMap;
        map.once('idle', done);
        map.jumpTo({center: centre, zoom});
    })""", [centre, zoom])


def draw_square(page, cx: float, cy: float, side: float) -> None:
    """Draw a square of ``2 * side`` screen pixels around (cx, cy), corner by corner,
    with the report form's polygon tool, and wait for the form to take it."""
    corners = [(cx - side, cy + side), (cx + side, cy + side), (cx + side, cy - side),
               (cx - side, cy - side)]
    page.click("#draw-polygon")
    for x, y in [*corners, corners[0]]:
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        page.wait_for_timeout(200)
    page.wait_for_function(
        "document.getElementById('report-area').textContent.startsWith('Drawn')")
