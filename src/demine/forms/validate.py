"""Check an XForm: its structure here, then ODK Validate (JavaRosa) for real.

ODK Validate is the check ODK Collect's own engine (JavaRosa) applies: a form it refuses
would fail on every phone. pyxform ships the jar; it needs a Java runtime, which
``scripts/test`` installs (Debian's ``default-jre-headless``). A missing Java or jar is
an error, never a silent pass.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from pyxform.validators import odk_validate

from demine.domain.errors import DemineError

NS = {"h": "http://www.w3.org/1999/xhtml", "x": "http://www.w3.org/2002/xforms"}


@dataclass(frozen=True)
class ValidatorInfo:
    """Which ODK Validate runs: its jar, release and digest (for the record)."""

    jar: Path
    release: str
    sha256: str
    java: str


def validator_info() -> ValidatorInfo:
    """Locate Java and the ODK Validate jar pyxform ships, or say what is missing."""
    java = shutil.which("java")
    if java is None:
        raise DemineError("ODK Validate: java: not found; install a Java runtime "
                          "(Debian: apt-get install default-jre-headless)")
    jar = Path(odk_validate.ODK_VALIDATE_PATH)
    if not jar.is_file():
        raise DemineError(f"ODK Validate: jar: {jar} is missing; reinstall pyxform")
    release = "unknown"
    installed = jar.with_name("installed.json")
    if installed.is_file():
        release = json.loads(installed.read_text()).get("tag_name", release)
    digest = hashlib.sha256(jar.read_bytes()).hexdigest()
    return ValidatorInfo(jar=jar, release=release, sha256=digest, java=java)


def run_odk_validate(xml_path: Path) -> list[str]:
    """Run ODK Validate on ``xml_path``; returns its warnings, raises on an invalid form."""
    validator_info()
    try:
        return list(odk_validate.check_xform(str(xml_path)))
    except odk_validate.ODKValidateError as exc:
        raise DemineError(f"form {xml_path.name}: ODK Validate: {exc}") from exc


def _instance_paths(node: ElementTree.Element, prefix: str) -> set[str]:
    path = f"{prefix}/{node.tag.split('}')[-1]}"
    found = {path}
    for child in node:
        found |= _instance_paths(child, path)
    return found


def check_structure(xml: str, *, form_id: str, version: str) -> None:
    """What demine relies on in a built XForm, checked without Java.

    The instance root carries the form's id and version, ``meta/instanceID`` is there
    (it is how a submission is recognised when it comes back twice), and every bind
    points at a node of the instance.
    """
    try:
        root = ElementTree.fromstring(xml)  # pyxform's own output, not outside input
    except ElementTree.ParseError as exc:
        raise DemineError(f"form {form_id}: xml: not well formed: {exc}") from exc
    instance = root.find("h:head/x:model/x:instance", NS)
    if instance is None or len(instance) == 0:
        raise DemineError(f"form {form_id}: xml: no primary instance")
    data = instance[0]
    if data.get("id") != form_id or data.get("version") != version:
        raise DemineError(f"form {form_id}: xml: instance says id={data.get('id')!r} "
                          f"version={data.get('version')!r}")
    paths = _instance_paths(data, "")
    name = data.tag.split("}")[-1]
    if f"/{name}/meta/instanceID" not in paths:
        raise DemineError(f"form {form_id}: xml: meta/instanceID is missing")
    for bind in root.iterfind("h:head/x:model/x:bind", NS):
        nodeset = bind.get("nodeset", "")
        if nodeset not in paths:
            raise DemineError(f"form {form_id}: xml: bind {nodeset!r} points at no node")
