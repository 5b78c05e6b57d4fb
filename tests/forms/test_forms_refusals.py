"""Bad exports are refused whole, each problem naming file, row and column.

Every case holds good submissions beside the bad one: none of them may be stored
(``World.snapshot`` compares every row of every table before and after). Runs on SQLite
and on PostGIS.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from demine_world import World
from kobo_exports import progress_sheets, write_xlsx
from refusals import refused
from shapely.geometry import box

FIXTURES = Path(__file__).parent / "fixtures"
GOOD_SHAPE = ("45.005 9.015 0 0;45.005 9.016 0 0;45.0056 9.016 0 0;45.0056 9.015 0 0;"
              "45.005 9.015 0 0")


@pytest.fixture
def hazard_world(world: World) -> World:
    world.file(date(2026, 11, 1), [world.hazard_entry("HA-1", box(0, 0, 400, 200))])
    return world


def _nts_rows() -> list[list[str]]:
    with open(FIXTURES / "nts_kobo.csv", newline="", encoding="utf-8") as f:
        return [row for row in csv.reader(f, delimiter=";")][:3]  # header + 2 submissions


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=";", quoting=csv.QUOTE_ALL).writerows(rows)
    return path


def _set(rows: list[list[str]], row: int, column: str, value: str) -> list[list[str]]:
    """Set ``column`` of spreadsheet row ``row`` (the header is row 1)."""
    rows[row - 1][rows[0].index(column)] = value
    return rows


def _drop(rows: list[list[str]], column: str) -> list[list[str]]:
    i = rows[0].index(column)
    return [r[:i] + r[i + 1:] for r in rows]


CSV_CASES: dict[str, tuple[Callable[[list[list[str]]], list[list[str]]], int | None, str,
                           str]] = {
    # name: (change, row, column, problem)
    "two-point geoshape": (
        lambda r: _set(r, 3, "survey/area", "45.005 9.015 0 0;45.005 9.016 0 0;45.005 9.015 0 0"),
        3, "survey/area", "at least 3 distinct points, this one has 2"),
    "swapped lat/lon": (
        lambda r: _set(r, 3, "survey/area", ";".join(
            f"{p.split()[1]} {p.split()[0]} 0 0" for p in GOOD_SHAPE.split(";"))),
        3, "survey/area", "outside the project's area"),
    "latitude out of range": (
        lambda r: _set(r, 2, "survey/area", GOOD_SHAPE.replace("45.0056 9.016", "95.0 9.016")),
        2, "survey/area", "latitude 95.0 is outside -90..90"),
    "missing required column": (
        lambda r: _drop(r, "survey/hazard_code"), None, "hazard_code",
        "missing column"),
    "unknown choice": (
        lambda r: _set(r, 3, "survey/classification", "XHA"), 3, "survey/classification",
        "unknown value 'XHA'"),
    "unknown EO in a multiple choice": (
        lambda r: _set(r, 2, "survey/eo_suspected", "ap_mine landmine"), 2,
        "survey/eo_suspected", "unknown value 'landmine'"),
    "organisation not on the record": (
        lambda r: _set(r, 2, "survey/organisation_code", "OP-NOPE"), 2,
        "survey/organisation_code", "organisation OP-NOPE is not on the record"),
    "code with stray spaces": (
        lambda r: _set(r, 3, "survey/hazard_code", "HA-NTS-2 "), 3, "survey/hazard_code",
        "stray spaces"),
    "no uuid anywhere": (
        lambda r: _set(_set(_set(r, 3, "_uuid", ""), 3, "meta/instanceID", ""), 3,
                       "instance_uuid", ""), 3, "_uuid", "no submission uuid"),
    "same new hazard twice": (
        lambda r: _set(r, 3, "survey/hazard_code", "HA-NTS-1"), 3, "survey/hazard_code",
        "surveyed as new in row 2 too"),
    "date that is no date": (
        lambda r: _set(r, 2, "survey/survey_date", "18/11/2026"), 2, "survey/survey_date",
        "is not a date"),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_csv_is_refused_naming_file_row_and_column(hazard_world: World, tmp_path: Path,
                                                       case: str) -> None:
    change, row, column, problem = CSV_CASES[case]
    path = _write_csv(tmp_path / "nts_bad.csv", change(_nts_rows()))
    problems = refused(hazard_world, path)
    assert len(problems) == 1, [str(p) for p in problems]
    (found,) = problems
    where = f"file nts_bad.csv row {row}" if row else "file nts_bad.csv"
    assert (found.record, found.field) == (where, column)
    assert problem in found.problem
    assert str(found).startswith(f"{where}: {column}: ")


def test_every_problem_of_a_file_is_reported_at_once(hazard_world: World,
                                                     tmp_path: Path) -> None:
    rows = _set(_set(_nts_rows(), 2, "survey/classification", "XHA"), 3, "survey/area",
                "45.005 9.015 0 0;45.005 9.016 0 0")
    problems = refused(hazard_world, _write_csv(tmp_path / "two_bad.csv", rows))
    assert [(p.record, p.field) for p in problems] == [
        ("file two_bad.csv row 2", "survey/classification"),
        ("file two_bad.csv row 3", "survey/area")]


def test_csv_text_saved_as_xlsx_isrefused(hazard_world: World, tmp_path: Path) -> None:
    path = tmp_path / "nts.xlsx"
    path.write_bytes((FIXTURES / "nts_kobo.csv").read_bytes())
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == ("file nts.xlsx", "file")
    assert "cannot be read as XLSX (is it what its extension says?)" in problem.problem


def test_unreadable_sheet_is_refused_by_name(hazard_world: World, tmp_path: Path) -> None:
    sheets = progress_sheets()
    sheets["Technical survey  clearance d"] = []  # the main sheet lost its rows
    (problem,) = refused(hazard_world, write_xlsx(tmp_path / "p.xlsx", sheets))
    assert (problem.record, problem.field) == ("file p.xlsx",
                                              "sheet Technical survey  clearance d")
    assert "has no columns" in problem.problem


def test_damaged_repeat_sheet_is_refused_not_dropped(hazard_world: World,
                                                     tmp_path: Path) -> None:
    """GDAL leaves a sheet it cannot parse out without a word: the finds would vanish."""
    good = write_xlsx(tmp_path / "good.xlsx", progress_sheets())
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":  # the finds sheet
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    (problem,) = refused(hazard_world, damaged)
    assert (problem.record, problem.field) == ("file damaged.xlsx", "sheet finds")
    assert "cannot be read" in problem.problem


def test_a_repeat_sheet_left_out_or_trimmed_is_refused_by_its_count(hazard_world: World,
                                                                   tmp_path: Path) -> None:
    """KoBo may not write a sheet for a repeat nobody filled, so a missing sheet alone
    proves nothing; the submission's hidden count says how many rows it had."""
    sheets = progress_sheets()
    del sheets["finds"]
    (problem,) = refused(hazard_world, write_xlsx(tmp_path / "p.xlsx", sheets))
    assert (problem.record, problem.field) == ("file p.xlsx row 2", "finds_count")
    assert "had 2 finds row(s), the file holds 0" in problem.problem
    sheets = progress_sheets()
    del sheets["finds"][2]  # one find of the first day cut from the sheet
    (problem,) = refused(hazard_world, write_xlsx(tmp_path / "p2.xlsx", sheets))
    assert (problem.record, problem.field) == ("file p2.xlsx row 2", "finds_count")
    assert "had 2 finds row(s), the file holds 1" in problem.problem


def test_repeat_row_pointing_nowhere(hazard_world: World, tmp_path: Path) -> None:
    sheets = progress_sheets()
    header = sheets["finds"][0]
    sheets["finds"][2][header.index("_parent_index")] = 7
    (problem,) = refused(hazard_world, write_xlsx(tmp_path / "p.xlsx", sheets))
    assert (problem.record, problem.field) == ("file p.xlsx sheet finds row 3",
                                              "_parent_index")
    assert "7 is no _index of the main sheet" in problem.problem


def test_bad_answer_in_a_repeat_row(hazard_world: World, tmp_path: Path) -> None:
    sheets = progress_sheets()
    header = sheets["finds"][0]
    sheets["finds"][1][header.index("finds/find_condition")] = "live"
    sheets["finds"][2][header.index("finds/find_point")] = "9.0022 45.0009 0 0"  # swapped
    problems = refused(hazard_world, write_xlsx(tmp_path / "p.xlsx", sheets))
    assert [(p.record, p.field) for p in problems] == [
        ("file p.xlsx sheet finds row 2", "finds/find_condition")]
    assert "unknown value 'live'" in problems[0].problem
    sheets["finds"][1][header.index("finds/find_condition")] = "armed"
    (problem,) = refused(hazard_world, write_xlsx(tmp_path / "p2.xlsx", sheets))
    assert (problem.record, problem.field) == ("file p2.xlsx sheet finds row 3",
                                              "finds/find_point")
    assert "outside the project's area" in problem.problem


def test_progress_on_a_hazard_not_on_the_record(hazard_world: World, tmp_path: Path) -> None:
    sheets = progress_sheets()
    header = sheets["Technical survey  clearance d"][0]
    sheets["Technical survey  clearance d"][2][header.index("task/hazard_code")] = "HA-404"
    (problem,) = refused(hazard_world, write_xlsx(tmp_path / "p.xlsx", sheets))
    assert (problem.record, problem.field) == ("file p.xlsx row 3", "task/hazard_code")
    assert "hazard area HA-404 is not on the record" in problem.problem


def test_geojson_with_swapped_coordinates(hazard_world: World, tmp_path: Path) -> None:
    document = json.loads((FIXTURES / "finding_kobo.geojson").read_text())
    x, y, z = document["features"][1]["geometry"]["coordinates"]
    document["features"][1]["geometry"]["coordinates"] = [y, x, z]
    path = tmp_path / "findings.geojson"
    path.write_text(json.dumps(document))
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == ("file findings.geojson feature 2", "geometry")
    assert "outside the project's area" in problem.problem


def test_not_a_demine_form(hazard_world: World, tmp_path: Path) -> None:
    rows = _drop(_nts_rows(), "demine_form")
    (problem,) = refused(hazard_world, _write_csv(tmp_path / "other.csv", rows))
    assert (problem.record, problem.field) == ("file other.csv", "demine_form")
    assert "not an export of a demine form" in problem.problem


def test_unknown_extension(hazard_world: World, tmp_path: Path) -> None:
    path = tmp_path / "nts.txt"
    path.write_text("x")
    (problem,) = refused(hazard_world, path)
    assert (problem.record, problem.field) == ("file nts.txt", "file")
