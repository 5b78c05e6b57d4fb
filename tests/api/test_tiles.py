"""Vector tiles of the demo district, on both stores: the right features, their
attributes, tile coordinates as the MVT spec has them, lighter tiles further out, the
size cap, and refusals (no token, a tile outside the grid, an unknown layer).

Expectations are computed here from the records the REST API lists, with pyproj and the
slippy-map tile formulas, not with the code under test.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import select

from demine.domain.access import Principal, Role
from demine.scenario.district import load_demo
from demine.service import tiles
from demine.store import Repository
from demine.store import schema as s

EXTENT, BUFFER = 4096, 64
MVT = "application/vnd.mapbox-vector-tile"
HALF_WORLD = math.pi * 6378137.0
TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
TO_LONLAT = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)

#: Properties of each layer's features, as the route documents them.
PROPERTIES = {
    "hazards": {"code", "status", "classification", "remaining_m2", "in_progress",
                "synthetic"},
    "settlements": {"code", "name", "status", "population", "synthetic"},
    "outcomes": {"method", "hazard_code", "synthetic"},
    "findings": {"eo_category", "synthetic"},
    "accidents": {"code", "type", "device_category", "synthetic"},
    "roads": {"code", "name", "road_class", "synthetic"},
}
RECORDS = {"hazards": "hazards", "settlements": "settlements", "outcomes": "outcomes",
           "findings": "findings"}
#: Below this zoom a hazards tile holds the summary layer ``hazard_cells`` instead: one
#: point per cell of CELL units and status, with these properties.
CELLS_BELOW, CELL = 10, 256
CELL_PROPERTIES = {"status", "count", "remaining_m2", "synthetic"}
#: Below this zoom settlements are kept one per cell of THIN units, the most important.
THIN_BELOW, THIN = 9, 64


def mvt_layer(layer: str, z: int) -> str:
    """The MVT layer a tile of ``layer`` holds at zoom ``z``."""
    return "hazard_cells" if layer == "hazards" and z < CELLS_BELOW else layer


# -- tile arithmetic, independent of demine --------------------------------------------------

def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The XYZ tile holding a WGS84 point (the OSM slippy-map formula)."""
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y


def mercator_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    size = 2 * HALF_WORLD / 2 ** z
    minx, maxy = -HALF_WORLD + x * size, HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def lonlat_box(z: int, x: int, y: int, margin_units: float = 0.0) -> shapely.Polygon:
    """The tile grown by ``margin_units`` tile units per side, as a WGS84 rectangle."""
    minx, miny, maxx, maxy = mercator_bounds(z, x, y)
    grow = margin_units * (maxx - minx) / EXTENT
    lon0, lat0 = TO_LONLAT.transform(minx - grow, miny - grow)
    lon1, lat1 = TO_LONLAT.transform(maxx + grow, maxy + grow)
    return shapely.box(lon0, lat0, lon1, lat1)


def mercator(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda c: np.column_stack(TO_MERCATOR.transform(c[:, 0],
                                                                                   c[:, 1])))


def pixel_area(z: int) -> float:
    """One screen pixel of a 256-pixel tile, in square Web Mercator metres."""
    pixel = 2 * HALF_WORLD / 2 ** z / 256
    return pixel * pixel


# -- reading tiles and records ---------------------------------------------------------------

def fetch(client: TestClient, headers: dict, layer: str, z: int, x: int, y: int) -> bytes:
    response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", headers=headers)
    assert response.status_code in (200, 204), response.text
    if response.status_code == 204:
        assert response.content == b""
        return b""
    assert response.headers["content-type"] == MVT
    assert response.content
    return response.content


def features(data: bytes, layer: str) -> list[dict[str, Any]]:
    """Decoded features with raw tile coordinates: y pointing down, as encoded."""
    if not data:
        return []
    decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    assert set(decoded) == {layer}
    assert decoded[layer]["extent"] == EXTENT
    return decoded[layer]["features"]


def tile_features(client, headers, layer, z, x, y) -> list[dict[str, Any]]:
    return features(fetch(client, headers, layer, z, x, y), mvt_layer(layer, z))


def vertices(feats: list[dict[str, Any]]) -> int:
    return sum(len(shapely.get_coordinates(shape(f["geometry"]))) for f in feats)


def records(client: TestClient, headers: dict, resource: str) -> list[dict[str, Any]]:
    page = client.get(f"/api/v1/{resource}", headers=headers, params={"limit": 1000}).json()
    assert page["next"] is None
    return page["items"]


@pytest.fixture(scope="module")
def viewer(headers) -> dict[str, str]:
    return headers["viewer"]


@pytest.fixture(scope="module")
def hazards(client, viewer) -> dict[str, dict[str, Any]]:
    """The district's hazards by code, each with its WGS84 shape."""
    return {h["code"]: {**h, "shape": shape(h["geometry"])}
            for h in records(client, viewer, "hazards")}


@pytest.fixture(scope="module")
def district_centre(hazards) -> tuple[float, float]:
    centre = shapely.union_all([h["shape"] for h in hazards.values()]).centroid
    return centre.x, centre.y


def drawn_hazards(hazards: dict[str, dict[str, Any]], z: int, x: int, y: int) -> set[str]:
    """Hazards meeting the tile with its buffer, less those under one pixel in area."""
    box = lonlat_box(z, x, y, BUFFER)
    return {code for code, h in hazards.items()
            if h["shape"].intersects(box) and mercator(h["shape"]).area >= pixel_area(z)}


# -- the features a tile holds --------------------------------------------------------------

def _worked_now(client, viewer) -> set[str]:
    return {a["hazard_code"] for a in records(client, viewer, "activities")
            if a["status"] == "in_progress"}


@pytest.mark.parametrize("z", [10, 12, 14])
def test_a_tile_holds_exactly_the_hazards_meeting_it(client, viewer, hazards, district_centre,
                                                     z) -> None:
    """At zoom 10 the tile covers the district and sub-pixel hazards are left out; at 12
    and 14 every hazard meeting the tile is in it, once, with its record's attributes."""
    tile = tile_of(*district_centre, z)
    feats = tile_features(client, viewer, "hazards", *tile)
    codes = [f["properties"]["code"] for f in feats]
    expected = drawn_hazards(hazards, *tile)
    assert expected, f"tile {tile} should hold hazards of the district"
    assert len(codes) == len(set(codes)) == len(expected)
    assert set(codes) == expected
    if z == 10:
        meeting = {c for c, h in hazards.items() if h["shape"].intersects(lonlat_box(*tile))}
        assert len(meeting - expected) > 0, "zoom 10 should drop some sub-pixel hazards"
    worked = _worked_now(client, viewer)
    for f in feats:
        record = hazards[f["properties"]["code"]]
        assert set(f["properties"]) == PROPERTIES["hazards"]
        for name in PROPERTIES["hazards"] - {"remaining_m2", "in_progress"}:
            assert f["properties"][name] == record[name]
        # SQLite's EXISTS is 0/1, PostGIS's a boolean: the map reads either as true/false
        assert bool(f["properties"]["in_progress"]) == (record["code"] in worked)
        assert f["properties"]["remaining_m2"] == pytest.approx(record["remaining_m2"])
        assert f["type"] == "Feature" and f["geometry"]["type"] in ("Polygon", "MultiPolygon")


@pytest.mark.parametrize("layer", ["settlements", "outcomes", "findings"])
def test_other_layers_hold_their_records_with_their_attributes(client, viewer, district_centre,
                                                               layer) -> None:
    z = 11
    tile = tile_of(*district_centre, z)
    box = lonlat_box(*tile, BUFFER)
    items = records(client, viewer, RECORDS[layer])
    feats = tile_features(client, viewer, layer, *tile)
    assert feats, f"{layer}: the district tile at zoom {z} should not be empty"
    for f in feats:
        assert set(f["properties"]) == PROPERTIES[layer]
    if layer == "settlements":
        meeting = {r["code"] for r in items if shape(r["geometry"]).intersects(box)}
        by_code = {r["code"]: r for r in items}
        assert sorted(f["properties"]["code"] for f in feats) == sorted(meeting)
        for f in feats:
            record = by_code[f["properties"]["code"]]
            assert {k: f["properties"][k] for k in PROPERTIES[layer]} == \
                {k: record[k] for k in PROPERTIES[layer]}
    else:
        # outcomes and findings are keyed by id; the feature id is the record's id
        by_id = {r["id"]: r for r in items}
        big_enough = {r["id"] for r in items if shape(r["geometry"]).intersects(box) and (
            layer == "findings" or mercator(shape(r["geometry"])).area >= pixel_area(z))}
        assert sorted(f["id"] for f in feats) == sorted(big_enough)
        for f in feats:
            for k in PROPERTIES[layer] - {"synthetic"}:
                assert f["properties"][k] == by_id[f["id"]][k]


@pytest.fixture(scope="module")
def demo_roads(served_db) -> dict[str, dict[str, Any]]:
    """The district's roads as the store holds them (no REST resource lists roads)."""
    repo = Repository.open(served_db.url, create=False)
    try:
        with repo.reader() as uow:
            rows = uow.conn.execute(select(
                s.roads.c.code, s.roads.c.name, s.roads.c.road_class, s.roads.c.synthetic,
                s.roads.c.geom)).all()
    finally:
        repo.close()
    return {code: {"name": name, "road_class": cls, "synthetic": bool(synthetic),
                   "shape": geom} for code, name, cls, synthetic, geom in rows}


@pytest.mark.parametrize("z", [11, 14])
def test_the_roads_tile_holds_the_district_roads_as_lines(client, viewer, demo_roads,
                                                          district_centre, z) -> None:
    """The basemap: every road meeting the tile (with its buffer) is in it once, as a line
    with its record's name and class, drawn where the road is."""
    assert len(demo_roads) >= 10 and {r["road_class"] for r in demo_roads.values()} >= {
        "primary", "track"}
    tile = tile_of(*district_centre, z)
    feats = tile_features(client, viewer, "roads", *tile)
    box = lonlat_box(*tile, BUFFER)
    meeting = {code for code, r in demo_roads.items() if r["shape"].intersects(box)}
    assert meeting, f"tile {tile} should hold roads of the district"
    codes = [f["properties"]["code"] for f in feats]
    assert len(codes) == len(set(codes)) and set(codes) == meeting
    minx, _miny, _maxx, maxy = mercator_bounds(*tile)
    scale = EXTENT / (2 * HALF_WORLD / 2 ** z)
    for f in feats:
        record = demo_roads[f["properties"]["code"]]
        assert set(f["properties"]) == PROPERTIES["roads"]
        assert f["properties"]["name"] == record["name"]
        assert f["properties"]["road_class"] == record["road_class"]
        assert bool(f["properties"]["synthetic"]) is record["synthetic"] is True
        assert f["geometry"]["type"] in ("LineString", "MultiLineString")
        drawn = shape(f["geometry"])
        # the drawn line lies on the road: within a few tile units of where it is
        road = shapely.transform(mercator(record["shape"]), lambda c: np.column_stack(
            [(c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale]))
        window = shapely.box(-BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
        assert drawn.hausdorff_distance(road.intersection(window)) < 8, record["name"]


def test_the_hazards_being_worked_are_marked(client, viewer, hazards) -> None:
    worked = _worked_now(client, viewer)
    assert worked, "the demo district has activities in progress"
    for code in sorted(worked)[:3]:
        lon, lat = hazards[code]["shape"].representative_point().coords[0]
        feats = tile_features(client, viewer, "hazards", *tile_of(lon, lat, 14))
        [feature] = [f for f in feats if f["properties"]["code"] == code]
        assert bool(feature["properties"]["in_progress"])


def test_accidents_are_on_the_map_without_their_narrative(client, viewer) -> None:
    accidents = records(client, viewer, "accidents")
    assert accidents, "the demo district has accidents"
    for accident in accidents:
        lon, lat = accident["geometry"]["coordinates"]
        feats = tile_features(client, viewer, "accidents", *tile_of(lon, lat, 13))
        [feature] = [f for f in feats if f["properties"]["code"] == accident["code"]]
        assert set(feature["properties"]) == PROPERTIES["accidents"]
        assert feature["properties"]["type"] == accident["type"]
        assert feature["properties"]["device_category"] == accident["device_category"]


def test_geometry_is_in_tile_units_with_y_down(client, viewer, hazards) -> None:
    """Every vertex lies within the extent plus the buffer, and a hazard sits where the
    MVT spec puts it: x from the west edge, y from the north edge."""
    code, hazard = sorted(hazards.items())[0]
    z = 14
    tile = tile_of(hazard["shape"].centroid.x, hazard["shape"].centroid.y, z)
    minx, _miny, _maxx, maxy = mercator_bounds(*tile)
    scale = EXTENT / (2 * HALF_WORLD / 2 ** z)
    feats = tile_features(client, viewer, "hazards", *tile)
    for f in feats:
        xy = shapely.get_coordinates(shape(f["geometry"]))
        assert (xy >= -BUFFER).all() and (xy <= EXTENT + BUFFER).all(), f["properties"]["code"]
    [feature] = [f for f in feats if f["properties"]["code"] == code]
    centre = mercator(hazard["shape"]).centroid
    expected = ((centre.x - minx) * scale, (maxy - centre.y) * scale)
    drawn = shape(feature["geometry"])
    if shapely.contains(lonlat_box(*tile), hazard["shape"]):
        assert drawn.centroid.x == pytest.approx(expected[0], abs=4)
        assert drawn.centroid.y == pytest.approx(expected[1], abs=4)
    else:  # clipped: the part drawn is still on the hazard's side of the tile
        assert drawn.intersects(shapely.Point(expected).buffer(EXTENT / 4))


def whole(feats: list[dict[str, Any]]) -> dict[str, int]:
    """Vertex counts of the hazards drawn whole (not clipped) in a tile, by code."""
    out = {}
    for f in feats:
        xy = shapely.get_coordinates(shape(f["geometry"]))
        if (xy >= 0).all() and (xy <= EXTENT).all():
            out[f["properties"]["code"]] = len(xy)
    return out


def test_lower_zoom_tiles_carry_no_more_vertices(client, viewer, district_centre) -> None:
    """A hazard drawn whole in a tile has no more vertices than in the child tile one zoom
    in: the tolerance doubles with each zoom level out (and the smallest are dropped)."""
    compared = simplified = 0
    for z in range(CELLS_BELOW, 15):
        _, x, y = tile_of(*district_centre, z)
        parent = whole(tile_features(client, viewer, "hazards", z, x, y))
        children: dict[str, int] = {}
        for cx in (2 * x, 2 * x + 1):
            for cy in (2 * y, 2 * y + 1):
                children.update(whole(tile_features(client, viewer, "hazards", z + 1, cx, cy)))
        both = parent.keys() & children.keys()
        assert all(parent[c] <= children[c] for c in both), \
            {c: (parent[c], children[c]) for c in both if parent[c] > children[c]}
        assert sum(parent[c] for c in both) <= sum(children[c] for c in both)
        compared += len(both)
        simplified += sum(parent[c] < children[c] for c in both)
    assert compared >= 20 and simplified > 0, (compared, simplified)


# -- far out: hazards summarised, settlements thinned ------------------------------------------

def expected_cells(hazards: dict[str, dict[str, Any]], z: int, x: int, y: int
                   ) -> dict[tuple[int, int, str], dict[str, Any]]:
    """The hazards whose centroid lies in the tile, by (cell column, cell row, status):
    how many, their remaining area and the mean of their centroids in tile units."""
    minx, _miny, _maxx, maxy = mercator_bounds(z, x, y)
    scale = EXTENT / (2 * HALF_WORLD / 2 ** z)
    groups: dict[tuple[int, int, str], list] = {}
    for h in hazards.values():
        cx, cy = TO_MERCATOR.transform(*h["shape"].centroid.coords[0])
        ux, uy = (cx - minx) * scale, (maxy - cy) * scale
        if 0 <= ux < EXTENT and 0 <= uy < EXTENT:
            groups.setdefault((int(ux // CELL), int(uy // CELL), h["status"]), []).append(
                (ux, uy, h["remaining_m2"]))
    return {key: {"count": len(members), "remaining_m2": sum(m[2] for m in members),
                  "at": (float(np.mean([m[0] for m in members])),
                         float(np.mean([m[1] for m in members])))}
            for key, members in groups.items()}


@pytest.mark.parametrize("z", [6, 8, 9])
def test_far_out_a_hazards_tile_counts_its_hazards_by_cell_and_status(client, viewer, hazards,
                                                                      district_centre,
                                                                      z) -> None:
    """Below zoom 10 the tile holds no hazard areas but one point per cell and status,
    at the mean centre of the hazards counted there: every hazard whose centroid is in
    the tile is counted once, and released ones are shown too."""
    tile = tile_of(*district_centre, z)
    data = fetch(client, viewer, "hazards", *tile)
    decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    assert set(decoded) == {"hazard_cells"}, "no hazard areas are sent this far out"
    feats = decoded["hazard_cells"]["features"]
    expected = expected_cells(hazards, *tile)
    assert sum(e["count"] for e in expected.values()) >= 0.5 * len(hazards)
    assert max(e["count"] for e in expected.values()) > 1, "a dense area, summarised"
    got = {}
    for f in feats:
        assert set(f["properties"]) == CELL_PROPERTIES and f["geometry"]["type"] == "Point"
        ux, uy = f["geometry"]["coordinates"]
        key = (ux // CELL, uy // CELL, f["properties"]["status"])
        assert key not in got, f"two points for cell and status {key}"
        got[key] = f
    assert set(got) == set(expected)
    for key, f in got.items():
        assert f["properties"]["count"] == expected[key]["count"], key
        assert f["properties"]["remaining_m2"] == pytest.approx(expected[key]["remaining_m2"])
        assert f["geometry"]["coordinates"] == pytest.approx(expected[key]["at"], abs=1)
        assert f["properties"]["synthetic"] is True
    counted = {status: sum(f["properties"]["count"] for f in feats
                           if f["properties"]["status"] == status)
               for status in {h["status"] for h in hazards.values()}}
    assert counted == {status: sum(e["count"] for (_x, _y, st), e in expected.items()
                                   if st == status) for status in counted}
    assert len([s for s, n in counted.items() if n]) >= 2, counted


def test_far_out_the_four_quarters_of_a_tile_count_what_it_counts(client, viewer,
                                                                  district_centre) -> None:
    """A hazard is counted in one tile only: the counts of the four tiles one zoom in add
    up to the tile's, status by status."""
    z, x, y = tile_of(*district_centre, 8)

    def by_status(feats):
        out: dict[str, int] = {}
        for f in feats:
            out[f["properties"]["status"]] = out.get(f["properties"]["status"], 0) + \
                f["properties"]["count"]
        return out

    parent = by_status(tile_features(client, viewer, "hazards", z, x, y))
    children: dict[str, int] = {}
    for cx in (2 * x, 2 * x + 1):
        for cy in (2 * y, 2 * y + 1):
            for status, n in by_status(tile_features(client, viewer, "hazards", z + 1, cx,
                                                     cy)).items():
                children[status] = children.get(status, 0) + n
    assert parent and parent == children


def test_far_out_settlements_are_thinned_to_the_most_important_per_cell(
        client, viewer, district_centre) -> None:
    """Below zoom 9 a settlements tile keeps one settlement per 4-pixel cell: every one
    left out shares its cell with a kept one that is closed, or as populous, or more."""
    items = {r["code"]: r for r in records(client, viewer, "settlements")}
    z = THIN_BELOW - 1
    tile = tile_of(*district_centre, z)
    minx, _miny, _maxx, maxy = mercator_bounds(*tile)
    scale = EXTENT / (2 * HALF_WORLD / 2 ** z)
    box = lonlat_box(*tile, BUFFER)

    def cell(r):
        mx, my = TO_MERCATOR.transform(*r["geometry"]["coordinates"])
        return (math.floor(round((mx - minx) * scale) / THIN),
                math.floor(round((maxy - my) * scale) / THIN))

    def rank(r):
        return (r["status"] != "closed", -r["population"])

    meeting = [r for r in items.values() if shape(r["geometry"]).intersects(box)]
    kept = {f["properties"]["code"] for f in tile_features(client, viewer, "settlements",
                                                           *tile)}
    assert kept <= {r["code"] for r in meeting}
    assert 0 < len(kept) < len(meeting)
    best = {}
    for r in meeting:
        best.setdefault(cell(r), []).append(r)
    assert len(kept) == len(best), "one settlement per cell"
    for members in best.values():
        [chosen] = [r for r in members if r["code"] in kept]
        assert rank(chosen) == min(rank(r) for r in members), chosen["code"]
    # from zoom 9, where names are written, every settlement is there
    near = tile_of(*district_centre, THIN_BELOW)
    box = lonlat_box(*near, BUFFER)
    assert {f["properties"]["code"] for f in tile_features(
        client, viewer, "settlements", *near)} == {
        r["code"] for r in items.values() if shape(r["geometry"]).intersects(box)}


# -- size, emptiness and the cap --------------------------------------------------------------

def test_tiles_of_the_district_are_small(client, viewer, district_centre) -> None:
    for layer in PROPERTIES:
        for z in range(6, 16):
            data = fetch(client, viewer, layer, *tile_of(*district_centre, z))
            assert len(data) < 16 * 1024, (layer, z, len(data))


def test_an_empty_tile_is_204_with_no_body(client, viewer) -> None:
    for layer in PROPERTIES:
        response = client.get(f"/tiles/{layer}/10/0/0.mvt", headers=viewer)
        assert response.status_code == 204 and response.content == b""


def test_a_tile_over_the_cap_is_thinned_then_refused(client, viewer, district_centre,
                                                     monkeypatch) -> None:
    """Over the cap, points are thinned to one per cell, the most important kept; a tile
    that cannot get under the cap at all is refused, naming the cap. Far out (zoom 6)
    the tile is thinned to 4-pixel cells already; over the cap, to cells twice as wide."""
    tile = tile_of(*district_centre, 6)
    whole = fetch(client, viewer, "settlements", *tile)
    full = features(whole, "settlements")
    cap = len(whole) * 3 // 4
    monkeypatch.setattr(tiles, "MAX_TILE_BYTES", cap)
    data = fetch(client, viewer, "settlements", *tile)
    thin = features(data, "settlements")
    assert len(data) <= cap and 0 < len(thin) < len(full)
    assert {f["id"] for f in thin} <= {f["id"] for f in full}
    cells = {tuple(np.floor(np.array(f["geometry"]["coordinates"]) / (2 * THIN)))
             for f in thin}
    assert len(cells) == len(thin), "two kept settlements share one 8-pixel cell"
    first = min(full, key=lambda f: (f["properties"]["status"] != "closed",
                                     -f["properties"]["population"], f["id"]))
    assert first["id"] in {f["id"] for f in thin}
    monkeypatch.setattr(tiles, "MAX_TILE_BYTES", 10)
    refused = client.get("/tiles/settlements/{}/{}/{}.mvt".format(*tile), headers=viewer)
    assert refused.status_code == 400
    assert "zoom in" in refused.json()["detail"] and "10-byte cap" in refused.json()["detail"]


# -- refusals ---------------------------------------------------------------------------------

def test_tiles_need_a_login(client, district_centre) -> None:
    path = "/tiles/hazards/{}/{}/{}.mvt".format(*tile_of(*district_centre, 12))
    assert client.get(path).status_code == 401
    bad = client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("path", "field"), [
    ("/tiles/hazards/23/0/0.mvt", "z"),
    ("/tiles/hazards/-1/0/0.mvt", "z"),
    ("/tiles/hazards/4/16/0.mvt", "x"),
    ("/tiles/hazards/4/0/16.mvt", "y"),
    ("/tiles/hazards/0/-1/0.mvt", "x"),
    ("/tiles/hazards/3/0/abc.mvt", "y"),
])
def test_coordinates_outside_the_grid_are_422_naming_the_field(client, viewer, path,
                                                               field) -> None:
    response = client.get(path, headers=viewer)
    assert response.status_code == 422, response.text
    assert response.json()["field"].split(".")[-1] == field


def test_an_unknown_layer_is_404(client, viewer) -> None:
    response = client.get("/tiles/boundaries/10/0/0.mvt", headers=viewer)
    assert response.status_code == 404
    assert "hazards" in response.json()["detail"]


# -- the same tiles on both stores -------------------------------------------------------------

@pytest.fixture(scope="module")
def sqlite_reference(tmp_path_factory) -> Iterator[Repository]:
    """The demo district on its own SQLite store: the tiles every store must match."""
    repo = Repository.open(f"sqlite:///{tmp_path_factory.mktemp('tiles_ref')}/ref.sqlite")
    load_demo(repo, seed=7)
    yield repo
    repo.close()


def identity(layer: str, feats: list[dict[str, Any]]) -> list:
    """What names a feature alike on both stores (ids are each database's own)."""
    if layer == "hazard_cells":
        return sorted((f["properties"]["status"], f["properties"]["count"],
                       round(f["properties"]["remaining_m2"]), *f["geometry"]["coordinates"])
                      for f in feats)
    if layer in ("hazards", "settlements", "accidents", "roads"):
        return sorted(f["properties"]["code"] for f in feats)
    if layer == "outcomes":
        return sorted((f["properties"]["hazard_code"], f["properties"]["method"]) for f in feats)
    return sorted((f["properties"]["eo_category"], *f["geometry"]["coordinates"]) for f in feats)


def test_the_same_tile_has_the_same_features_on_every_store(client, viewer, hazards,
                                                           sqlite_reference,
                                                           monkeypatch) -> None:
    """Compared with the SQLite reference (on SQLite this checks determinism, on PostGIS
    that SQL and shapely agree), including a tile thinned to get under the cap."""
    me = Principal("reference", Role.VIEWER, None)
    codes = sorted(hazards)
    starts = [hazards[c]["shape"].centroid for c in (codes[0], codes[len(codes) // 2],
                                                      codes[-1])]
    wanted = sorted({(layer, *tile_of(p.x, p.y, z)) for p in starts for z in range(6, 16)
                     for layer in PROPERTIES})
    nonempty = 0
    for layer, z, x, y in wanted:
        ours = identity(mvt_layer(layer, z), tile_features(client, viewer, layer, z, x, y))
        theirs = identity(mvt_layer(layer, z), features(
            tiles.render_tile(sqlite_reference, me, layer, z, x, y), mvt_layer(layer, z)))
        assert ours == theirs, (layer, z, x, y)
        nonempty += bool(ours)
    assert nonempty > len(wanted) // 3
    tile = tile_of(starts[0].x, starts[0].y, 6)
    monkeypatch.setattr(tiles, "MAX_TILE_BYTES",
                        len(tiles.render_tile(sqlite_reference, me, "settlements", *tile)) - 1)
    thin = identity("settlements", tile_features(client, viewer, "settlements", *tile))
    assert thin == identity("settlements", features(
        tiles.render_tile(sqlite_reference, me, "settlements", *tile), "settlements"))
