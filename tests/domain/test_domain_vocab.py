"""Controlled vocabularies: a value outside the list is refused by record, field and list."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demine.domain import vocab
from demine.domain.errors import ValidationError
from demine.domain.vocab import EOCategory, HazardClass, parse_enum, parse_enum_list

ENUMS = [obj for obj in vars(vocab).values()
         if isinstance(obj, type) and issubclass(obj, StrEnum) and obj is not StrEnum]


def test_vocabularies_cover_the_field():
    assert {e.value for e in EOCategory} == {
        "ap_mine", "at_mine", "cluster_munition", "uxo", "axo", "booby_trap", "ied"}
    assert {e.value for e in vocab.ReleaseMethod} == {"cancelled", "reduced", "cleared"}
    assert {e.value for e in vocab.ReportStatus} == {"draft", "submitted", "approved", "rejected"}
    assert {e.value for e in vocab.HazardStatus} == {"open", "worked_on", "released"}


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_member_parses_from_its_value_in_any_case(enum):
    for member in enum:
        assert parse_enum(enum, member.value, record="r", field="f") is member
        assert parse_enum(enum, f"  {member.value.upper()} ", record="r", field="f") is member
        assert parse_enum(enum, member, record="r", field="f") is member


@settings(max_examples=200, deadline=None)
@given(enum=st.sampled_from(ENUMS), value=st.text(max_size=20))
def test_unknown_text_is_refused_naming_record_field_and_allowed_values(enum, value):
    known = {m.value.lower() for m in enum}
    if value.strip().lower() in known:
        assert parse_enum(enum, value, record="HA-1", field="kind").value.lower() == \
            value.strip().lower()
        return
    with pytest.raises(ValidationError) as info:
        parse_enum(enum, value, record="hazard HA-1", field="classification")
    err = info.value
    assert err.record == "hazard HA-1"
    assert err.field == "classification"
    assert repr(value) in err.problem
    for member in enum:
        assert member.value in err.problem
    assert str(err).startswith("hazard HA-1: classification: ")


@pytest.mark.parametrize("value", [None, 3, 2.5, True, b"SHA", ["SHA"]])
def test_non_text_values_are_refused(value):
    with pytest.raises(ValidationError) as info:
        parse_enum(HazardClass, value, record="rec", field="fld")
    assert "SHA, CHA" in info.value.problem


def test_a_member_of_another_enumeration_is_not_accepted_by_identity():
    # ReleaseMethod.CLEARED is a str "cleared": not a hazard class
    with pytest.raises(ValidationError):
        parse_enum(HazardClass, vocab.ReleaseMethod.CLEARED, record="r", field="f")


def test_enum_lists_dedupe_and_refuse_bad_members():
    assert parse_enum_list(EOCategory, ["ap_mine", "AT_MINE", "ap_mine"],
                           record="r", field="eo") == (EOCategory.AP_MINE, EOCategory.AT_MINE)
    assert parse_enum_list(EOCategory, None, record="r", field="eo") == ()
    with pytest.raises(ValidationError) as info:
        parse_enum_list(EOCategory, "ap_mine", record="r", field="eo")
    assert info.value.field == "eo"
    with pytest.raises(ValidationError) as info:
        parse_enum_list(EOCategory, ["ap_mine", "grenade"], record="r", field="eo")
    assert "grenade" in info.value.problem and info.value.field == "eo"
