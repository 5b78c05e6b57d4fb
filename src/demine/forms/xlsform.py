"""A small model of an XLSForm, written as a real .xlsx and converted by pyxform.

The forms are described in Python (``definitions``) rather than kept as hand-edited
spreadsheets, so that their choice lists come from the vocabularies and their field
names are the ones the ingest reads. What the phones get is still a plain XLSForm that
anyone can open, change in Excel and upload to KoBoToolbox or ODK Central.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from pyxform.xls2xform import convert

from demine.domain.errors import DemineError
from demine.forms.choices import ChoiceList

#: Columns of the survey sheet, in the order they are written.
SURVEY_COLUMNS = ("type", "name", "label", "hint", "required", "relevant", "constraint",
                  "constraint_message", "calculation", "appearance", "default",
                  "parameters")


@dataclass(frozen=True)
class Question:
    """One row of the survey sheet (a question, a note, a calculate, a metadata field)."""

    type: str
    name: str
    label: str = ""
    hint: str = ""
    required: bool = False
    relevant: str = ""
    constraint: str = ""
    constraint_message: str = ""
    calculation: str = ""
    appearance: str = ""
    default: str = ""
    parameters: str = ""

    def row(self) -> dict[str, str]:
        values = {c: getattr(self, c) for c in SURVEY_COLUMNS}
        values["required"] = "yes" if self.required else ""
        return values

    @property
    def list_name(self) -> str | None:
        """The choice list a select_one/select_multiple question draws from."""
        head, _, rest = self.type.partition(" ")
        return rest.strip() if head in ("select_one", "select_multiple") else None


@dataclass(frozen=True)
class Section:
    """A group or a repeat: ``begin_group`` ... ``end_group`` around its children."""

    kind: str  # "group" or "repeat"
    name: str
    label: str
    children: tuple[Question | Section, ...]
    relevant: str = ""
    appearance: str = ""

    def rows(self) -> Iterator[dict[str, str]]:
        yield {"type": f"begin_{self.kind}", "name": self.name, "label": self.label,
               "relevant": self.relevant, "appearance": self.appearance}
        for child in self.children:
            yield from _rows(child)
        yield {"type": f"end_{self.kind}", "name": self.name}


def _rows(item: Question | Section) -> Iterator[dict[str, str]]:
    if isinstance(item, Section):
        yield from item.rows()
    else:
        yield item.row()


@dataclass(frozen=True)
class FormSpec:
    """Everything one XLSForm holds: settings, survey rows and choice lists."""

    form_id: str
    title: str
    version: str
    body: tuple[Question | Section, ...]
    choices: tuple[ChoiceList, ...]
    instance_name: str = ""
    extra_settings: dict[str, str] = field(default_factory=dict)

    def questions(self) -> Iterator[tuple[tuple[str, ...], Question]]:
        """Every question with the names of the groups/repeats around it."""
        def walk(items, path):
            for item in items:
                if isinstance(item, Section):
                    yield from walk(item.children, (*path, item.name))
                else:
                    yield path, item
        yield from walk(self.body, ())

    def repeats(self) -> Iterator[Section]:
        def walk(items):
            for item in items:
                if isinstance(item, Section):
                    if item.kind == "repeat":
                        yield item
                    yield from walk(item.children)
        yield from walk(self.body)

    def check(self) -> None:
        """Refuse a spec whose selects name a list it does not carry (or vice versa)."""
        lists = {c.list_name for c in self.choices}
        used = {q.list_name for _, q in self.questions() if q.list_name}
        if used - lists or lists - used:
            raise DemineError(f"form {self.form_id}: choices: lists used but missing "
                              f"{sorted(used - lists)}, carried but unused "
                              f"{sorted(lists - used)}")
        names = [q.name for _, q in self.questions()]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise DemineError(f"form {self.form_id}: survey: names used twice: {doubles}")


def write_xlsform(spec: FormSpec, path: Path) -> Path:
    """Write ``spec`` as an XLSForm workbook (survey, choices, settings sheets)."""
    spec.check()
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(list(SURVEY_COLUMNS))
    for item in spec.body:
        for row in _rows(item):
            survey.append([row.get(c, "") or None for c in SURVEY_COLUMNS])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for choice_list in spec.choices:
        for name, text in choice_list.choices:
            choices.append([choice_list.list_name, name, text])
    settings = book.create_sheet("settings")
    values = {"form_title": spec.title, "form_id": spec.form_id, "version": spec.version,
              "instance_name": spec.instance_name, **spec.extra_settings}
    values = {k: v for k, v in values.items() if v}
    settings.append(list(values))
    settings.append(list(values.values()))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def to_xform(xlsx: Path) -> tuple[str, list[str]]:
    """Convert an XLSForm file with pyxform: (XForm XML, pyxform's warnings).

    ODK Validate is run separately (``demine.forms.validate``) so that a missing Java is
    reported as such rather than as a conversion failure.
    """
    warnings: list[str] = []
    try:
        result = convert(xlsform=str(xlsx), warnings=warnings, validate=False,
                         pretty_print=True)
    except Exception as exc:  # pyxform raises PyXFormError and plain errors alike
        raise DemineError(f"form {xlsx.name}: pyxform: {exc}") from exc
    return result.xform, list(result.warnings)
