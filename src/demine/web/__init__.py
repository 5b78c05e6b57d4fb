"""The operations map: one page at ``/`` and its files at ``/static/...``.

The page is plain HTML, CSS and ES modules with no build step, and it loads nothing
from the internet: MapLibre GL JS is vendored into ``static/vendor`` by
``scripts/vendor-web`` (field offices work offline), the map style is built in the page
with no basemap, glyphs or sprites, and the data comes from this server's REST API and
vector tiles with the token the page's login form obtains.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

#: The page's files, inside the installed package.
STATIC = Path(str(resources.files(__name__).joinpath("static")))
INDEX = STATIC / "index.html"


class _RevalidatedFiles(StaticFiles):
    """Static files that a browser revalidates (ETag, 304) before each use, so an
    upgraded server is not shown with last version's scripts."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def install(app: FastAPI) -> None:
    """Serve the page at ``/`` and its files at ``/static``; neither is in the OpenAPI
    document (they are not API)."""
    app.mount("/static", _RevalidatedFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def operations_map() -> FileResponse:
        return FileResponse(INDEX, media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})
