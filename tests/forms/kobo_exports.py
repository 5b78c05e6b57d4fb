"""KoBoToolbox XLSX exports, written row by row as KoBo lays them out.

An XLSX is binary, so these fixtures are the rows themselves, typed out here, and
openpyxl writes them: the main sheet (named after the form, its columns the XML names
with group paths, the geopoint split into ``_name_latitude``..., KoBo's ``_id``,
``_uuid``, ``_submission_time``... and ``_index``), then one sheet per repeat whose rows
point at their submission by ``_parent_index`` and carry copies of the submission's
metadata (``_submission__uuid``...). The main sheet holds each repeat's hidden count
(``finds_count``) where the form has it, after the repeat.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

KOBO_TAIL = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
             "_submitted_by", "__version__", "_tags", "_index"]
REPEAT_TAIL = ["_parent_table_name", "_parent_index", "_submission__id", "_submission__uuid",
               "_submission__submission_time", "_submission__validation_status",
               "_submission__notes", "_submission__status", "_submission__submitted_by",
               "_submission___version__", "_submission__tags"]
HEADER = ["start", "end", "today", "deviceid", "username", "demine_form",
          "demine_form_version", "instance_uuid"]


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    """Write ``sheets`` (name -> header row + data rows) in order; the first is main."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def progress_sheets() -> dict[str, list[list]]:
    """Two days of clearance on ACT-1 (HA-1): the first with two finds, the second
    suspended for rain with nothing worked."""
    main = [
        [*HEADER, "task/activity_code", "task/hazard_code", "task/organisation_code",
         "task/team_code", "task/activity_type", "task/work_date", "task/status",
         "task/suspension_reason", "worked/release_method", "worked/worked_area",
         "worked/area_m2", "worked/clearance_depth_mm", "finds_count", "remarks",
         "meta/instanceID",
         *KOBO_TAIL],
        ["2026-11-20T07:01:02.000+02:00", "2026-11-20T16:40:11.000+02:00", "2026-11-20",
         "collect:Lm4rT8sQw2bN6yHe", "team.alpha2", "demine_progress", "2026112301",
         "uuid:3c2b1a09-8f7e-4d6c-a5b4-c3d2e1f0a9b8", "ACT-1", "HA-1", "OP-ALPHA", None,
         "clearance", "2026-11-20", "in_progress", None, "cleared",
         "45.0004 9.001 214.0 3.0;45.0004 9.003 214.2 3.0;45.0012 9.003 215.1 3.0;"
         "45.0012 9.001 214.8 3.0;45.0004 9.001 214.0 3.0", "14163.2", 200, "2",
         "Lanes 1-6 done", "uuid:3c2b1a09-8f7e-4d6c-a5b4-c3d2e1f0a9b8",
         51001, "3c2b1a09-8f7e-4d6c-a5b4-c3d2e1f0a9b8", "2026-11-20T15:02:10", None, None,
         "submitted_via_web", "team.alpha2", "vR7n2QpLx9mKe4tWbZ3cYs", None, 1],
        ["2026-11-21T07:00:40.000+02:00", "2026-11-21T08:10:00.000+02:00", "2026-11-21",
         "collect:Lm4rT8sQw2bN6yHe", "team.alpha2", "demine_progress", "2026112301",
         "uuid:6e5d4c3b-2a19-4f08-b7e6-d5c4b3a29180", "ACT-1", "HA-1", None, None,
         "clearance", "2026-11-21", "suspended", "Heavy rain, site flooded", None, None,
         "0", None, "0", None, "uuid:6e5d4c3b-2a19-4f08-b7e6-d5c4b3a29180",
         51002, "6e5d4c3b-2a19-4f08-b7e6-d5c4b3a29180", "2026-11-21T06:20:00", None, None,
         "submitted_via_web", "team.alpha2", "vR7n2QpLx9mKe4tWbZ3cYs", None, 2],
    ]
    finds = [
        ["finds/find_point", "finds/_find_point_latitude", "finds/_find_point_longitude",
         "finds/_find_point_altitude", "finds/_find_point_precision", "finds/find_category",
         "finds/find_model", "finds/find_condition", "finds/find_depth_mm",
         "finds/find_disposal", *REPEAT_TAIL],
        ["45.0006 9.0015 214.5 2.5", 45.0006, 9.0015, 214.5, 2.5, "ap_mine", "PMN-2", "armed",
         60, "destroyed_in_situ", "Technical survey / clearance d", 1, 51001,
         "3c2b1a09-8f7e-4d6c-a5b4-c3d2e1f0a9b8", "2026-11-20T15:02:10", None, None,
         "submitted_via_web", "team.alpha2", "vR7n2QpLx9mKe4tWbZ3cYs", None],
        ["45.0009 9.0022 214.9 2.5", 45.0009, 9.0022, 214.9, 2.5, "ap_mine", "PMN-2",
         "damaged", 90, "destroyed_in_situ", "Technical survey / clearance d", 1, 51001,
         "3c2b1a09-8f7e-4d6c-a5b4-c3d2e1f0a9b8", "2026-11-20T15:02:10", None, None,
         "submitted_via_web", "team.alpha2", "vR7n2QpLx9mKe4tWbZ3cYs", None],
    ]
    return {"Technical survey  clearance d": main, "finds": finds}


def accident_sheets() -> dict[str, list[list]]:
    """A demining accident at ACT-1 with one injured deminer."""
    main = [
        [*HEADER, "accident/accident_code", "accident/organisation_code",
         "accident/accident_date", "accident/location", "accident/_location_latitude",
         "accident/_location_longitude", "accident/_location_altitude",
         "accident/_location_precision", "accident/accident_type",
         "accident/device_category", "accident/activity_code", "accident/narrative",
         "victims_count", "remarks", "meta/instanceID", *KOBO_TAIL],
        ["2026-11-22T11:00:00.000+02:00", "2026-11-22T11:30:00.000+02:00", "2026-11-22",
         "collect:Lm4rT8sQw2bN6yHe", "team.alpha2", "demine_accident", "2026112301",
         "uuid:aa11bb22-cc33-4d44-8e55-ff6677889900", "ACC-7", "OP-ALPHA", "2026-11-22",
         "45.001 9.0025 214.0 3.0", 45.001, 9.0025, 214.0, 3.0, "demining", "ap_mine",
         "ACT-1", "Deminer stepped outside the marked lane", "1", None,
         "uuid:aa11bb22-cc33-4d44-8e55-ff6677889900", 51010,
         "aa11bb22-cc33-4d44-8e55-ff6677889900", "2026-11-22T09:45:00", None, None,
         "submitted_via_web", "team.alpha2", "vR7n2QpLx9mKe4tWbZ3cYs", None, 1],
    ]
    victims = [
        ["victims/victim_outcome", "victims/victim_role", "victims/victim_sex",
         "victims/victim_age", "victims/victim_activity", *REPEAT_TAIL],
        ["injured", "deminer", "male", 34, "excavating a signal", "Accident report", 1,
         51010, "aa11bb22-cc33-4d44-8e55-ff6677889900", "2026-11-22T09:45:00", None, None,
         "submitted_via_web", "team.alpha2", "vR7n2QpLx9mKe4tWbZ3cYs", None],
    ]
    return {"Accident report": main, "victims": victims}
