"""Which column of an outside file holds which demine field.

National data sets arrive with whatever column names the last GIS officer chose
("Hazard_ID", "HAZ CODE", "Pop_2020"). Recognising demine's own names and the common
variants saves a mapping file for most files; anything else is named explicitly in a
YAML/JSON mapping file. A required field that cannot be found is refused with the file
and the field named, before anything is read row by row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from demine.domain.errors import ValidationError

LAYERS = ("settlements", "teams", "hazards", "activities", "findings", "accidents")


@dataclass(frozen=True)
class FieldSpec:
    """A demine field of an import layer: is it required, and what else it is called."""

    name: str
    required: bool
    variants: tuple[str, ...] = ()


#: Every layer's synthetic label (demine's export writes it on every row): synthetic
#: exercise data stays labelled when it comes back in.
SYNTHETIC_VARIANTS = ("synthetic", "is_synthetic", "synthetic_data")

#: Fields of each layer, in the order a dry run shows them. Geometry is not a column
#: (it comes from the file's geometry, a WKT column or lon/lat columns: see reading).
#: The variants include the 10-character names of demine's own Shapefile export
#: (``export.SHP_FIELDS``), for a Shapefile that travels without its ``fields.csv``.
FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "settlements": (
        FieldSpec("code", True, ("settlement_code", "settlement_id", "code", "id", "pcode",
                                 "p_code", "loc_code", "village_code", "stl_code")),
        FieldSpec("name", False, ("settlement_name", "name_en", "name", "village", "locality",
                                  "settlement", "village_name", "place")),
        FieldSpec("admin_area", False, ("admin_area", "admin", "district", "adm2", "adm2_en",
                                        "admin2", "municipality", "region", "province")),
        FieldSpec("population", True, ("population", "pop", "pop_total", "inhabitants",
                                       "people", "population_total")),
        FieldSpec("synthetic", False, SYNTHETIC_VARIANTS),
    ),
    "teams": (
        FieldSpec("code", True, ("team_code", "team_id", "code", "id", "team")),
        FieldSpec("organisation_code", True, ("organisation_code", "organization_code",
                                              "organisation", "organization", "org", "org_code",
                                              "operator", "operator_code")),
        FieldSpec("asset_type", True, ("asset_type", "asset", "type", "team_type")),
        FieldSpec("headcount", True, ("headcount", "staff", "members", "size", "team_size",
                                      "personnel")),
        FieldSpec("productivity_m2_day", True, ("productivity_m2_day", "prod_m2day",
                                                "productivity", "m2_day", "m2_per_day", "rate",
                                                "output")),
        FieldSpec("working_width_m", False, ("working_width_m", "work_wid_m", "working_width",
                                             "width", "width_m")),
        FieldSpec("available", False, ("available", "active", "availability")),
        FieldSpec("synthetic", False, SYNTHETIC_VARIANTS),
    ),
    "hazards": (
        FieldSpec("code", True, ("hazard_code", "hazard_id", "code", "id", "ha_code", "haz_code",
                                 "hazard", "sha_code", "cha_code")),
        FieldSpec("name", False, ("hazard_name", "name_en", "name", "description_name",
                                  "local_name")),
        # demine's export carries the class as declared and as derived from evidence;
        # the declared one is the fact, the derived one is rebuilt from evidence here
        FieldSpec("classification", False, ("declared_classification", "decl_class",
                                            "classification", "classif", "class",
                                            "hazard_type", "hazard_class", "sha_cha")),
        FieldSpec("eo_suspected", False, ("eo_suspected", "eo_suspect", "eo", "eo_type",
                                          "eo_types", "suspected_eo", "contamination",
                                          "device_type")),
        FieldSpec("blockages", False, ("blockages", "blockage", "blocked", "land_use",
                                       "impact")),
        FieldSpec("synthetic", False, SYNTHETIC_VARIANTS),
    ),
    # operational records (they enter the record through a report: see import_records)
    "activities": (
        FieldSpec("code", True, ("activity_code", "activity_id", "task_code", "task_id",
                                 "code", "id", "task")),
        FieldSpec("hazard_code", True, ("hazard_code", "hazard_id", "ha_code", "haz_code",
                                        "hazard", "sha_code", "cha_code")),
        FieldSpec("type", False, ("type", "activity_type", "task_type", "activity", "kind")),
        FieldSpec("status", False, ("status", "activity_status", "task_status", "state")),
        FieldSpec("organisation_code", False, ("organisation_code", "organization_code",
                                               "organisation", "organization", "org",
                                               "org_code", "operator", "operator_code")),
        FieldSpec("team_code", False, ("team_code", "team_id", "team")),
        FieldSpec("planned_start", False, ("planned_start", "plan_start", "start_planned")),
        FieldSpec("planned_end", False, ("planned_end", "plan_end", "end_planned")),
        FieldSpec("actual_start", False, ("actual_start", "act_start", "start_date",
                                          "started", "start")),
        FieldSpec("actual_end", False, ("actual_end", "act_end", "end_date", "completed_on",
                                        "ended", "end")),
        FieldSpec("suspension_reason", False, ("suspension_reason", "susp_reas",
                                               "suspended_because", "reason")),
        FieldSpec("clearance_depth_mm", False, ("clearance_depth_mm", "clr_dep_mm",
                                                "depth_mm", "clearance_depth", "depth")),
        FieldSpec("synthetic", False, SYNTHETIC_VARIANTS),
    ),
    "findings": (
        FieldSpec("activity_code", True, ("activity_code", "act_code", "activity_id",
                                          "task_code", "task_id", "activity", "task")),
        FieldSpec("hazard_code", False, ("hazard_code", "haz_code", "hazard_id", "ha_code",
                                         "hazard")),
        FieldSpec("eo_category", True, ("eo_category", "eo_cat", "category", "eo_type", "eo",
                                        "item_category", "ordnance_type", "device_type")),
        FieldSpec("found_on", True, ("found_on", "date_found", "find_date", "found",
                                     "date")),
        FieldSpec("model", False, ("model", "eo_model", "item_model", "device_model",
                                   "designation")),
        FieldSpec("condition", False, ("condition", "item_condition", "state")),
        FieldSpec("depth_mm", False, ("depth_mm", "depth", "depth_cm_mm")),
        FieldSpec("disposal", False, ("disposal", "disposal_method", "destruction")),
        FieldSpec("synthetic", False, SYNTHETIC_VARIANTS),
    ),
    "accidents": (
        FieldSpec("code", True, ("accident_code", "accident_id", "incident_code",
                                 "incident_id", "code", "id")),
        FieldSpec("accident_date", True, ("accident_date", "acc_date", "incident_date", "date",
                                          "date_of_accident")),
        FieldSpec("type", True, ("type", "accident_type", "incident_type")),
        FieldSpec("device_category", True, ("device_category", "device_cat", "device",
                                            "eo_category", "eo_type", "device_type")),
        FieldSpec("activity_code", False, ("activity_code", "act_code", "activity_id",
                                           "task_code", "task_id", "activity", "task")),
        FieldSpec("narrative", False, ("narrative", "description", "details", "remarks")),
        FieldSpec("synthetic", False, SYNTHETIC_VARIANTS),
    ),
}


def normalise(name: str) -> str:
    """Case-, space- and punctuation-insensitive form of a column name ("Hazard ID" = hazard_id)."""
    return re.sub(r"[^0-9a-z²]+", "_", str(name).strip().lower()).strip("_")


def load_mapping_file(path: Path) -> dict[str, str]:
    """Read an explicit mapping ``{demine_field: file_column}`` from YAML or JSON.

    JSON is valid YAML, so one parser reads both.
    """
    label = f"mapping file {path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(label, "file", f"cannot be read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ValidationError(label, "file", f"is not valid YAML or JSON: {exc}") from exc
    if not isinstance(data, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValidationError(label, "file",
                              "must map demine field names to column names, e.g. code: HAZ_ID")
    return dict(data)


def resolve(columns: Sequence[str], layer: str, *, file_label: str,
            explicit: Mapping[str, str] | None = None,
            non_empty: Iterable[str] = ()) -> dict[str, str]:
    """``{demine_field: column}`` for the fields found; refuses a missing required field.

    ``explicit`` entries win; then an exact demine name, then the variants in order,
    preferring a column that holds values (``non_empty``): KML files carry an empty
    ``Name`` column beside the attribute that really holds the name.
    """
    specs = {f.name: f for f in FIELDS[layer]}
    explicit = dict(explicit or {})
    for field, column in explicit.items():
        if field not in specs:
            raise ValidationError(file_label, field,
                                  f"mapping names an unknown {layer} field; known: "
                                  f"{', '.join(specs)}")
        if column not in columns:
            raise ValidationError(file_label, field,
                                  f"mapped to column {column!r}, which the file does not have; "
                                  f"columns: {', '.join(map(str, columns))}")
    filled = set(non_empty)
    by_norm: dict[str, list[str]] = {}
    for column in columns:
        by_norm.setdefault(normalise(column), []).append(column)
    for candidates in by_norm.values():
        candidates.sort(key=lambda c: c not in filled)
    found: dict[str, str] = {}
    taken = set(explicit.values())
    for spec in FIELDS[layer]:
        if spec.name in explicit:
            found[spec.name] = explicit[spec.name]
            continue
        # a spec that lists its own name among the variants sets the order itself
        order = spec.variants if spec.name in spec.variants else (spec.name, *spec.variants)
        matches = [c for variant in order
                   for c in by_norm.get(normalise(variant), []) if c not in taken]
        if matches:
            best = next((c for c in matches if c in filled), matches[0])
            found[spec.name] = best
            taken.add(best)
        else:
            if spec.required:
                raise ValidationError(
                    file_label, spec.name,
                    f"required column not found (tried {', '.join(spec.variants)}); "
                    f"columns: {', '.join(map(str, columns))}; name it in a mapping file "
                    f"(--mapping) as  {spec.name}: <column>")
    return found
