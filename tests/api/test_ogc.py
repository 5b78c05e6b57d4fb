"""OGC API - Features at /ogc, read by the clients GIS staff actually use (GDAL through
pyogrio, owslib), checked by the ogctests suite, and probed in-process for the rules the
standard sets: 400 naming a bad parameter, limit clamping, datetime, paging, 401.

Every expectation is taken from the REST API over the same database, so the two faces
of the record cannot drift apart unnoticed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import httpx
import pyogrio
import pytest
from fastapi.testclient import TestClient
from owslib import ogcapi
from owslib.ogcapi.features import Features

from demine.api import ogc

COLLECTIONS = ("hazards", "settlements", "outcomes", "findings")
KEY = {"hazards": "code", "settlements": "code", "outcomes": "id", "findings": "id"}
DATE = {"hazards": "updated_at", "settlements": "updated_at", "outcomes": "info_date",
        "findings": "found_on"}


def rest_all(http: TestClient | httpx.Client, name: str,
             auth: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every record of a resource through the REST API (all demo sets fit one page)."""
    response = http.get(f"/api/v1/{name}", params={"limit": 1000, **params}, headers=auth)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next"] is None
    return page["items"]


def sample_box(http: TestClient | httpx.Client, auth: dict[str, str]
               ) -> tuple[float, float, float, float]:
    """A box around the first few hazards: it catches some hazards, not all."""
    import shapely.geometry

    items = rest_all(http, "hazards", auth)
    bounds = [shapely.geometry.shape(h["geometry"]).bounds for h in items[:3]]
    return (min(b[0] for b in bounds), min(b[1] for b in bounds),
            max(b[2] for b in bounds), max(b[3] for b in bounds))


# --- real clients over a real socket ---------------------------------------------------

@pytest.fixture
def gdal_bearer(live_server) -> Iterator[None]:
    """GDAL sends the viewer's token; unset afterwards so no other test inherits it.

    ``GDAL_HTTP_AUTH=BEARER`` rather than ``GDAL_HTTP_HEADERS``: the OAPIF driver sets
    its own Accept header through the per-request HEADERS option, which takes the place
    of ``GDAL_HTTP_HEADERS``, so a token given that way never reaches the server.
    """
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER",
                                     "GDAL_HTTP_BEARER": live_server.token})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def test_gdal_reads_every_collection_with_the_rest_totals(live_server, gdal_bearer) -> None:
    source = f"OAPIF:{live_server.base_url}/ogc"
    layers = {name: kind for name, kind in pyogrio.list_layers(source)}
    assert layers == {"hazards": "Polygon", "settlements": "Point", "outcomes": "Polygon",
                      "findings": "Point"}
    with httpx.Client(base_url=live_server.base_url) as http:
        for name in COLLECTIONS:
            total = http.get(f"/api/v1/{name}", params={"limit": 1},
                             headers=live_server.auth_header).json()["total"]
            frame = pyogrio.read_dataframe(source, layer=name)
            assert len(frame) == total > 0, name
            assert frame.crs.to_string() == "OGC:CRS84"


def test_gdal_bbox_read_is_the_rest_bbox_subset(live_server, gdal_bearer) -> None:
    with httpx.Client(base_url=live_server.base_url) as http:
        box = sample_box(http, live_server.auth_header)
        everything = {h["code"] for h in rest_all(http, "hazards", live_server.auth_header)}
        expected = {h["code"] for h in rest_all(
            http, "hazards", live_server.auth_header, bbox=",".join(map(str, box)))}
    assert expected and expected < everything
    frame = pyogrio.read_dataframe(f"OAPIF:{live_server.base_url}/ogc", layer="hazards",
                                   bbox=box)
    assert set(frame["code"]) == expected


@pytest.fixture
def owslib_headers() -> Iterator[None]:
    """owslib merges the caller's headers into a module-wide dict; restore it after."""
    saved = dict(ogcapi.REQUEST_HEADERS)
    try:
        yield
    finally:
        ogcapi.REQUEST_HEADERS.clear()
        ogcapi.REQUEST_HEADERS.update(saved)


def test_owslib_lists_collections_and_reads_items(live_server, owslib_headers) -> None:
    api = Features(f"{live_server.base_url}/ogc", headers=dict(live_server.auth_header))
    assert api.feature_collections() == list(COLLECTIONS)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        api.conformance()["conformsTo"]
    assert api.api()["openapi"].startswith("3.0.")
    with httpx.Client(base_url=live_server.base_url) as http:
        box = sample_box(http, live_server.auth_header)
        expected = {h["code"] for h in rest_all(
            http, "hazards", live_server.auth_header, bbox=",".join(map(str, box)))}
        findings = rest_all(http, "findings", live_server.auth_header)
    page = api.collection_items("hazards", bbox=list(box), limit=1000)
    assert page["type"] == "FeatureCollection"
    assert {f["id"] for f in page["features"]} == expected
    assert page["numberReturned"] == len(expected)
    one = api.collection_item("findings", str(findings[0]["id"]))
    assert one["id"] == findings[0]["id"]
    assert one["properties"]["eo_category"] == findings[0]["eo_category"]
    extent = api.collection("hazards")["extent"]["spatial"]["bbox"][0]
    assert extent[0] <= box[0] and extent[1] <= box[1]
    assert extent[2] >= box[2] and extent[3] >= box[3]


OGCTESTS = textwrap.dedent("""
    import sys
    import httpx
    from ogctests.main import run_ogctests

    url, token = sys.argv[1], sys.argv[2]
    client = httpx.Client(base_url=url, headers={"Authorization": "Bearer " + token})
    sys.exit(int(run_ogctests("features/core", url, test_client=client,
                              flags=["-q", "-p", "no:cacheprovider", "-rfEs"])))
""")


def test_ogctests_features_core_passes(live_server, tmp_path) -> None:
    """The suite in its own process: it runs pytest itself and sets environment
    variables. Its CLI exits 0 whatever the result, so its return code comes from
    ``run_ogctests``."""
    done = subprocess.run(
        [sys.executable, "-c", OGCTESTS, f"{live_server.base_url}/ogc", live_server.token],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-3000:]


# --- in process: the rules of the standard --------------------------------------------

def items_url(name: str) -> str:
    return f"/ogc/collections/{name}/items"


def test_every_ogc_data_endpoint_needs_the_token(client) -> None:
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/hazards",
                 items_url("hazards"), items_url("findings") + "/1"):
        assert client.get(path).status_code == 401, path
    assert client.get("/ogc/api").status_code == 200


def test_landing_page_links_the_definition_conformance_and_data(client, headers) -> None:
    page = client.get("/ogc", headers=headers["viewer"])
    assert page.headers["content-type"] == "application/json"
    rels = {(link["rel"], link["type"]): link["href"] for link in page.json()["links"]}
    assert rels[("service-desc", ogc.OAS30)].endswith("/ogc/api")
    assert rels[("service-desc", ogc.OAS31)].endswith("/openapi.json")
    assert rels[("conformance", "application/json")].endswith("/ogc/conformance")
    assert rels[("data", "application/json")].endswith("/ogc/collections")
    definition = client.get("/ogc/api").json()
    assert definition["openapi"].startswith("3.0.")
    limit = definition["components"]["parameters"]["limit"]["schema"]
    assert (limit["default"], limit["maximum"]) == (10, 1000)
    conformance = client.get("/ogc/conformance", headers=headers["viewer"]).json()
    assert set(ogc.CONFORMANCE) == set(conformance["conformsTo"])


def test_unknown_parameter_is_a_400_naming_it(client, headers) -> None:
    response = client.get(items_url("hazards"), params={"colour": "red"},
                          headers=headers["viewer"])
    assert response.status_code == 400
    assert "colour" in response.json()["detail"]
    response = client.get(items_url("findings"), params={"status": "released"},
                          headers=headers["viewer"])  # a hazards filter, not a findings one
    assert response.status_code == 400 and "status" in response.json()["detail"]
    for params, name in (({"limit": ["1", "2"]}, "limit"), ({"crs": "EPSG:4326"}, "crs"),
                         ({"bbox-crs": "EPSG:3857"}, "bbox-crs"), ({"f": "html"}, "f")):
        response = client.get(items_url("hazards"), params=params, headers=headers["viewer"])
        assert response.status_code == 400
        assert response.json()["detail"].startswith(f"{name}:"), params
    ok = client.get(items_url("hazards"), params={"f": "json", "status": "released"},
                    headers=headers["viewer"])
    assert ok.status_code == 200
    assert {f["properties"]["status"] for f in ok.json()["features"]} == {"released"}


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "10,10,5,5", "0,0,200,10", "1,2,3,4,5"])
def test_bad_bbox_is_a_400(client, headers, bbox: str) -> None:
    response = client.get(items_url("hazards"), params={"bbox": bbox},
                          headers=headers["viewer"])
    assert response.status_code == 400, bbox
    assert response.json()["detail"].startswith("bbox:")


def test_bbox_selects_what_the_rest_api_selects(client, headers) -> None:
    box = sample_box(client, headers["viewer"])
    expected = {h["code"] for h in rest_all(client, "hazards", headers["viewer"],
                                            bbox=",".join(map(str, box)))}
    got = client.get(items_url("hazards"), params={"bbox": ",".join(map(str, box)),
                                                   "limit": 1000},
                     headers=headers["viewer"])
    assert got.headers["content-type"] == "application/geo+json"
    assert got.headers["content-crs"] == f"<{ogc.CRS84}>"
    assert {f["id"] for f in got.json()["features"]} == expected
    six = client.get(items_url("hazards"), params={
        "bbox": f"{box[0]},{box[1]},-10,{box[2]},{box[3]},10", "limit": 1000},
        headers=headers["viewer"])
    assert {f["id"] for f in six.json()["features"]} == expected


def test_limit_defaults_to_ten_and_clamps_to_the_maximum(client, headers, monkeypatch) -> None:
    first = client.get(items_url("hazards"), headers=headers["viewer"]).json()
    assert first["numberReturned"] == len(first["features"]) == 10
    for bad in ("0", "-3", "unlimited", "2.5"):
        response = client.get(items_url("hazards"), params={"limit": bad},
                              headers=headers["viewer"])
        assert response.status_code == 400 and "limit" in response.json()["detail"]
    total = len(rest_all(client, "hazards", headers["viewer"]))
    every = client.get(items_url("hazards"), params={"limit": 5000},
                       headers=headers["viewer"]).json()
    assert every["numberReturned"] == total
    monkeypatch.setattr(ogc, "MAX_LIMIT", 4)  # a maximum the demo district exceeds
    clamped = client.get(items_url("hazards"), params={"limit": 50},
                         headers=headers["viewer"]).json()
    assert clamped["numberReturned"] == 4
    nxt = next(link["href"] for link in clamped["links"] if link["rel"] == "next")
    assert httpx.URL(nxt).params["limit"] == "4"


def ids(response: httpx.Response) -> set:
    assert response.status_code == 200, response.text
    return {f["id"] for f in response.json()["features"]}


def test_datetime_filters_the_collection_date(client, headers) -> None:
    auth = headers["viewer"]
    findings = rest_all(client, "findings", auth)
    days = sorted({f["found_on"] for f in findings})
    assert len(days) >= 3
    day = days[len(days) // 2]

    def select(value: str) -> set:
        return ids(client.get(items_url("findings"), params={"datetime": value,
                                                             "limit": 1000}, headers=auth))

    def where(test) -> set:
        return {f["id"] for f in findings if test(f["found_on"])}

    assert select(day) == where(lambda d: d == day)
    assert select(f"{day}T12:00:00Z") == where(lambda d: d == day)
    assert select(f"../{day}") == where(lambda d: d <= day)
    assert select(f"{day}/..") == where(lambda d: d >= day)
    assert select(f"{day}/") == where(lambda d: d >= day)
    assert select(f"{days[0]}/{day}") == where(lambda d: days[0] <= d <= day)
    assert select("../..") == where(lambda d: True)
    hazards = client.get(items_url("hazards"), params={"datetime": "2000-01-01T00:00:00Z/..",
                                                       "limit": 1000}, headers=auth)
    assert len(ids(hazards)) == len(rest_all(client, "hazards", auth))
    assert ids(client.get(items_url("hazards"), params={"datetime": "../1999-12-31"},
                          headers=auth)) == set()
    for bad in ("yesterday", "2026-02-01/2025-01-01", "a/b/c", ".."):
        response = client.get(items_url("findings"), params={"datetime": bad}, headers=auth)
        assert response.status_code == 400 and "datetime" in response.json()["detail"], bad


def test_extent_covers_the_data_and_its_dates(client, headers) -> None:
    auth = headers["viewer"]
    findings = rest_all(client, "findings", auth)
    doc = client.get("/ogc/collections/findings", headers=auth).json()
    assert doc["itemType"] == "feature"
    minx, miny, maxx, maxy = doc["extent"]["spatial"]["bbox"][0]
    for f in findings:
        x, y = f["geometry"]["coordinates"]
        assert minx <= x <= maxx and miny <= y <= maxy
    start, end = doc["extent"]["temporal"]["interval"][0]
    days = sorted(f["found_on"] for f in findings)
    assert start.startswith(days[0]) and end.startswith(days[-1])
    listed = client.get("/ogc/collections", headers=auth).json()["collections"]
    assert [c["id"] for c in listed] == list(COLLECTIONS)
    assert next(c for c in listed if c["id"] == "findings") == doc


def test_paging_visits_every_feature_exactly_once(client, headers) -> None:
    auth = headers["viewer"]
    for name in COLLECTIONS:
        expected = [r[KEY[name]] for r in rest_all(client, name, auth)]
        seen: list = []
        url: str | None = items_url(name) + "?limit=7"
        while url:
            body = client.get(url, headers=auth).json()
            assert body["numberReturned"] == len(body["features"]) <= 7
            seen += [f["id"] for f in body["features"]]
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"),
                       None)
        assert seen == expected, name


def test_single_features_by_code_or_number(client, headers) -> None:
    auth = headers["viewer"]
    hazard = rest_all(client, "hazards", auth)[0]
    got = client.get(items_url("hazards") + f"/{hazard['code']}", headers=auth)
    assert got.status_code == 200 and got.headers["content-type"] == "application/geo+json"
    body = got.json()
    assert body["id"] == hazard["code"] and body["properties"]["status"] == hazard["status"]
    assert {link["rel"] for link in body["links"]} >= {"self", "collection"}
    outcome = rest_all(client, "outcomes", auth)[0]
    assert client.get(items_url("outcomes") + f"/{outcome['id']}",
                      headers=auth).json()["id"] == outcome["id"]
    for path in (items_url("hazards") + "/HA-999999", items_url("findings") + "/999999",
                 items_url("findings") + "/not-a-number", "/ogc/collections/reports",
                 "/ogc/collections/reports/items", "/ogc/collections/nothing/items/1"):
        assert client.get(path, headers=auth).status_code == 404, path
