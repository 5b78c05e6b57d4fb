"""Report entries are refused at the door, naming the entry, the field and the problem."""

from __future__ import annotations

import math
from datetime import date

import pytest
from pyproj import Geod
from shapely.geometry import Polygon, box, mapping

from demine.domain.changes import (
    ActivityChange,
    NewAccident,
    NewEvidence,
    NewFinding,
    NewHazard,
    Reversal,
    hazard_codes_touched,
    jsonable,
    parse_change,
)
from demine.domain.errors import ValidationError
from demine.domain.vocab import (
    ActivityStatus,
    ActivityType,
    Blockage,
    EOCategory,
    EvidenceKind,
    HazardClass,
    ReleaseMethod,
)

GEOD = Geod(ellps="WGS84")
LABEL = "report RPT-000042 entry 3"
SQUARE = box(9.000, 45.000, 9.002, 45.001)  # ~157 m x 111 m


def hazard_payload(**over):
    payload = {"code": "HA-000001", "name": "Field north of the dam",
               "classification": "SHA", "geometry": mapping(SQUARE),
               "eo_suspected": ["ap_mine", "at_mine"], "blockages": ["agriculture"],
               "evidence": [{"kind": "indirect", "type": "former_front_line"}]}
    payload.update(over)
    return payload


def activity_payload(**over):
    payload = {"code": "ACT-1", "hazard_code": "HA-000001", "type": "clearance",
               "status": "in_progress", "actual_start": "2026-03-01",
               "clearance_depth_mm": 130,
               "outcomes": [{"method": "cleared", "geometry": mapping(SQUARE)}]}
    payload.update(over)
    return payload


def finding_payload(**over):
    payload = {"activity_code": "ACT-1",
               "geometry": {"type": "Point", "coordinates": [9.001, 45.0005]},
               "eo_category": "ap_mine", "found_on": "2026-03-02", "depth_mm": 80,
               "model": "PMN-2", "condition": "armed", "disposal": "destroyed_in_situ"}
    payload.update(over)
    return payload


def refused(kind, payload, field: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_change(kind, payload, LABEL)
    err = info.value
    assert err.record == LABEL, err
    assert err.field == field, err
    assert LABEL in str(err) and field in str(err)
    return err


# --- well-formed entries ------------------------------------------------------------

def test_new_hazard_parses_to_a_hazard():
    change = parse_change("new_hazard", hazard_payload(), LABEL)
    assert isinstance(change, NewHazard)
    hz = change.hazard
    assert hz.code == "HA-000001"
    assert hz.classification is HazardClass.SHA
    assert hz.eo_suspected == (EOCategory.AP_MINE, EOCategory.AT_MINE)
    assert hz.blockages == (Blockage.AGRICULTURE,)
    assert hz.evidence[0].kind is EvidenceKind.INDIRECT
    assert hz.polygon.equals(SQUARE)
    assert hazard_codes_touched(change) == {"HA-000001"}


def test_activity_sets_only_the_attributes_present():
    change = parse_change("activity", activity_payload(), LABEL)
    assert isinstance(change, ActivityChange)
    assert change.attributes == {"type": ActivityType.CLEARANCE,
                                 "status": ActivityStatus.IN_PROGRESS,
                                 "actual_start": date(2026, 3, 1),
                                 "clearance_depth_mm": 130}
    assert change.outcomes[0].method is ReleaseMethod.CLEARED
    assert hazard_codes_touched(change) == {"HA-000001"}
    progress = parse_change("activity", {"code": "ACT-1", "hazard_code": "HA-000001",
                                         "status": "completed"}, LABEL)
    assert progress.attributes == {"status": ActivityStatus.COMPLETED}


def test_other_entry_kinds_parse():
    assert isinstance(parse_change("finding", finding_payload(), LABEL), NewFinding)
    ev = parse_change("evidence", {"hazard_code": "HA-1", "items": [
        {"kind": "direct", "type": "mine_sign"}]}, LABEL)
    assert isinstance(ev, NewEvidence) and ev.items[0].kind is EvidenceKind.DIRECT
    acc = parse_change("accident", {
        "code": "ACC-1", "accident_date": "2026-03-05", "type": "demining",
        "device_category": "ap_mine", "geometry": "POINT (9.001 45.0005)",
        "victims": [{"outcome": "injured", "role": "deminer", "sex": "male", "age": 31}]}, LABEL)
    assert isinstance(acc, NewAccident) and acc.accident.victims[0].age == 31
    rev = parse_change("reversal", {"report_code": "RPT-000001", "reason": "GPS error"}, LABEL)
    assert rev == Reversal("RPT-000001", "GPS error")


def test_jsonable_round_trips_through_the_parser():
    change = parse_change("activity", activity_payload(), LABEL)
    again = parse_change("activity", jsonable(activity_payload()), LABEL)
    assert again.attributes == change.attributes
    assert again.outcomes[0].polygon.equals(change.outcomes[0].polygon)


# --- refusals -----------------------------------------------------------------------

def test_unknown_kind():
    err = refused("new_hazzard", hazard_payload(), "kind")
    for allowed in ("new_hazard", "evidence", "activity", "finding", "accident", "reversal"):
        assert allowed in err.problem


@pytest.mark.parametrize("kind, payload, field, bad", [
    ("new_hazard", hazard_payload(classification="XHA"), "classification", "XHA"),
    ("new_hazard", hazard_payload(eo_suspected=["ap_mine", "rocket"]), "eo_suspected", "rocket"),
    ("new_hazard", hazard_payload(blockages=["airport"]), "blockages", "airport"),
    ("activity", activity_payload(type="demolition"), "type", "demolition"),
    ("activity", activity_payload(status="finished"), "status", "finished"),
    ("finding", finding_payload(eo_category="landmine"), "eo_category", "landmine"),
    ("finding", finding_payload(disposal="buried"), "disposal", "buried"),
])
def test_unknown_enumeration_values(kind, payload, field, bad):
    err = refused(kind, payload, field)
    assert bad in err.problem
    assert "expected one of" in err.problem


def test_unknown_outcome_method_names_the_outcome():
    payload = activity_payload(outcomes=[{"method": "cleared", "geometry": mapping(SQUARE)},
                                         {"method": "demined", "geometry": mapping(SQUARE)}])
    with pytest.raises(ValidationError) as info:
        parse_change("activity", payload, LABEL)
    assert info.value.record == f"{LABEL} outcomes[1]"
    assert info.value.field == "method"
    assert "demined" in info.value.problem


def test_bow_tie_polygon_is_invalid():
    bow_tie = {"type": "Polygon", "coordinates": [[[9.0, 45.0], [9.002, 45.001], [9.002, 45.0],
                                                   [9.0, 45.001], [9.0, 45.0]]]}
    err = refused("new_hazard", hazard_payload(geometry=bow_tie), "geometry")
    assert "invalid polygon" in err.problem
    assert "self-intersection" in err.problem.lower()


def test_bow_tie_outcome_polygon_names_the_outcome():
    bow_tie = "POLYGON ((9 45, 9.002 45.001, 9.002 45, 9 45.001, 9 45))"
    with pytest.raises(ValidationError) as info:
        parse_change("activity", activity_payload(outcomes=[
            {"method": "cleared", "geometry": bow_tie}]), LABEL)
    assert info.value.record == f"{LABEL} outcomes[0]"
    assert info.value.field == "geometry"


@pytest.mark.parametrize("ring", [
    [[9.0, 45.0], [9.001, 45.001], [9.001, 45.001], [9.0, 45.0]],
    [[9.0, 45.0], [9.0, 45.0], [9.0, 45.0], [9.0, 45.0]],
    [[9.0, 45.0], [9.001, 45.001], [9.0, 45.0]],
])
def test_fewer_than_three_distinct_vertices(ring):
    refused("new_hazard", hazard_payload(geometry={"type": "Polygon", "coordinates": [ring]}),
            "geometry")


def _triangle_with_edge(edge_m: float) -> Polygon:
    lon0, lat0 = 9.0, 45.0
    east_lon, east_lat, _ = GEOD.fwd(lon0, lat0, 90.0, edge_m)
    north_lon, north_lat, _ = GEOD.fwd(lon0, lat0, 0.0, 500.0)
    return Polygon([(lon0, lat0), (east_lon, east_lat), (north_lon, north_lat)])


def test_vertices_more_than_5_km_apart_are_refused():
    far = _triangle_with_edge(6_000.0)
    err = refused("new_hazard", hazard_payload(geometry=mapping(far)), "geometry")
    assert "km apart" in err.problem
    near = _triangle_with_edge(4_900.0)  # every edge under 5 km
    assert parse_change("new_hazard", hazard_payload(geometry=mapping(near)), LABEL)


@pytest.mark.parametrize("code", [" HA-1", "HA-1 ", "HA  1", "HA 1", "\tHA-1"])
def test_codes_with_stray_spaces(code):
    refused("new_hazard", hazard_payload(code=code), "code")


@pytest.mark.parametrize("key", ["code", "hazard_code"])
def test_activity_codes_with_stray_spaces(key):
    refused("activity", activity_payload(**{key: "ACT-1 "}), key)


def test_negative_depths():
    refused("finding", finding_payload(depth_mm=-5), "depth_mm")
    refused("activity", activity_payload(clearance_depth_mm=-130), "clearance_depth_mm")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_depth_is_refused_as_bad_input(value):
    """NaN/inf reach the parser from JSON (Python's json accepts NaN and Infinity)."""
    refused("finding", finding_payload(depth_mm=value), "depth_mm")
    refused("activity", activity_payload(clearance_depth_mm=value), "clearance_depth_mm")


def test_fractional_depth_is_refused():
    refused("finding", finding_payload(depth_mm=12.5), "depth_mm")


def test_suspended_activity_needs_a_reason():
    refused("activity", activity_payload(status="suspended"), "suspension_reason")
    refused("activity", activity_payload(status="suspended", suspension_reason=""),
            "suspension_reason")
    ok = parse_change("activity", activity_payload(
        status="suspended", suspension_reason="flooding"), LABEL)
    assert ok.attributes["suspension_reason"] == "flooding"


def test_suspended_activity_with_a_blank_reason_is_refused():
    refused("activity", activity_payload(status="suspended", suspension_reason="   "),
            "suspension_reason")


@pytest.mark.parametrize("start, end", [("planned_start", "planned_end"),
                                        ("actual_start", "actual_end")])
def test_end_before_start(start, end):
    err = refused("activity", activity_payload(**{start: "2026-03-10", end: "2026-03-09"}), end)
    assert "2026-03-09" in err.problem
    same_day = parse_change("activity", activity_payload(
        **{start: "2026-03-10", end: "2026-03-10"}), LABEL)
    assert same_day.attributes[end] == date(2026, 3, 10)


def test_bad_dates_and_missing_fields():
    refused("activity", activity_payload(actual_start="2026-02-30"), "actual_start")
    refused("finding", finding_payload(found_on=None), "found_on")
    refused("new_hazard", hazard_payload(geometry=None), "geometry")
    refused("evidence", {"hazard_code": "HA-1", "items": []}, "items")
    refused("reversal", {"report_code": "RPT-1"}, "reason")


def test_entry_must_be_an_object():
    refused("activity", ["not", "a", "mapping"], "payload")


def test_points_outside_wgs84_range_are_refused():
    err = refused("finding", finding_payload(geometry={"type": "Point",
                                                       "coordinates": [190.0, 45.0]}), "geometry")
    assert "190" in err.problem
