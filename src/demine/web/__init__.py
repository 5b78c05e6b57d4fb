"""The operations map: one page at ``/`` and its files at ``/static/...``.

The page is plain HTML, CSS and ES modules with no build step, and it loads nothing
from the internet: MapLibre GL JS is vendored into ``static/vendor`` by
``scripts/vendor-web`` (field offices work offline), the map style is built in the page
with this server's roads as its only basemap and no sprites, its labels are drawn with
glyphs served at ``/glyphs`` (made from a vendored font by ``scripts/build-glyphs``;
names in Arabic or Hebrew also need MapLibre's RTL text plugin, vendored beside it and
fetched from ``/static`` only when such a name is to be drawn), and the data comes
from this server's REST API and vector tiles with the token the page's login form
obtains.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from demine.domain.errors import NotFound

#: The page's files, inside the installed package.
STATIC = Path(str(resources.files(__name__).joinpath("static")))
INDEX = STATIC / "index.html"
#: One folder per fontstack, one PBF per block of 256 code points (``0-255.pbf``).
GLYPHS = STATIC / "vendor" / "dejavu-fonts-ttf" / "glyphs"
GLYPH_MEDIA_TYPE = "application/x-protobuf"
_GLYPH_RANGE = re.compile(r"(\d{1,5})-(\d{1,5})")


class _RevalidatedFiles(StaticFiles):
    """Static files that a browser revalidates (ETag, 304) before each use, so an
    upgraded server is not shown with last version's scripts."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def fontstacks() -> list[str]:
    """The fontstacks the server has glyphs of (the style's ``text-font`` names)."""
    return sorted(p.name for p in GLYPHS.iterdir() if p.is_dir())


def glyph_file(fontstack: str, glyph_range: str) -> Path | None:
    """The PBF of ``fontstack`` for ``glyph_range`` ("256-511"); None when the font has
    no glyph there (or it was not built), NotFound for an unknown fontstack or a range
    that is not a block of 256 code points as MapLibre asks for them."""
    if fontstack not in fontstacks():
        raise NotFound("fontstack", f"{fontstack} (fontstacks: {', '.join(fontstacks())})")
    match = _GLYPH_RANGE.fullmatch(glyph_range)
    start, end = (int(match[1]), int(match[2])) if match else (-1, -1)
    if start % 256 or end != start + 255 or end > 0xFFFF:
        raise NotFound("glyph range", f"{glyph_range} (a block of 256 code points, "
                                      "e.g. 0-255 or 256-511)")
    path = GLYPHS / fontstack / f"{start}-{end}.pbf"
    return path if path.is_file() else None


def install(app: FastAPI) -> None:
    """Serve the page at ``/``, its files at ``/static`` and its label glyphs at
    ``/glyphs``; none is in the OpenAPI document (they are not API)."""
    app.mount("/static", _RevalidatedFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def operations_map() -> FileResponse:
        return FileResponse(INDEX, media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    @app.get("/glyphs/{fontstack}/{glyph_range}.pbf", include_in_schema=False)
    def glyphs(fontstack: str, glyph_range: str) -> Response:
        """The style's ``glyphs`` URL. A block the font has no glyph in is an empty
        glyph set, not a 404: MapLibre fails every label of a tile when one block of
        its text fails, while an empty block only leaves those characters out. Glyphs
        are the same from one request to the next, so the browser keeps them a day."""
        path = glyph_file(fontstack, glyph_range)
        headers = {"Cache-Control": "public, max-age=86400"}
        if path is None:
            return Response(b"", media_type=GLYPH_MEDIA_TYPE, headers=headers)
        return FileResponse(path, media_type=GLYPH_MEDIA_TYPE, headers=headers)
