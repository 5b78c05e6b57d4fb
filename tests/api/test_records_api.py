"""The REST API's read side: lists with filters, bbox, dates, sorting and pages; one
record with its version; its history; the district indicators."""

from __future__ import annotations

import shapely
from shapely.geometry import shape


def _all(client, path: str, headers: dict, **params) -> list[dict]:
    items, offset = [], 0
    while True:
        page = client.get(path, headers=headers, params={**params, "offset": offset}).json()
        items += page["items"]
        if page["next"] is None:
            return items
        offset += page["limit"]


def test_lists_filter_by_status_and_sort(client, headers) -> None:
    h = headers["viewer"]
    page = client.get("/api/v1/hazards", headers=h,
                      params={"status": "open", "sort": "-remaining_m2", "limit": 20}).json()
    assert page["total"] > 20 and page["next"] is not None
    areas = [r["remaining_m2"] for r in page["items"]]
    assert all(r["status"] == "open" for r in page["items"])
    assert areas == sorted(areas, reverse=True)
    closed = client.get("/api/v1/settlements", headers=h,
                        params={"status": "closed", "limit": 1000}).json()
    assert closed["total"] == len(closed["items"]) > 0
    assert all(s["blocking_hazards"] for s in closed["items"])


def test_pages_visit_every_record_once(client, headers) -> None:
    h = headers["viewer"]
    total = client.get("/api/v1/hazards", headers=h, params={"limit": 1}).json()["total"]
    codes = [r["code"] for r in _all(client, "/api/v1/hazards", h, limit=7)]
    assert len(codes) == len(set(codes)) == total


def test_bbox_returns_exactly_the_records_that_meet_it(client, headers) -> None:
    h = headers["viewer"]
    everything = _all(client, "/api/v1/hazards", h, limit=1000)
    shapes = {r["code"]: shape(r["geometry"]) for r in everything}
    minx, miny, maxx, maxy = shapely.union_all(list(shapes.values())).bounds
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    inside = _all(client, "/api/v1/hazards", h, limit=1000,
                  bbox=",".join(f"{v:.7f}" for v in box))
    expected = {c for c, g in shapes.items() if g.intersects(shapely.box(*box))}
    assert {r["code"] for r in inside} == expected
    assert 0 < len(expected) < len(shapes)


def test_date_range_applies_to_the_record_date(client, headers) -> None:
    h = headers["viewer"]
    findings = _all(client, "/api/v1/findings", h, limit=1000)
    days = sorted({f["found_on"] for f in findings})
    assert len(days) > 2
    middle = days[len(days) // 2]
    later = _all(client, "/api/v1/findings", h, limit=1000, **{"from": middle})
    assert later and all(f["found_on"] >= middle for f in later)
    assert len(later) == sum(f["found_on"] >= middle for f in findings)


def test_a_filter_a_resource_does_not_have_is_refused_by_name(client, headers) -> None:
    response = client.get("/api/v1/organisations", headers=headers["viewer"],
                          params={"sort": "nonsense"})
    assert response.status_code == 422
    assert response.json()["field"] == "sort"


def test_one_record_carries_its_version_as_etag_and_its_history(client, headers) -> None:
    h = headers["viewer"]
    record = client.get("/api/v1/settlements/STL-001", headers=h)
    assert record.status_code == 200
    assert record.headers["etag"] == f'"{record.json()["version"]}"'
    history = client.get("/api/v1/settlements/STL-001/history", headers=h).json()["items"]
    assert history[0]["action"] == "create"
    assert len(history) == record.json()["version"]
    assert client.get("/api/v1/settlements/NOPE/history", headers=h).status_code == 404
    assert client.get("/api/v1/findings/abc", headers=h).status_code == 404


def test_indicators_match_the_lists(client, headers) -> None:
    h = headers["viewer"]
    ind = client.get("/api/v1/indicators", headers=h).json()
    closed = client.get("/api/v1/settlements", headers=h, params={"status": "closed"}).json()
    assert ind["settlements"]["closed"] == closed["total"]
    assert ind["settlements"]["headline"].startswith(f"{closed['total']} of ")
    findings = client.get("/api/v1/findings", headers=h, params={"limit": 1}).json()["total"]
    assert sum(ind["findings_by_category"].values()) == findings
    assert set(ind["land_released_m2"]["by_method"]) == {"cancelled", "reduced", "cleared"}
