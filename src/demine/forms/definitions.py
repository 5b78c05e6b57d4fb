"""The four field forms: non-technical survey, daily progress, EO finding, accident.

Each form carries, besides its questions:

- ``start``/``end``/``today``/``deviceid``/``username`` metadata, which Collect fills
  in by itself;
- hidden calculates ``demine_form`` and ``demine_form_version``, so that an export
  says which form (and which version of it) its rows come from, whatever the server
  called the project;
- a hidden calculate ``instance_uuid`` copying ``meta/instanceID``: KoBo's CSV and XLSX
  exports carry the uuid in ``_uuid``, but its GeoJSON export drops underscore columns,
  and a submission without its uuid cannot be recognised when it comes back twice.
- after each repeat group, a hidden calculate ``<repeat>_count`` (``count()`` of its
  rows): a repeat's rows travel in their own sheet or table, and the count on the
  submission's own row is how the ingest tells a sheet left out or trimmed from a
  submission that had none (and which rows a CSV or GeoJSON export, which carries no
  repeats, leaves without their items).

Field names are the ingest's contract (``demine.forms.entries`` reads them); labels
are for people and may change freely. Bump ``FORM_VERSION`` with any change to the
questions: ODK refuses to replace a form by one with the same version.
"""

from __future__ import annotations

from demine.forms import choices as c
from demine.forms.xlsform import FormSpec, Question, Section
from demine.geo.checks import CODE_PATTERN, MAX_CODE_LENGTH

#: One version for the set: the forms are built and published together.
FORM_VERSION = "2026112301"
#: Root element of every form's instance (pyxform's default); paths below use it.
ROOT = "data"

#: The same rule as ``demine.geo.checks.check_code``, so a code the record would refuse
#: cannot be typed on the phone.
CODE_CONSTRAINT = (f"regex(., '{CODE_PATTERN}') and string-length(.) <= {MAX_CODE_LENGTH}")
CODE_MESSAGE = ("Letters, digits and . _ / - only, no spaces, at most "
                f"{MAX_CODE_LENGTH} characters (e.g. HA-000145)")
NOT_FUTURE = ". <= today()"


def _code(name: str, label: str, *, required: bool = True, relevant: str = "",
          hint: str = "") -> Question:
    return Question("text", name, label, hint=hint, required=required, relevant=relevant,
                    constraint=CODE_CONSTRAINT, constraint_message=CODE_MESSAGE)


def _date(name: str, label: str) -> Question:
    return Question("date", name, label, required=True, constraint=NOT_FUTURE,
                    constraint_message="A date in the future?", default="today()")


def _organisation() -> Question:
    return _code("organisation_code", "Organisation (operator) code", required=False,
                 hint="Leave empty to use the organisation given at ingest")


def _header(form_id: str) -> tuple[Question, ...]:
    return (
        Question("start", "start"),
        Question("end", "end"),
        Question("today", "today"),
        Question("deviceid", "deviceid"),
        Question("username", "username"),
        Question("calculate", "demine_form", calculation=f"'{form_id}'"),
        Question("calculate", "demine_form_version", calculation=f"'{FORM_VERSION}'"),
        Question("calculate", "instance_uuid", calculation=f"/{ROOT}/meta/instanceID"),
    )


def _counted(repeat: Section) -> tuple[Section, Question]:
    """A repeat group and, beside it, the calculate counting its rows (module doc)."""
    return repeat, Question("calculate", f"{repeat.name}_count",
                            calculation=f"count(${{{repeat.name}}})")


def nts_form() -> FormSpec:
    """Non-technical survey of a suspected area: its shape, evidence and suspected EO."""
    form_id = "demine_nts"
    return FormSpec(
        form_id=form_id, title="Non-technical survey", version=FORM_VERSION,
        instance_name="concat(${hazard_code}, ' ', ${survey_date})",
        body=(*_header(form_id),
              Section("group", "survey", "Suspected area", (
                  _code("hazard_code", "Hazard area code",
                        hint="A new code for a new area, or the code of the area surveyed"),
                  Question("text", "hazard_name", "Local name of the area"),
                  _date("survey_date", "Date of the survey"),
                  _organisation(),
                  Question("select_one hazard_class", "classification", "Classification",
                           required=True),
                  Question("select_multiple eo_category", "eo_suspected",
                           "Explosive ordnance suspected"),
                  Question("select_multiple blockage", "blockages",
                           "What does the area block?"),
                  Question("geoshape", "area", "Walk or draw the suspected area",
                           required=True),
              )),
              *_counted(Section("repeat", "evidence", "Evidence item", (
                  Question("select_one evidence_kind", "evidence_kind", "Direct or indirect",
                           required=True),
                  Question("select_one evidence_type", "evidence_type", "Evidence",
                           required=True),
                  Question("text", "evidence_description", "Description"),
              ))),
              Question("text", "remarks", "Remarks", appearance="multiline")),
        choices=(c.HAZARD_CLASS, c.EO_CATEGORY, c.BLOCKAGE, c.EVIDENCE_KIND,
                 c.EVIDENCE_TYPE),
    )


def progress_form() -> FormSpec:
    """Technical survey / clearance daily progress: the worked polygon, its area, finds."""
    form_id = "demine_progress"
    working = "${status} != 'suspended'"
    return FormSpec(
        form_id=form_id, title="Technical survey / clearance daily progress",
        version=FORM_VERSION,
        instance_name="concat(${activity_code}, ' ', ${work_date})",
        body=(*_header(form_id),
              Section("group", "task", "Task", (
                  _code("activity_code", "Activity (task) code"),
                  _code("hazard_code", "Hazard area code"),
                  _organisation(),
                  _code("team_code", "Team code", required=False),
                  Question("select_one activity_type", "activity_type", "Activity",
                           required=True),
                  _date("work_date", "Date worked"),
                  Question("select_one activity_status", "status", "Status at the end of "
                           "the day", required=True),
                  Question("text", "suspension_reason", "Why was work suspended?",
                           required=True, relevant="${status} = 'suspended'"),
              )),
              Section("group", "worked", "Land worked today", (
                  Question("select_one release_method", "release_method",
                           "How was the land released?", relevant=working),
                  Question("geoshape", "worked_area", "Walk or draw the land worked today",
                           relevant=working),
                  Question("calculate", "area_m2",
                           calculation="if(string-length(${worked_area}) > 0, "
                                       "round(area(${worked_area}), 1), 0)"),
                  Question("note", "area_note", "Area worked: ${area_m2} m²",
                           relevant=working),
                  Question("integer", "clearance_depth_mm", "Clearance depth (mm)",
                           relevant="${release_method} = 'cleared'",
                           constraint=". > 0 and . <= 5000",
                           constraint_message="Depth in millimetres, up to 5000"),
              ), relevant=working),
              *_counted(Section("repeat", "finds", "Item found", (
                  Question("geopoint", "find_point", "Where was it found?", required=True),
                  Question("select_one eo_category", "find_category", "Category",
                           required=True),
                  Question("text", "find_model", "Model (e.g. PMN-2)"),
                  Question("select_one item_condition", "find_condition", "Condition"),
                  Question("integer", "find_depth_mm", "Depth (mm)",
                           constraint=". >= 0 and . <= 10000",
                           constraint_message="Depth in millimetres, up to 10000"),
                  Question("select_one disposal", "find_disposal", "Disposal",
                           required=True),
              ))),
              Question("text", "remarks", "Remarks", appearance="multiline")),
        choices=(c.ACTIVITY_TYPE, c.ACTIVITY_STATUS, c.RELEASE_METHOD, c.EO_CATEGORY,
                 c.ITEM_CONDITION, c.DISPOSAL),
    )


def finding_form() -> FormSpec:
    """One explosive item found: where, what, in what state, how deep, what was done."""
    form_id = "demine_finding"
    return FormSpec(
        form_id=form_id, title="EO finding", version=FORM_VERSION,
        instance_name="concat(${activity_code}, ' ', ${eo_category}, ' ', ${found_on})",
        body=(*_header(form_id),
              Section("group", "finding", "Item found", (
                  _code("activity_code", "Activity (task) code"),
                  _organisation(),
                  _date("found_on", "Date found"),
                  Question("geopoint", "location", "Location of the item", required=True),
                  Question("select_one eo_category", "eo_category", "Category",
                           required=True),
                  Question("text", "model", "Model (e.g. PMN-2, TM-62M)"),
                  Question("select_one item_condition", "condition", "Condition",
                           required=True),
                  Question("integer", "depth_mm", "Depth (mm)",
                           constraint=". >= 0 and . <= 10000",
                           constraint_message="Depth in millimetres, up to 10000"),
                  Question("select_one disposal", "disposal", "Disposal", required=True),
                  Question("image", "photo", "Photo of the item", parameters="max-pixels=1600"),
              )),
              Question("text", "remarks", "Remarks", appearance="multiline")),
        choices=(c.EO_CATEGORY, c.ITEM_CONDITION, c.DISPOSAL),
    )


def accident_form() -> FormSpec:
    """A demining or mine/ERW accident; victims' details are personal data."""
    form_id = "demine_accident"
    return FormSpec(
        form_id=form_id, title="Accident report", version=FORM_VERSION,
        instance_name="concat(${accident_code}, ' ', ${accident_date})",
        body=(*_header(form_id),
              Section("group", "accident", "Accident", (
                  _code("accident_code", "Accident code"),
                  _organisation(),
                  _date("accident_date", "Date of the accident"),
                  Question("geopoint", "location", "Place of the accident", required=True),
                  Question("select_one accident_type", "accident_type", "Type",
                           required=True),
                  Question("select_one eo_category", "device_category", "Device",
                           required=True),
                  _code("activity_code", "Activity (task) at whose worksite",
                        relevant="${accident_type} = 'demining'"),
                  Question("text", "narrative", "What happened (personal data: kept "
                           "confidential)", appearance="multiline"),
              )),
              *_counted(Section("repeat", "victims", "Victim", (
                  Question("select_one victim_outcome", "victim_outcome", "Outcome",
                           required=True),
                  Question("select_one victim_role", "victim_role", "Deminer or civilian",
                           required=True),
                  Question("select_one sex", "victim_sex", "Sex"),
                  Question("integer", "victim_age", "Age",
                           constraint=". >= 0 and . <= 120",
                           constraint_message="Age in years, 0 to 120"),
                  Question("text", "victim_activity", "Activity at the time"),
              ))),
              Question("text", "remarks", "Remarks", appearance="multiline")),
        choices=(c.ACCIDENT_TYPE, c.EO_CATEGORY, c.VICTIM_OUTCOME, c.VICTIM_ROLE, c.SEX),
    )


def all_forms() -> tuple[FormSpec, ...]:
    return (nts_form(), progress_form(), finding_form(), accident_form())


def form_by_id(form_id: str) -> FormSpec | None:
    return next((f for f in all_forms() if f.form_id == form_id), None)
