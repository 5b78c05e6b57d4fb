"""Write every field form as an XLSForm (.xlsx) and its XForm (.xml), checked.

The .xlsx is what an information manager uploads to KoBoToolbox or ODK Central (and
may adapt); the .xml is what pyxform made of it, proof that it converts, and what ODK
Validate judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from demine.forms.definitions import all_forms
from demine.forms.validate import check_structure, run_odk_validate
from demine.forms.xlsform import FormSpec, to_xform, write_xlsform


@dataclass
class BuiltForm:
    form_id: str
    title: str
    version: str
    xlsx: Path
    xml: Path
    validated: bool
    warnings: list[str] = field(default_factory=list)


def build_form(spec: FormSpec, outdir: Path, *, validate: bool = True) -> BuiltForm:
    xlsx = write_xlsform(spec, outdir / f"{spec.form_id}.xlsx")
    xml, warnings = to_xform(xlsx)
    check_structure(xml, form_id=spec.form_id, version=spec.version)
    xml_path = outdir / f"{spec.form_id}.xml"
    xml_path.write_text(xml, encoding="utf-8")
    if validate:
        warnings += run_odk_validate(xml_path)
    return BuiltForm(spec.form_id, spec.title, spec.version, xlsx, xml_path, validate,
                     warnings)


def build_forms(outdir: Path | str, *, validate: bool = True) -> list[BuiltForm]:
    """Build the four forms into ``outdir`` (created if needed)."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    return [build_form(spec, out, validate=validate) for spec in all_forms()]
