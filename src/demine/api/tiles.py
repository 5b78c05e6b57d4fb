"""Vector tiles: ``/tiles/{layer}/{z}/{x}/{y}.mvt`` for web maps (MapLibre, OpenLayers, QGIS).

The route only checks who asks and turns the service's bytes into a response; how a
tile is made, on either store, is :mod:`demine.service.tiles`.

An empty tile is ``204 No Content`` with no body: map clients treat it as a tile with
nothing in it, and it says so without the client decoding anything.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam

from demine.api.errors import refusals_as_json
from demine.api.security import Caller
from demine.service import tiles

router = APIRouter(tags=["tiles"], responses=refusals_as_json())

_LAYERS = ", ".join(tiles.TILE_LAYERS)


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    summary="A Mapbox Vector Tile of one layer",
    responses={
        200: {"description": f"the tile, extent {tiles.EXTENT}, y down",
              "content": {tiles.MVT_MEDIA_TYPE: {"schema": {"type": "string",
                                                            "format": "binary"}}}},
        204: {"description": "nothing of this layer in the tile"},
        400: {**refusals_as_json()[400],
              "description": f"the tile is over {tiles.MAX_TILE_BYTES:,} bytes even "
                             "simplified; zoom in"},
    },
)
def get_tile(
        request: Request, who: Caller,
        layer: Annotated[str, PathParam(description=f"one of {_LAYERS}", max_length=64)],
        z: Annotated[int, PathParam(ge=0, le=tiles.MAX_ZOOM, description="zoom level")],
        x: Annotated[int, PathParam(ge=0, description="column, 0 to 2^z - 1, from the west")],
        y: Annotated[int, PathParam(ge=0, description="row, 0 to 2^z - 1, from the north")],
) -> Response:
    """Hazards, settlements, outcomes, findings, accidents or roads in one tile of the Web
    Mercator grid. Below zoom 10 a hazards tile holds the layer ``hazard_cells`` (points
    with ``status``, ``count``, ``remaining_m2``, ``synthetic``) instead of ``hazards``."""
    data = tiles.render_tile(request.app.state.repo, who, layer, z, x, y)
    if not data:
        return Response(status_code=204)
    return Response(content=data, media_type=tiles.MVT_MEDIA_TYPE)
