"""Turn the cells of one imported row into checked demine values, naming every problem.

Every field of a row is checked on its own, so an information manager fixing a file
sees all that is wrong with row 17 at once instead of one problem per attempt.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from demine.domain.errors import ValidationError
from demine.domain.vocab import AssetType, Blockage, EOCategory, HazardClass, parse_enum
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
        (isinstance(value, str) and not value.strip())


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
    snapped = shapely.set_precision(geom, SAME_SHAPE_TOLERANCE_DEG)
    return shapely.to_wkb(shapely.normalize(snapped))


Cells = Mapping[str, Any]
Problem = tuple[str, str]  # (field, problem)


def _field(problems: list[Problem], parse: Callable[[], Any]) -> Any:
    try:
        return parse()
    except ValidationError as exc:
        problems.append((exc.field, exc.problem))
        return None


def settlement(cells: Cells, geometry: Any, record: str) -> tuple[Candidate | None,
                                                                    list[Problem]]:
    """A settlement: a point, or a footprint polygon whose point is a point inside it."""
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
        geom = _field(problems, lambda: check_polygon(geometry, record=record, field="geometry"))
        if geom is not None:
            values["footprint"] = geom
            values["point"] = geom.point_on_surface()
    else:
        geom = _field(problems, lambda: check_point(geometry, record=record, field="geometry"))
        if geom is not None:
            values["point"] = geom
            values["footprint"] = None
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
    if problems:
        return None, problems
    return Candidate(0, code, values), problems


def hazard(cells: Cells, geometry: Any, record: str) -> tuple[Candidate | None,
                                                                list[Problem]]:
    problems: list[Problem] = []
    code = _field(problems, lambda: code_of(cells.get("code"), record))
    values: dict[str, Any] = {}
    if "name" in cells and not blank(cells["name"]):
        values["name"] = text(cells["name"])
    if "classification" in cells and not blank(cells["classification"]):
        values["classification"] = _field(problems, lambda: parse_enum(
            HazardClass, text(cells["classification"]).upper(), record=record,
            field="classification").value)
    for name, enum in (("eo_suspected", EOCategory), ("blockages", Blockage)):
        if name in cells:
            values[name] = _field(problems, lambda name=name, enum=enum: sorted(dict.fromkeys(
                parse_enum(enum, w, record=record, field=name).value
                for w in words(cells[name]))))
    geom = None
    if geometry is None:
        problems.append(("geometry", "no geometry"))
    else:
        geom = _field(problems, lambda: check_polygon(geometry, record=record, field="geometry"))
    if problems:
        return None, problems
    return Candidate(0, code, values, geom), problems
