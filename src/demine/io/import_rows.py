"""Turn the cells of one imported row into checked demine values, naming every problem.

Every field of a row is checked on its own, so an information manager fixing a file
sees all that is wrong with row 17 at once instead of one problem per attempt.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError
from demine.domain.vocab import (
    AccidentType,
    ActivityStatus,
    ActivityType,
    AssetType,
    Blockage,
    Disposal,
    EOCategory,
    HazardClass,
    ItemCondition,
    Sex,
    VictimOutcome,
    VictimRole,
    parse_enum,
)
from demine.geo.checks import check_code, check_point, check_polygon

#: Tolerance (degrees) under which an imported geometry equals the stored one.
SAME_SHAPE_TOLERANCE_DEG = 1e-9
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


@dataclass
class Candidate:
    """One row that passed its checks: its code and the demine values it carries."""

    row: int
    code: str
    values: dict[str, Any] = field(default_factory=dict)
    geometry: BaseGeometry | None = None


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (isinstance(value, str) and not value.strip()) or type(value).__name__ == "NaTType"


def text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def code_of(value: Any, record: str, field_name: str = "code") -> str:
    """A code as text: a spreadsheet may hand ``12`` or ``12.0`` for the code "12"."""
    if blank(value):
        raise ValidationError(record, field_name, "a code is required")
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        value = text(value)
    return check_code(str(value), record=record, field=field_name)


def whole(value: Any, record: str, field_name: str) -> int:
    try:
        number = float(str(value).strip().replace(",", "")) if isinstance(value, str) \
            else float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not number.is_integer() or number < 0:
        raise ValidationError(record, field_name, f"{value!r} is not a whole number >= 0")
    return int(number)


def positive(value: Any, record: str, field_name: str, unit: str) -> float:
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        raise ValidationError(record, field_name, f"{value!r} is not a number above 0 {unit}")
    return number


def flag(value: Any, record: str, field_name: str) -> bool:
    if isinstance(value, bool | numbers.Integral):
        return bool(value)
    word = text(value).lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValidationError(record, field_name, f"{value!r} is not yes/no")


def words(value: Any) -> list[str]:
    """A list cell: "ap_mine; uxo", "ap_mine,uxo" or "ap_mine|uxo"."""
    if blank(value):
        return []
    for sep in (";", "|"):
        value = str(value).replace(sep, ",")
    return [w.strip() for w in str(value).split(",") if w.strip()]


def same_shape(a: BaseGeometry | None, b: BaseGeometry | None) -> bool:
    """Equal within :data:`SAME_SHAPE_TOLERANCE_DEG`, whatever the vertex order or start."""
    if a is None or b is None:
        return a is b
    a, b = (g.geoms[0] if isinstance(g, MultiPolygon) and len(g.geoms) == 1 else g
            for g in (a, b))
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b),
                                     tolerance=SAME_SHAPE_TOLERANCE_DEG))


def shape_key(geom: BaseGeometry) -> bytes:
    """A key equal for geometries that are the same shape to 1e-9°: finds duplicates."""
    return shape_keys([geom])[0]


def shape_keys(geoms: Any) -> list[bytes]:
    """:func:`shape_key` of many geometries: their shape snapped to the 1e-9° grid.

    The key is the normalised WKB of ``shapely.set_precision(geom, 1e-9)``, whose snap
    rounding (an overlay of the geometry with itself) costs ~35 µs a polygon. Most
    geometries need none of it: when rounding each vertex on its own leaves a valid,
    non-empty geometry whose vertices all stay more than two grid cells from any other
    edge (its minimum clearance), snap rounding has nothing to collapse, node or merge,
    and gives those very rounded vertices, repeated ones dropped. Only the others (a
    sliver or spike that collapses, parts or rings a grid cell apart) are snapped in
    full, so every geometry gets the key the full snap rounding gives it.
    """
    geoms = np.asarray(geoms, dtype=object)
    snapped = shapely.set_precision(geoms, SAME_SHAPE_TOLERANCE_DEG, mode="pointwise")
    # rounding may collapse a ring to fewer than 4 points, which is not valid
    full = ~shapely.is_valid(snapped) | shapely.is_empty(snapped)
    fast = np.flatnonzero(~full)
    snapped[fast] = shapely.remove_repeated_points(snapped[fast], 0.0)
    full[fast] = ~(shapely.minimum_clearance(snapped[fast]) >= _CLEAR_OF_SNAPPING_DEG)
    if full.any():
        snapped[full] = shapely.set_precision(geoms[full], SAME_SHAPE_TOLERANCE_DEG)
    return shapely.to_wkb(shapely.normalize(snapped)).tolist()


#: A vertex of a geometry rounded to the grid farther than this from every edge it is
#: not on is farther than a snap-rounding "hot pixel" (a grid cell around a vertex, or
#: around a point within 1/100 cell of an edge) from every edge before rounding: snap
#: rounding adds no node there. Two cells, with room to spare (√2 cells would do).
_CLEAR_OF_SNAPPING_DEG = 2 * SAME_SHAPE_TOLERANCE_DEG


#: A geometry already put through its check: (checked geometry, or the refusal).
Checked = tuple[BaseGeometry | None, ValidationError | None]


def _checked_polygon(problems: list[Problem], geometry: Any, record: str,
                     checked: Checked | None) -> Any:
    if checked is None:
        return _field(problems, lambda: check_polygon(geometry, record=record,
                                                      field="geometry"))
    return _take_checked(problems, checked)


def _take_checked(problems: list[Problem], checked: Checked) -> Any:
    """The geometry a batch check already decided on, its refusal added to ``problems``."""
    geom, refusal = checked
    if refusal is not None:
        problems.append((refusal.field, refusal.problem))
    return geom


@dataclass(frozen=True)
class Rejection:
    """One refused row: which file, which row or feature (1-based), which field, why."""

    file: str
    row: int
    field: str
    problem: str


@dataclass
class Plan:
    """Pass 2's result: what to create and update, and what was refused."""

    new: list[Candidate] = field(default_factory=list)
    changed: list[tuple[Candidate, dict[str, Any], dict[str, Any]]] = field(
        default_factory=list)  # (candidate, stored row, changed values)
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)


Cells = Mapping[str, Any]
Problem = tuple[str, str]  # (field, problem)


def _synthetic(cells: Cells, values: dict[str, Any], problems: list[Problem],
               record: str) -> None:
    """The row's synthetic label, when the file has the column (demine's export writes
    it on every row): synthetic exercise data must stay labelled once it is back in."""
    if "synthetic" in cells and not blank(cells["synthetic"]):
        values["synthetic"] = _field(problems, lambda: flag(cells["synthetic"], record,
                                                            "synthetic"))


def _field(problems: list[Problem], parse: Callable[[], Any]) -> Any:
    try:
        return parse()
    except ValidationError as exc:
        problems.append((exc.field, exc.problem))
        return None


def settlement(cells: Cells, geometry: Any, record: str, checked: Checked | None = None
               ) -> tuple[Candidate | None, list[Problem]]:
    """A settlement: a point, or a footprint polygon whose point is a point inside it.

    A point row leaves the footprint out of its values, so that re-importing the points
    of settlements that have footprints changes nothing (see ``imports`` for the
    footprint layer read beside the points).
    """
    problems: list[Problem] = []
    code = _field(problems, lambda: code_of(cells.get("code"), record))
    values: dict[str, Any] = {}
    if "name" in cells:
        values["name"] = "" if blank(cells["name"]) else text(cells["name"])
    if "admin_area" in cells:
        values["admin_area"] = "" if blank(cells["admin_area"]) else text(cells["admin_area"])
    values["population"] = _field(problems, lambda: whole(
        cells.get("population"), record, "population"))
    geom = None
    if geometry is None:
        problems.append(("geometry", "no geometry"))
    elif isinstance(geometry, Polygon | MultiPolygon):
        geom = _checked_polygon(problems, geometry, record, checked)
        if geom is not None:
            values["footprint"] = geom
            values["point"] = geom.point_on_surface()
    else:
        geom = _field(problems, lambda: check_point(geometry, record=record, field="geometry"))
        if geom is not None:
            # a point says nothing of the footprint: a stored one is kept
            values["point"] = geom
    _synthetic(cells, values, problems, record)
    if problems:
        return None, problems
    return Candidate(0, code, values, geom), problems


def team(cells: Cells, record: str) -> tuple[Candidate | None, list[Problem]]:
    problems: list[Problem] = []
    code = _field(problems, lambda: code_of(cells.get("code"), record))
    values: dict[str, Any] = {
        "organisation_code": _field(problems, lambda: code_of(
            cells.get("organisation_code"), record, "organisation_code")),
        "asset_type": _field(problems, lambda: parse_enum(
            AssetType, text(cells.get("asset_type")), record=record,
            field="asset_type").value),
        "headcount": _field(problems, lambda: whole(cells.get("headcount"), record,
                                                    "headcount")),
        "productivity_m2_day": _field(problems, lambda: positive(
            cells.get("productivity_m2_day"), record, "productivity_m2_day", "m²/day")),
    }
    if "working_width_m" in cells:
        values["working_width_m"] = None if blank(cells["working_width_m"]) else _field(
            problems, lambda: positive(cells["working_width_m"], record, "working_width_m", "m"))
    if "available" in cells:
        values["available"] = True if blank(cells["available"]) else _field(
            problems, lambda: flag(cells["available"], record, "available"))
    _synthetic(cells, values, problems, record)
    if problems:
        return None, problems
    return Candidate(0, code, values), problems


def hazard(cells: Cells, geometry: Any, record: str, checked: Checked | None = None
           ) -> tuple[Candidate | None, list[Problem]]:
    """A hazard area; ``checked`` is its polygon's check when done for the whole file."""
    # A national file has hundreds of thousands of rows: the usual cells (a code, text,
    # list cells) take the short ways below, to the same values and problems.
    problems: list[Problem] = []
    code = _code_cell(problems, cells.get("code"), record)
    values: dict[str, Any] = {}
    cell = cells.get("name")
    if cell is not None and not blank(cell):
        values["name"] = text(cell)
    cell = cells.get("classification")
    if cell is not None and not blank(cell):
        parsed = _classification(text(cell).upper())
        values["classification"] = parsed[0]
        if parsed[1] is not None:
            problems.append(parsed[1])
    for name, enum in _HAZARD_LISTS:
        if name in cells:
            listed = _listed(enum, name, cells[name])
            values[name] = None if listed[0] is None else list(listed[0])
            if listed[1] is not None:
                problems.append(listed[1])
    geom = None
    if geometry is None:
        problems.append(("geometry", "no geometry"))
    elif checked is not None:
        geom, refusal = checked
        if refusal is not None:
            problems.append((refusal.field, refusal.problem))
    else:
        geom = _checked_polygon(problems, geometry, record, checked)
    if "synthetic" in cells:
        _synthetic(cells, values, problems, record)
    if problems:
        return None, problems
    return Candidate(0, code, values, geom), problems


Parsed = tuple[Any, Problem | None]
_HAZARD_LISTS = (("eo_suspected", EOCategory), ("blockages", Blockage))


def _code_cell(problems: list[Problem], value: Any, record: str) -> str | None:
    """:func:`code_of` the "code" cell, its problem added to ``problems``."""
    try:
        if type(value) is str and value.strip():  # what code_of makes of text
            return check_code(value, record=record, field="code")
        return code_of(value, record)
    except ValidationError as exc:
        problems.append((exc.field, exc.problem))
        return None


def _take(problems: list[Problem], parsed: Parsed) -> Any:
    if parsed[1] is not None:
        problems.append(parsed[1])
    return parsed[0]


# A national file repeats a handful of classifications and EO/blockage lists in every
# row: each distinct cell is parsed once. The problems name no record (the caller's
# Rejection does), so a remembered one is the same for every row holding that cell.

@lru_cache(maxsize=1024)
def _classification(word: str) -> Parsed:
    try:
        return parse_enum(HazardClass, word, record="", field="classification").value, None
    except ValidationError as exc:
        return None, (exc.field, exc.problem)


@lru_cache(maxsize=4096)
def _listed_cell(enum: type, name: str, kind: type, cell: Any) -> Parsed:
    """``kind`` is the cell's type: 1, 1.0 and True are equal keys but not equal text."""
    try:
        return tuple(dict.fromkeys(parse_enum(enum, w, record="", field=name).value
                                   for w in words(cell))), None
    except ValidationError as exc:
        return None, (exc.field, exc.problem)


def _listed(enum: type, name: str, cell: Any) -> Parsed:
    """A list cell parsed (see :func:`words`), remembered when the cell can be."""
    try:
        return _listed_cell(enum, name, type(cell), cell)
    except TypeError:  # an unhashable cell
        return _listed_cell.__wrapped__(enum, name, type(cell), cell)


def label_clash(entity: str, code: str, row: dict[str, Any], values: dict[str, Any]
                ) -> str | None:
    """Why a row cannot update a stored record of the other kind (synthetic or real).

    The label is set when a record is created and never edited: an import does not turn
    exercise data into operational data, or the other way round.
    """
    if "synthetic" not in values or bool(row["synthetic"]) == bool(values["synthetic"]):
        return None
    kinds = {True: "synthetic", False: "real (not synthetic)"}
    return (f"the file labels {entity} {code} {kinds[bool(values['synthetic'])]}, the "
            f"record is {kinds[bool(row['synthetic'])]}: an import does not change the "
            "label, and synthetic and real records are not mixed")


# --- operational records: activities, findings, accidents ------------------------------
#
# Their values are kept as a report entry's payload would carry them (enum values, ISO
# dates), because they enter the record through a report (see io.import_records).

def day(value: Any, record: str, field_name: str) -> str:
    """A date cell as ISO 8601 text: "2026-05-01", a date, or a spreadsheet's datetime."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    word = text(value)
    try:
        return date.fromisoformat(word[:10] if "T" in word or " " in word else word).isoformat()
    except ValueError:
        raise ValidationError(record, field_name,
                              f"{value!r} is not a date (YYYY-MM-DD)") from None


def _enum_value(enum, cells: Cells, key: str, record: str) -> str:
    return parse_enum(enum, text(cells.get(key)).lower(), record=record, field=key).value


def _optional(cells: Cells, key: str) -> bool:
    return key in cells and not blank(cells[key])


def activity(cells: Cells, record: str) -> tuple[Candidate | None, list[Problem]]:
    """An activity: its code, the hazard it works on and the attributes the file gives."""
    problems: list[Problem] = []
    code = _field(problems, lambda: code_of(cells.get("code"), record))
    values: dict[str, Any] = {"hazard_code": _field(problems, lambda: code_of(
        cells.get("hazard_code"), record, "hazard_code"))}
    for key, enum in (("type", ActivityType), ("status", ActivityStatus)):
        if _optional(cells, key):
            values[key] = _field(problems, lambda key=key, enum=enum: _enum_value(
                enum, cells, key, record))
    for key in ("organisation_code", "team_code"):
        if _optional(cells, key):
            values[key] = _field(problems, lambda key=key: code_of(cells[key], record, key))
    for key in ("planned_start", "planned_end", "actual_start", "actual_end"):
        if _optional(cells, key):
            values[key] = _field(problems, lambda key=key: day(cells[key], record, key))
    if _optional(cells, "clearance_depth_mm"):
        values["clearance_depth_mm"] = _field(problems, lambda: whole(
            cells["clearance_depth_mm"], record, "clearance_depth_mm"))
    if _optional(cells, "suspension_reason"):
        values["suspension_reason"] = text(cells["suspension_reason"])
    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        if values.get(start) and values.get(end) and values[end] < values[start]:
            problems.append((end, f"{values[end]} is before {start} {values[start]}"))
    _synthetic(cells, values, problems, record)
    if problems:
        return None, problems
    return Candidate(0, code, values), problems


def _point(problems: list[Problem], geometry: Any, record: str,
           checked: Checked | None) -> Any:
    if geometry is None:
        problems.append(("geometry", "no geometry"))
        return None
    if checked is None:
        return _field(problems, lambda: check_point(geometry, record=record,
                                                    field="geometry"))
    return _take_checked(problems, checked)


def finding(cells: Cells, geometry: Any, record: str, checked: Checked | None = None
            ) -> tuple[Candidate | None, list[Problem]]:
    """An EO item found: a point, the activity that found it, what and when.

    Findings carry no code of their own: the candidate's code is empty and the record
    is matched by what it is (activity, category, date, point; see import_records).
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {
        "activity_code": _field(problems, lambda: code_of(cells.get("activity_code"), record,
                                                          "activity_code")),
        "eo_category": _field(problems, lambda: _enum_value(EOCategory, cells,
                                                            "eo_category", record)),
        "found_on": _field(problems, lambda: day(cells.get("found_on"), record, "found_on")
                           if not blank(cells.get("found_on")) else _required("found_on",
                                                                              record)),
    }
    if _optional(cells, "hazard_code"):
        values["hazard_code"] = _field(problems, lambda: code_of(cells["hazard_code"], record,
                                                                 "hazard_code"))
    values["model"] = text(cells["model"]) if _optional(cells, "model") else ""
    for key, enum, default in (("condition", ItemCondition, ItemCondition.UNKNOWN),
                               ("disposal", Disposal, Disposal.DESTROYED_IN_SITU)):
        values[key] = _field(problems, lambda key=key, enum=enum: _enum_value(
            enum, cells, key, record)) if _optional(cells, key) else default.value
    values["depth_mm"] = _field(problems, lambda: whole(cells["depth_mm"], record, "depth_mm")) \
        if _optional(cells, "depth_mm") else None
    geom = _point(problems, geometry, record, checked)
    _synthetic(cells, values, problems, record)
    if problems:
        return None, problems
    return Candidate(0, "", values, geom), problems


def _required(field_name: str, record: str) -> Any:
    raise ValidationError(record, field_name, "is required")


def accident(cells: Cells, geometry: Any, record: str, checked: Checked | None = None
             ) -> tuple[Candidate | None, list[Problem]]:
    """An accident: a point, its date, type and device, optionally the activity.

    The narrative is personal data: a problem with it is named without quoting it.
    """
    problems: list[Problem] = []
    code = _field(problems, lambda: code_of(cells.get("code"), record))
    values: dict[str, Any] = {
        "accident_date": _field(problems, lambda: day(cells.get("accident_date"), record,
                                                      "accident_date")
                                if not blank(cells.get("accident_date"))
                                else _required("accident_date", record)),
        "type": _field(problems, lambda: _enum_value(AccidentType, cells, "type", record)),
        "device_category": _field(problems, lambda: _enum_value(
            EOCategory, cells, "device_category", record)),
    }
    if _optional(cells, "activity_code"):
        values["activity_code"] = _field(problems, lambda: code_of(
            cells["activity_code"], record, "activity_code"))
    if "narrative" in cells:
        values["narrative"] = "" if blank(cells["narrative"]) else str(cells["narrative"])
    geom = _point(problems, geometry, record, checked)
    _synthetic(cells, values, problems, record)
    if problems:
        return None, problems
    return Candidate(0, code, values, geom), problems


#: Victims' fields; sex, age and activity at the time are personal data (never echoed).
VICTIM_FIELDS = ("outcome", "role", "sex", "age", "activity_at_time")


def victim(cells: Cells, record: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One victim of an accident, as a report entry carries it.

    Problems name the field and what is expected, never the value given: a wrong age
    or sex must not be copied into a rejection report that travels by e-mail.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, enum in (("outcome", VictimOutcome), ("role", VictimRole)):
        try:
            values[key] = _enum_value(enum, cells, key, record)
        except ValidationError:
            problems.append((key, f"expected one of: {', '.join(m.value for m in enum)}"))
    if _optional(cells, "sex"):
        try:
            values["sex"] = _enum_value(Sex, cells, "sex", record)
        except ValidationError:
            problems.append(("sex", f"expected one of: {', '.join(m.value for m in Sex)} "
                                    "(value not shown: personal data)"))
    if _optional(cells, "age"):
        try:
            age = whole(cells["age"], record, "age")
            if age > 120:
                raise ValidationError(record, "age", "too high")
            values["age"] = age
        except ValidationError:
            problems.append(("age", "expected a whole number of years 0-120 "
                                    "(value not shown: personal data)"))
    if _optional(cells, "activity_at_time"):
        values["activity_at_time"] = str(cells["activity_at_time"])
    return (None if problems else values), problems
