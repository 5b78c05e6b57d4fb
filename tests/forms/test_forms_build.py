"""The XLSForms: built from the vocabularies, converted by pyxform, passed by ODK Validate.

ODK Validate runs for real (Java + the jar pyxform ships); a machine without them fails
these tests rather than skipping them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from demine.domain.errors import DemineError
from demine.domain.vocab import (
    AccidentType,
    Blockage,
    Disposal,
    EOCategory,
    EvidenceKind,
    EvidenceType,
    HazardClass,
    ItemCondition,
    Sex,
    VictimOutcome,
    VictimRole,
)
from demine.forms.build import build_forms
from demine.forms.definitions import FORM_VERSION, all_forms
from demine.forms.validate import check_structure, run_odk_validate, validator_info
from demine.geo.checks import CODE_PATTERN, check_code

FORM_IDS = ["demine_nts", "demine_progress", "demine_finding", "demine_accident"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("forms")
    return out, {b.form_id: b for b in build_forms(out, validate=True)}


def test_every_form_is_written_converted_and_passes_odk_validate(built) -> None:
    out, forms = built
    assert sorted(forms) == sorted(FORM_IDS)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{f}.xlsx" for f in FORM_IDS] + [f"{f}.xml" for f in FORM_IDS])
    for form_id, form in forms.items():
        assert form.validated and form.warnings == [], (form_id, form.warnings)
        # run ODK Validate again on the file as written: it must say valid, no warnings
        assert run_odk_validate(form.xml) == []
        xml = form.xml.read_text()
        assert f'<data id="{form_id}" version="{FORM_VERSION}">' in xml
        assert 'nodeset="/data/meta/instanceID"' in xml and 'jr:preload="uid"' in xml
        assert 'calculate="/data/meta/instanceID"' in xml  # the hidden copy


def test_settings_give_a_stable_form_id_and_version(built) -> None:
    out, _ = built
    for form_id in FORM_IDS:
        settings = load_workbook(out / f"{form_id}.xlsx")["settings"]
        header, values = [list(r) for r in settings.iter_rows(values_only=True)]
        found = dict(zip(header, values, strict=True))
        assert found["form_id"] == form_id and found["version"] == FORM_VERSION
    again = {f.form_id: f.version for f in all_forms()}
    assert again == dict.fromkeys(FORM_IDS, FORM_VERSION)


def _choices(path: Path) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    rows = load_workbook(path)["choices"].iter_rows(values_only=True)
    assert next(rows) == ("list_name", "name", "label")
    for list_name, name, label in rows:
        assert label  # every choice reads as words on the phone
        lists.setdefault(list_name, []).append(name)
    return lists


def test_choice_lists_are_demine_vocabularies(built) -> None:
    out, _ = built
    values = lambda enum: [m.value for m in enum]  # noqa: E731
    nts = _choices(out / "demine_nts.xlsx")
    assert nts == {"hazard_class": values(HazardClass), "eo_category": values(EOCategory),
                   "blockage": values(Blockage), "evidence_kind": values(EvidenceKind),
                   "evidence_type": values(EvidenceType)}
    progress = _choices(out / "demine_progress.xlsx")
    assert progress["activity_type"] == ["ts", "clearance", "bac"]
    assert progress["release_method"] == ["reduced", "cleared"]
    assert progress["activity_status"] == ["in_progress", "suspended", "completed"]
    finding = _choices(out / "demine_finding.xlsx")
    assert finding == {"eo_category": values(EOCategory),
                       "item_condition": values(ItemCondition), "disposal": values(Disposal)}
    accident = _choices(out / "demine_accident.xlsx")
    assert accident == {"accident_type": values(AccidentType), "eo_category": values(EOCategory),
                        "victim_outcome": values(VictimOutcome),
                        "victim_role": values(VictimRole), "sex": values(Sex)}


def _survey(path: Path) -> dict[str, dict]:
    rows = load_workbook(path)["survey"].iter_rows(values_only=True)
    header = next(rows)
    survey: dict[str, dict] = {}
    for row in rows:
        if row[1]:  # begin_group/begin_repeat come before their end rows of the same name
            survey.setdefault(row[1], dict(zip(header, row, strict=True)))
    return survey


def test_the_questions_the_issue_asks_for(built) -> None:
    out, _ = built
    nts = _survey(out / "demine_nts.xlsx")
    assert nts["area"]["type"] == "geoshape" and nts["area"]["required"] == "yes"
    assert nts["evidence"]["type"] == "begin_repeat"
    assert nts["evidence_type"]["type"] == "select_one evidence_type"
    progress = _survey(out / "demine_progress.xlsx")
    assert progress["worked_area"]["type"] == "geoshape"
    assert "area(${worked_area})" in progress["area_m2"]["calculation"]
    assert progress["finds"]["type"] == "begin_repeat"
    finding = _survey(out / "demine_finding.xlsx")
    assert {k: finding[k]["type"] for k in ("location", "eo_category", "model", "condition",
                                            "depth_mm", "disposal", "photo")} == {
        "location": "geopoint", "eo_category": "select_one eo_category", "model": "text",
        "condition": "select_one item_condition", "depth_mm": "integer",
        "disposal": "select_one disposal", "photo": "image"}
    accident = _survey(out / "demine_accident.xlsx")
    assert accident["victims"]["type"] == "begin_repeat"
    for survey in (nts, progress, finding, accident):
        assert {"start", "end", "deviceid", "demine_form", "instance_uuid"} <= set(survey)
        assert survey["instance_uuid"]["type"] == "calculate"
    # each repeat's rows are counted on the submission's own row (the ingest's check)
    for survey, repeat in ((nts, "evidence"), (progress, "finds"), (accident, "victims")):
        count = survey[f"{repeat}_count"]
        assert (count["type"], count["calculation"]) == ("calculate", f"count(${{{repeat}}})")
    assert not any(name.endswith("_count") for name in finding)


def test_code_constraint_is_the_records_rule(built) -> None:
    out, _ = built
    constraint = _survey(out / "demine_nts.xlsx")["hazard_code"]["constraint"]
    assert f"regex(., '{CODE_PATTERN}')" in constraint
    assert check_code("HA-000145", record="r") == "HA-000145"


def test_odk_validate_refuses_a_broken_form(built, tmp_path: Path) -> None:
    """The validator really judges: a form with an unbalanced XPath is refused."""
    _, forms = built
    good = "round(area( /data/worked/worked_area ), 1)"
    xml = forms["demine_progress"].xml.read_text()
    assert good in xml
    xml = xml.replace(good, good[:-1])
    broken = tmp_path / "broken.xml"
    broken.write_text(xml)
    with pytest.raises(DemineError, match=r"(?s)broken\.xml: ODK Validate: .*XForm is invalid"):
        run_odk_validate(broken)


def test_structure_check_finds_a_bind_to_nowhere(built) -> None:
    _, forms = built
    xml = forms["demine_finding"].xml.read_text()
    check_structure(xml, form_id="demine_finding", version=FORM_VERSION)
    with pytest.raises(DemineError, match="points at no node"):
        check_structure(xml.replace('nodeset="/data/finding/model"',
                                    'nodeset="/data/finding/modell"'),
                        form_id="demine_finding", version=FORM_VERSION)
    with pytest.raises(DemineError, match="version"):
        check_structure(xml, form_id="demine_finding", version="1")


def test_without_java_validation_fails_loudly(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path, built) -> None:
    info = validator_info()
    assert info.release.startswith("v") and len(info.sha256) == 64 and info.jar.is_file()
    assert shutil.which("java") is not None
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no java on it
    with pytest.raises(DemineError, match="java: not found"):
        run_odk_validate(built[1]["demine_nts"].xml)
    with pytest.raises(DemineError, match="java: not found"):
        build_forms(tmp_path / "out", validate=True)
