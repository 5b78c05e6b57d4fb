"""Tiles are drawn once per version of the record: a change anywhere draws them again."""

from __future__ import annotations

import math

import mapbox_vector_tile

from demine.service.tiles import tile_cache


def _tile(client, h, path: str) -> tuple[int, bytes]:
    response = client.get(path, headers=h)
    return response.status_code, response.content


def _settlement_tile(client, h) -> tuple[str, dict]:
    settlement = client.get("/api/v1/settlements", headers=h,
                            params={"limit": 1}).json()["items"][0]
    lon, lat = settlement["geometry"]["coordinates"]
    z = 12
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/tiles/settlements/{z}/{x}/{y}.mvt", settlement


def test_a_tile_is_drawn_once_until_the_record_changes(client, headers) -> None:
    h, im = headers["viewer"], headers["im"]
    path, settlement = _settlement_tile(client, h)
    first = _tile(client, h, path)
    hits = tile_cache.hits
    again = _tile(client, headers["op.fdu"], path)
    assert again == first and tile_cache.hits == hits + 1
    # a change to the record (here a settlement's population) draws the tile again
    edit = client.patch(f"/api/v1/settlements/{settlement['code']}",
                        json={"population": settlement["population"] + 7},
                        headers={**im, "If-Match": f'"{settlement["version"]}"'})
    assert edit.status_code == 200, edit.text
    misses = tile_cache.misses
    status, body = _tile(client, h, path)
    assert status == 200 and tile_cache.misses == misses + 1
    drawn = {f["properties"]["code"]: f["properties"]["population"]
             for f in mapbox_vector_tile.decode(body)["settlements"]["features"]}
    assert drawn[settlement["code"]] == settlement["population"] + 7
