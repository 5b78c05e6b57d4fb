"""Bad input is refused in words: never a 5xx, and the answer names the field.

Every case sends one wrong thing in an otherwise good request (a malformed body, an
unknown field, a geometry that is not GeoJSON or does not hold together, a value out of
range, a body too large, a bad bbox) and checks the status, and that the JSON ``detail``
(and ``field``, for a 422) name what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from demine.api.config import ServerConfig

HAZARD = "HA-000002"
#: a bow-tie: its two halves meet in one point, so it is no polygon at all
BOW_TIE = {"type": "Polygon", "coordinates": [[
    [171.500, -43.500], [171.501, -43.501], [171.501, -43.500], [171.500, -43.501],
    [171.500, -43.500]]]}
SQUARE = {"type": "Polygon", "coordinates": [[
    [171.500, -43.500], [171.501, -43.500], [171.501, -43.501], [171.500, -43.501],
    [171.500, -43.500]]]}


def report(*entries: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"organisation": "FDU", "info_date": "2026-11-20", "summary": "input checks",
            "entries": list(entries) or [evidence()]}
    body.update(fields)
    return body


def evidence(**payload: Any) -> dict[str, Any]:
    return {"kind": "evidence", "payload": {
        "hazard_code": HAZARD,
        "items": [{"kind": "indirect", "type": "hearsay", "description": "x"}], **payload}}


def new_hazard(geometry: Any) -> dict[str, Any]:
    return {"kind": "new_hazard", "payload": {"code": "HA-INPUT-1", "geometry": geometry}}


def finding(**payload: Any) -> dict[str, Any]:
    base = {"activity_code": "ACT-000001", "eo_category": "ap_mine", "found_on": "2026-11-19",
            "geometry": {"type": "Point", "coordinates": [171.47, -43.555]}}
    return {"kind": "finding", "payload": {**base, **payload}}


def accident(victim: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "accident", "payload": {
        "code": "ACC-INPUT-1", "accident_date": "2026-11-19", "type": "mine_erw",
        "device_category": "ap_mine",
        "geometry": {"type": "Point", "coordinates": [171.47, -43.555]},
        "victims": [{"outcome": "injured", "role": "civilian", **victim}]}}


@pytest.fixture(scope="module")
def admin(headers) -> dict[str, str]:
    return headers["admin"]


def refused(response, status: int, field: str) -> dict[str, Any]:
    """The refusal's body, after checking it is ``status`` and names ``field``."""
    assert response.status_code < 500, response.text
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str)
    assert field in body["detail"], (field, body)
    if status == 422:
        assert field in body["field"], (field, body)
        assert body["problem"], body
    return body


# -- request bodies -----------------------------------------------------------------------

def test_malformed_json_names_the_body(client: TestClient, admin) -> None:
    for text in (b'{"organisation": "FDU",', b"{'organisation': 'FDU'}", b"nul", b"\xff\xfe"):
        response = client.post("/api/v1/reports", content=text,
                               headers={**admin, "Content-Type": "application/json"})
        body = refused(response, 422, "body")
        assert body["field"] == "body"
        assert "JSON" in body["detail"] or "json" in body["detail"], body


@pytest.mark.parametrize(("body", "field"), [
    ([], "body"),
    ("a report", "body"),
    ({"organisation": "FDU"}, "info_date"),
    (report(colour="red"), "colour"),
    (report(evidence() | {"note": "hi"}), "entries.0.note"),
    (report(info_date="2026-02-30"), "info_date"),
    (report(info_date=20261120), "info_date"),
    (report({"kind": "rumour", "payload": {}}), "entries.0.kind"),
    (report({"kind": "evidence", "payload": [1, 2]}), "entries.0.payload"),
    (report({"kind": "evidence"}), "entries.0.payload"),
    (report(summary="x" * 4001), "summary"),
    (report(organisation=""), "organisation"),
    (report(organisation=7), "organisation"),
    ({**report(), "entries": []}, "entries"),
    ({**report(), "entries": [evidence()] * 501}, "entries"),
], ids=["list", "string", "missing", "unknown", "unknown-in-entry", "no-such-day",
        "date-as-number", "unknown-kind", "payload-list", "payload-missing", "long-summary",
        "empty-organisation", "organisation-number", "no-entries", "too-many-entries"])
def test_report_shape_errors_name_the_field(client: TestClient, admin, body, field) -> None:
    refused(client.post("/api/v1/reports", json=body, headers=admin), 422, field)


@pytest.mark.parametrize(("entry", "field", "words"), [
    (new_hazard("not a geometry"), "geometry", "geometry"),
    (new_hazard({"type": "Polygon"}), "geometry", "geometry"),
    (new_hazard({"type": "Polygon", "coordinates": "here"}), "geometry", "geometry"),
    (new_hazard({"type": "Polygon", "coordinates": [[[171.5, -43.5], [171.6]]]}),
     "geometry", "geometry"),
    (new_hazard({"type": "Circle", "coordinates": [171.5, -43.5], "radius": 5}),
     "geometry", "geometry"),
    (new_hazard({"type": "Point", "coordinates": [171.5, -43.5]}), "geometry", "polygon"),
    (new_hazard(BOW_TIE), "geometry", "self-intersection"),
    (new_hazard({"type": "Polygon", "coordinates": [[[171.5, -43.5], [191.5, -43.5],
                                                      [171.5, -43.6], [171.5, -43.5]]]}),
     "geometry", "outside"),
    (new_hazard(None), "geometry", "required"),
    (finding(geometry={"type": "Point", "coordinates": [171.47, -95.0]}), "geometry",
     "outside"),
    (finding(geometry=SQUARE), "geometry", "point"),
    ({"kind": "activity", "payload": {
        "code": "ACT-INPUT-1", "hazard_code": HAZARD, "type": "clearance",
        "outcomes": [{"method": "cleared", "geometry": BOW_TIE}]}}, "geometry",
     "self-intersection"),
], ids=["text", "no-coordinates", "coordinates-text", "short-position", "circle", "point",
        "bow-tie", "longitude-191", "null", "latitude-95", "finding-polygon",
        "bow-tie-outcome"])
def test_bad_geometry_in_a_report_entry_names_the_field(client: TestClient, admin, entry,
                                                        field, words) -> None:
    body = refused(client.post("/api/v1/reports", json=report(entry), headers=admin), 422,
                   field)
    assert "entry 1" in body["record"], body
    assert words in body["detail"].lower(), body


@pytest.mark.parametrize(("entry", "field"), [
    (finding(depth_mm=-5), "depth_mm"),
    (finding(depth_mm=100_000), "depth_mm"),
    (finding(depth_mm="deep"), "depth_mm"),
    (finding(depth_mm=1.5), "depth_mm"),
    (finding(found_on="yesterday"), "found_on"),
    (finding(eo_category="teapot"), "eo_category"),
    (accident({"age": 200}), "age"),
    (accident({"age": -1}), "age"),
    (accident({"sex": "x"}), "sex"),
    (evidence(items=[]), "items"),
    (evidence(hazard_code="HA 2"), "hazard_code"),
    ({"kind": "activity", "payload": {"code": "ACT-INPUT-2", "hazard_code": HAZARD,
                                      "type": "clearance", "clearance_depth_mm": 99_999}},
     "clearance_depth_mm"),
    ({"kind": "activity", "payload": {"code": "ACT-INPUT-3", "hazard_code": HAZARD,
                                      "type": "clearance", "actual_start": "2026-11-10",
                                      "actual_end": "2026-11-01"}}, "actual_end"),
], ids=["depth-negative", "depth-huge", "depth-text", "depth-fraction", "date-word",
        "unknown-eo", "age-200", "age-negative", "sex", "no-items", "code-space",
        "clearance-depth", "end-before-start"])
def test_out_of_range_entry_values_name_the_field(client: TestClient, admin, entry,
                                                  field) -> None:
    refused(client.post("/api/v1/reports", json=report(entry), headers=admin), 422, field)


def test_non_finite_numbers_are_refused(client: TestClient, admin) -> None:
    text = json.dumps(report(finding(depth_mm=0))).replace('"depth_mm": 0', '"depth_mm": NaN')
    response = client.post("/api/v1/reports", content=text.encode(),
                           headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["field"] in ("body", "depth_mm"), response.text
    team = client.get("/api/v1/teams", params={"limit": 1}, headers=admin).json()["items"][0]
    response = client.patch(
        f"/api/v1/teams/{team['code']}", headers=admin,
        content=b'{"version": %d, "productivity_m2_day": Infinity}' % team["version"])
    assert response.status_code == 422, response.text


# -- reference edits ----------------------------------------------------------------------

def _current(client: TestClient, admin, resource: str) -> dict[str, Any]:
    return client.get(f"/api/v1/{resource}", params={"limit": 1},
                      headers=admin).json()["items"][0]


@pytest.mark.parametrize(("resource", "change", "field"), [
    ("settlements", {"population": -1}, "population"),
    ("settlements", {"population": 1.5}, "population"),
    ("settlements", {"population": "many"}, "population"),
    ("settlements", {"population": 10**12}, "population"),
    ("settlements", {"population": None}, "population"),
    ("settlements", {"name": ""}, "name"),
    ("settlements", {"name": None}, "name"),
    ("settlements", {"admin_area": None}, "admin_area"),
    ("settlements", {"status": "closed"}, "status"),
    ("settlements", {"point": {"type": "Point", "coordinates": [200, 0]}}, "point"),
    ("settlements", {"point": {"type": "Point"}}, "point"),
    ("settlements", {"point": None}, "point"),
    ("settlements", {"point": SQUARE}, "point"),
    ("settlements", {"footprint": BOW_TIE}, "footprint"),
    ("settlements", {"footprint": "POLYGON((0 0"}, "footprint"),
    ("teams", {"headcount": -1}, "headcount"),
    ("teams", {"headcount": 10_001}, "headcount"),
    ("teams", {"headcount": None}, "headcount"),
    ("teams", {"productivity_m2_day": 0}, "productivity_m2_day"),
    ("teams", {"productivity_m2_day": None}, "productivity_m2_day"),
    ("teams", {"working_width_m": 101}, "working_width_m"),
    ("teams", {"available": "perhaps"}, "available"),
    ("teams", {"available": None}, "available"),
    ("teams", {"code": "T-2"}, "code"),
    ("organisations", {"name": "   "}, "name"),
    ("organisations", {"name": None}, "name"),
    ("organisations", {"kind": "operator"}, "kind"),
])
def test_reference_edit_errors_name_the_field(client: TestClient, admin, resource, change,
                                              field) -> None:
    record = _current(client, admin, resource)
    response = client.patch(f"/api/v1/{resource}/{record['code']}", headers=admin,
                            json={"version": record["version"], **change})
    refused(response, 422, field)
    assert _current(client, admin, resource)["version"] == record["version"]


def test_version_errors_name_the_version(client: TestClient, admin) -> None:
    record = _current(client, admin, "settlements")
    url = f"/api/v1/settlements/{record['code']}"
    refused(client.patch(url, json={"population": 1}, headers=admin), 428, "If-Match")
    refused(client.patch(url, json={"population": 1},
                         headers={**admin, "If-Match": '"three"'}), 400, "If-Match")
    refused(client.patch(url, json={"population": 1, "version": record["version"] + 1},
                         headers={**admin, "If-Match": f'"{record["version"]}"'}), 400,
            "If-Match")
    refused(client.patch(url, json={"population": 1, "version": 0}, headers=admin), 422,
            "version")
    refused(client.patch(url, json={"population": 1},
                         headers={**admin, "If-Match": '"' + "9" * 40 + '"'}), 422,
            "if-match")
    stale = client.patch(url, json={"population": 1, "version": record["version"] + 7},
                         headers=admin)
    assert stale.status_code == 409 and "version" in stale.json()["detail"], stale.text


# -- bodies too large ---------------------------------------------------------------------

def test_an_oversized_body_is_413(client: TestClient, admin) -> None:
    limit = ServerConfig(db=None, secret="").max_body_bytes
    big = json.dumps(report(summary="x" * (limit + 10))).encode()
    body = refused(client.post("/api/v1/reports", content=big,
                               headers={**admin, "Content-Type": "application/json"}),
                   413, "body")
    assert body["field"] == "body"

    def chunks():  # no Content-Length: the limit holds for a streamed body too
        yield b'{"organisation": "FDU", "info_date": "2026-11-20", "summary": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'", "entries": []}'

    refused(client.post("/api/v1/reports", content=chunks(),
                        headers={**admin, "Content-Type": "application/json"}), 413, "body")
    # a lying Content-Length is refused before the body is read
    response = client.post("/api/v1/reports", content=b"{}",
                           headers={**admin, "Content-Type": "application/json",
                                    "Content-Length": str(limit + 1)})
    assert response.status_code == 413, response.text


# -- query strings ------------------------------------------------------------------------

@pytest.mark.parametrize("bbox", [
    "1,2,3", "1,2,3,4,5", "a,b,c,d", "", ",,,", "10,0,5,1", "0,10,1,5", "0,0,200,1",
    "-181,0,0,1", "0,-91,1,0", "nan,0,1,1", "0,0,inf,1", "1;2;3;4", "0,0,1," + "1" * 300])
def test_a_bad_bbox_names_bbox(client: TestClient, admin, bbox: str) -> None:
    for resource in ("hazards", "settlements", "findings"):
        refused(client.get(f"/api/v1/{resource}", params={"bbox": bbox}, headers=admin), 422,
                "bbox")


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 100_000}, "limit"), ({"limit": "ten"}, "limit"),
    ({"offset": -1}, "offset"), ({"offset": 10**10}, "offset"),
    ({"sort": "colour"}, "sort"), ({"sort": "geometry"}, "sort"),
    ({"sort": "name; drop table hazard_areas"}, "sort"),
    ({"from": "yesterday"}, "from"), ({"to": "2026-13-01"}, "to"),
    ({"status": "x" * 65}, "status"),
])
def test_bad_list_parameters_name_the_parameter(client: TestClient, admin, params,
                                                field) -> None:
    refused(client.get("/api/v1/hazards", params=params, headers=admin), 422, field)


@pytest.mark.parametrize("key", ["no-such-record", "0", "-1", "99999999999999999999",
                                 "9223372036854775808", "1e5", "x" * 300])
@pytest.mark.parametrize("resource", ["hazards", "findings", "outcomes", "reports"])
def test_unknown_keys_are_404_never_5xx(client: TestClient, admin, resource, key) -> None:
    for suffix in ("", "/history"):
        response = client.get(f"/api/v1/{resource}/{key}{suffix}", headers=admin)
        assert response.status_code == 404, response.text
        assert key[:20] in response.json()["detail"], response.text


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/hazards/HA%00"), ("GET", "/api/v1/findings/1%00/history"),
    ("POST", "/api/v1/reports/RPT%00/submit"), ("POST", "/api/v1/reports/RPT%00/approve"),
    ("PATCH", "/api/v1/organisations/F%00"), ("PATCH", "/api/v1/settlements/S%00")])
def test_a_nul_in_a_key_names_the_key(client: TestClient, admin, method, path) -> None:
    response = client.request(method, path, json={"version": 1, "name": "x"}, headers=admin)
    body = refused(response, 422, "key" if method == "GET" else "code")
    assert "NUL" in body["detail"], body


@pytest.mark.parametrize(("body", "field"), [
    (report(summary="a\x00b"), "summary"),
    (report(organisation="FD\x00"), "organisation"),
    (report(summary="lone \ud800 surrogate"), "summary"),
    (report(evidence(items=[{"kind": "indirect", "type": "hearsay",
                             "description": "x\x00"}])), "entries.0.payload"),
    (report({"kind": "evidence", "payload": {"hazard\x00code": "HA-000002"}}),
     "entries.0.payload"),
])
def test_text_a_store_cannot_keep_is_refused(client: TestClient, admin, body, field) -> None:
    """PostgreSQL text holds no NUL, and neither store takes an unpaired surrogate."""
    response = client.post("/api/v1/reports", json=body, headers=admin)
    refused(response, 422, field)


def test_nul_in_other_text_is_refused(client: TestClient, admin) -> None:
    org = _current(client, admin, "organisations")
    refused(client.patch(f"/api/v1/organisations/{org['code']}", headers=admin,
                         json={"version": org["version"], "name": "a\x00"}), 422, "name")
    refused(client.get("/api/v1/hazards", params={"status": "\x00"}, headers=admin), 422,
            "status")
    refused(client.post("/api/v1/auth/login", json={"username": "a\x00", "password": "x"}),
            422, "username")
    refused(client.post("/api/v1/auth/login", json={"username": "admin", "password": "\ud800"}),
            422, "password")


def test_codes_longer_than_the_store_holds_are_refused(client: TestClient, admin) -> None:
    long_code = "HA-" + "9" * 70
    body = refused(client.post("/api/v1/reports", json=report(evidence(hazard_code=long_code)),
                               headers=admin), 422, "hazard_code")
    assert "at most 64" in body["detail"]
    refused(client.post("/api/v1/reports", json=report(new_hazard(SQUARE) | {
        "payload": {"code": long_code, "geometry": SQUARE}}), headers=admin), 422, "code")


def test_counts_larger_than_the_store_holds_are_refused(client: TestClient, admin) -> None:
    qc = {"kind": "activity", "payload": {
        "code": "ACT-INPUT-QC", "hazard_code": "HA-000001", "type": "qc_inspection",
        "qc": {"inspects": "ACT-000001", "lot_units": 10**30, "sample_units": 10,
               "defects": 0, "unit_m2": 1.0}}}
    refused(client.post("/api/v1/reports", json=report(qc), headers=admin), 422, "lot_units")


@pytest.mark.parametrize("resource", ["organisations", "teams", "settlements", "hazards",
                                      "activities", "outcomes", "findings", "accidents",
                                      "reports"])
def test_every_field_sorts_or_is_refused(client: TestClient, admin, resource: str) -> None:
    first = client.get(f"/api/v1/{resource}", params={"limit": 1}, headers=admin).json()
    assert first["items"], resource
    for name in first["items"][0]:
        for sort in (name, f"-{name}"):
            response = client.get(f"/api/v1/{resource}", params={"sort": sort, "limit": 5},
                                  headers=admin)
            assert response.status_code in (200, 422), (sort, response.text)
            if response.status_code == 422:
                assert response.json()["field"] == "sort", response.text


@pytest.mark.parametrize(("action", "body"), [("submit", None), ("approve", None),
                                              ("reject", {"reason": "x"})])
def test_unknown_reports_are_404_never_5xx(client: TestClient, admin, action, body) -> None:
    for code in ("RPT-999999", "99999999999999999999", "x" * 300):
        response = client.post(f"/api/v1/reports/{code}/{action}", json=body, headers=admin)
        assert response.status_code == 404, response.text


def test_login_input_errors_name_the_field(client: TestClient) -> None:
    refused(client.post("/api/v1/auth/login", json={"username": "x" * 65, "password": "y"}),
            422, "username")
    refused(client.post("/api/v1/auth/login", json={"username": "viewer"}), 422, "password")
    refused(client.post("/api/v1/auth/login",
                        json={"username": "viewer", "password": "y", "remember": True}),
            422, "remember")
