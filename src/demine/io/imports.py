"""Import a file into the record: settlements, teams, hazards, activities, findings and
accidents (issue 3, "Import").

The same function serves the CLI and, later, the API. It works in three passes so that
nothing is half-written:

1. read the file (any GDAL format, reprojected to WGS84) and map its columns;
2. check every row (geocheck rules, vocabularies, duplicates inside the file, distance
   from the project's area, links to stored records) and compare it with what is stored,
   collecting *all* problems as :class:`Rejection` rows;
3. write, in one transaction, unless a row was refused (then nothing, unless
   ``skip_invalid``) or it is a dry run.

Records are matched by code, so importing the same file again changes nothing. Reference
data (settlements, teams) is created or updated in place with a new version whose audit
reason is ``import <file>``. Hazards enter the record only through a report: one report
per import holding a ``new_hazard`` entry per new code and a ``hazard_revision`` entry
per hazard whose name, declared classification, suspected EO or blockages the file
changes (each a new version when approved; its boundary is never changed by import),
submitted, and approved in the same call only when asked (an information manager
loading national data). Activities,
findings and accidents are operational facts too and go the same way (one report per
import, a changed accident as an ``accident_revision`` entry; matching and links in
:mod:`demine.io.import_records`).

Checking is vectorised where a national file makes it matter: every polygon or point of
the file goes through :func:`demine.geo.checks.check_polygons` / ``check_points`` at
once, which screen the whole array and run the one-by-one check (same messages) only on
the few geometries the screen cannot pass.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Table, select

from demine.domain.changes import REVISABLE_HAZARD_ATTRIBUTES, NewHazard
from demine.domain.entities import HazardArea, Settlement, Team
from demine.domain.errors import ValidationError
from demine.domain.vocab import (
    AssetType,
    Blockage,
    ChangeKind,
    EOCategory,
    HazardClass,
    ReportStatus,
)
from demine.geo.checks import check_points, check_polygon, check_polygons
from demine.io import import_records
from demine.io import import_rows as rows_
from demine.io.import_rows import (
    Candidate,
    Plan,
    Rejection,
    label_clash,
    same_shape,
    shape_keys,
)
from demine.io.mapping import FIELDS, LAYERS, load_mapping_file, resolve
from demine.io.reading import companion, read_table
from demine.service import bulk, reference, reports, status
from demine.store import schema as s
from demine.store.batch import one_of
from demine.store.repository import Repository, UnitOfWork

#: Features farther than this from the extent of the project's current data are refused:
#: a swapped lon/lat or a wrong CRS usually lands hundreds of km away.
MAX_DISTANCE_FROM_PROJECT_KM = 500.0
_KM_PER_DEGREE = 111.32
_PROGRESS_EVERY = 500

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, order=True)
class Update:
    """A record the import changes: its row, its code and the fields it changes (names
    only: a victims list is personal data)."""

    row: int
    code: str
    fields: tuple[str, ...]


@dataclass
class ImportSummary:
    """What an import did (or, for a dry run or a refused file, would have done)."""

    file: str
    layer: str
    mapping: dict[str, str]
    source_crs: str | None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    #: what the updated records change, in row order (a dry run's "what would change")
    updates: list[Update] = field(default_factory=list)
    report_code: str | None = None
    dry_run: bool = False
    refused: bool = False
    #: the layers read beside the file's own: "victims from victims.geojson"...
    companions: list[str] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.refused and (self.created + self.updated) > 0


#: Layer names looked for in a multi-layer file, first match wins (demine's own export
#: names first, so a project GeoPackage imports layer by layer).
SOURCE_LAYER_NAMES: dict[str, tuple[str, ...]] = {
    "settlements": ("settlements", "settlement", "villages", "communities"),
    "hazards": ("hazard_areas", "hazards", "hazard_area", "sha_cha"),
    "teams": ("teams", "assets"),
    "activities": ("activities", "activity", "tasks"),
    "findings": ("findings", "finding", "eo_found", "finds", "items"),
    "accidents": ("accidents", "accident", "incidents"),
}
#: Layers whose records enter the record through a report (as hazards do).
REPORTED = ("hazards", *import_records.ENTRY_KIND)
#: Layers without geometry (a geometry column in the file is not read).
ATTRIBUTE_ONLY = ("teams", "activities")


def import_file(repo: Repository, path: Path | str, layer: str, *, author: str,
                mapping: Path | str | dict[str, str] | None = None, crs: str | None = None,
                skip_invalid: bool = False, dry_run: bool = False,
                organisation_code: str | None = None, info_date: date | None = None,
                approve: bool = False, progress: Progress | None = None) -> ImportSummary:
    """Import ``path`` as ``layer`` (one of :data:`LAYERS`); see the module doc.

    A file that cannot be read at all (wrong format, missing required column, no CRS)
    raises :class:`ValidationError` naming the file and field. Row problems come back
    in ``summary.rejected``; with any of them and no ``skip_invalid`` nothing is
    written and ``summary.refused`` is set.
    """
    if layer not in LAYERS:
        raise ValidationError("import", "layer",
                              f"unknown layer {layer!r}; this version imports "
                              f"{', '.join(LAYERS)}")
    path = Path(path)
    tick = progress or (lambda _stage, _done, _total: None)
    explicit = load_mapping_file(Path(mapping)) if isinstance(mapping, str | Path) else mapping
    table, problems = read_table(path, crs=crs, geometry_required=layer not in ATTRIBUTE_ONLY,
                                 prefer_layers=SOURCE_LAYER_NAMES.get(layer, (layer,)))
    if table.geometry is not None:
        table.geometry = single_parts(table.geometry)
    frame = table.frame
    filled = [c for c in frame.columns if frame[c].notna().any()]
    columns = resolve(list(frame.columns), layer, file_label=f"file {table.file}",
                      explicit=explicit, non_empty=filled)
    summary = ImportSummary(table.file, layer, columns, table.source_crs, dry_run=dry_run)
    rejected = [Rejection(table.file, row, fld, why) for row, fld, why in problems]
    bad_rows = {r.row for r in rejected}
    candidates = _check_rows(table, layer, columns, rejected, bad_rows, tick)
    candidates = _refuse_duplicates(table.file, layer, candidates, rejected)
    victims = import_records.VictimsRead()
    if layer == "accidents":
        victims = import_records.read_victims(path, table.file, rejected)
        if victims.source is not None:
            summary.companions.append(f"victims from {victims.source}")
            _refuse_orphan_victims(victims.source, victims.by_accident, candidates,
                                   rejected)
    if layer == "settlements":
        label = _attach_footprints(path, table.file, candidates, rejected, crs)
        if label is not None:
            summary.companions.append(f"footprints from {label}")
    if layer in REPORTED and not dry_run and organisation_code is None:
        raise ValidationError("import", "org", f"{layer} enter the record through a report: "
                                               "name the reporting organisation with --org")
    with repo.reader() as uow:
        if layer not in ATTRIBUTE_ONLY:
            candidates = _refuse_far(uow, table.file, candidates, rejected)
        plan = _compare(uow, table.file, layer, candidates, organisation_code, victims)
    rejected.extend(plan.rejected)
    summary.rejected = sorted(rejected, key=lambda r: (r.row, r.field))
    summary.created, summary.updated, summary.unchanged = (
        len(plan.new), len(plan.changed), plan.unchanged)
    summary.updates = sorted(Update(c.row, c.code or "", tuple(sorted(changed)))
                             for c, _row, changed in plan.changed)
    if dry_run:
        return summary
    if summary.rejected and not skip_invalid:
        summary.refused = True
        summary.created = summary.updated = summary.unchanged = 0
        summary.updates = []
        return summary
    reason = f"import {table.file}"
    if layer == "settlements":
        _write_settlements(repo, author, reason, plan, tick)
    elif layer == "teams":
        _write_teams(repo, author, reason, plan, tick)
    elif layer == "hazards":
        summary.report_code = _write_hazards(
            repo, author, table.file, plan, organisation_code or "",
            info_date or date.today(), approve, tick)
    else:
        summary.report_code = _write_report(
            repo, author, table.file, import_records.entries(layer, plan),
            organisation_code or "", info_date or date.today(), approve, tick)
    return summary


# --- pass 2: rows -----------------------------------------------------------------------

def _check_rows(table, layer: str, columns: dict[str, str], rejected: list[Rejection],
                bad_rows: set[int], tick: Progress) -> list[Candidate]:
    frame = table.frame
    cells_of = {fld: frame[col].tolist() for fld, col in columns.items()}
    out: list[Candidate] = []
    total = len(frame)
    word = table.row_word
    records = [f"{table.file} {word} {row}" for row in table.rows]
    if layer in ("findings", "accidents"):
        checked = _check_points(table.geometry, records)
    else:
        checked = {} if layer in ATTRIBUTE_ONLY else _check_polygons(table.geometry, records)
    for i, row in enumerate(table.rows):
        if i % _PROGRESS_EVERY == 0:
            tick("checking", i, total)
        cells = {fld: values[i] for fld, values in cells_of.items()}
        geometry = table.geometry[i] if table.geometry is not None else None
        record = records[i]
        if layer == "settlements":
            candidate, problems = rows_.settlement(cells, geometry, record, checked.get(i))
        elif layer == "teams":
            candidate, problems = rows_.team(cells, record)
        elif layer == "activities":
            candidate, problems = rows_.activity(cells, record)
        elif layer == "findings":
            candidate, problems = rows_.finding(cells, geometry, record, checked.get(i))
        elif layer == "accidents":
            candidate, problems = rows_.accident(cells, geometry, record, checked.get(i))
        else:
            candidate, problems = rows_.hazard(cells, geometry, record, checked.get(i))
        if row in bad_rows:  # its geometry was unreadable: already named by the reader
            candidate, problems = None, [p for p in problems if p[0] != "geometry"]
        if problems:
            rejected.extend(Rejection(table.file, row, fld, why) for fld, why in problems)
        if candidate is not None:
            candidate.row = row
            out.append(candidate)
    tick("checking", total, total)
    return out


def _check_polygons(geometry: np.ndarray | None, records: list[str]
                    ) -> dict[int, rows_.Checked]:
    """The geocheck of every polygon of the file at once (see geo.checks.check_polygons),
    by row index: the per-row parsers then take the result instead of checking again."""
    if geometry is None:
        return {}
    at = [i for i, g in enumerate(geometry.tolist()) if isinstance(g, Polygon | MultiPolygon)]
    if not at:
        return {}
    geoms, refused = check_polygons(geometry[at], [records[i] for i in at])
    return {i: (geoms[k], refused.get(k)) for k, i in enumerate(at)}


def _check_points(geometry: np.ndarray | None, records: list[str]
                  ) -> dict[int, rows_.Checked]:
    """The geocheck of every point of the file at once, by row index (as _check_polygons)."""
    if geometry is None:
        return {}
    at = [i for i, g in enumerate(geometry.tolist()) if g is not None]
    if not at:
        return {}
    geoms, refused = check_points(geometry[at], [records[i] for i in at], field="geometry")
    return {i: (geoms[k], refused.get(k)) for k, i in enumerate(at)}


def single_parts(geometry: np.ndarray) -> np.ndarray:
    """Multi-part geometries of one part as that part.

    A Shapefile or GeoPackage layer has one geometry type, so an export whose layer holds
    one multi-polygon writes every polygon as a multi-polygon of one part; the record
    keeps the polygon it had (a real multi-part area stays multi-part).
    """
    present = np.array([g is not None for g in geometry.tolist()], dtype=bool)
    if not present.any():
        return geometry
    kept = geometry[present]
    one = np.isin(shapely.get_type_id(kept), (4, 5, 6)) & \
        (shapely.get_num_geometries(kept) == 1)
    if not one.any():
        return geometry
    out = geometry.copy()
    kept = kept.copy()
    kept[one] = shapely.get_geometry(kept[one], 0)
    out[present] = kept
    return out


def _attach_footprints(path: Path, file: str, candidates: list[Candidate],
                       rejected: list[Rejection], crs: str | None) -> str | None:
    """Give settlements read as points their footprint from the companion layer.

    demine's export writes settlements as points and their footprints as a second layer
    (``settlement_footprints``, by code): read together, a settlement comes back with
    both. The layer is read like the file itself (same CRS rules); a footprint must be a
    valid polygon holding the settlement's point.
    """
    found_at = companion(path, "settlement_footprints")
    if found_at is None:
        return None
    source, label, layer = found_at
    try:
        table, problems = read_table(path if layer is not None else Path(source), crs=crs,
                                     sheet=layer)
    except ValidationError as exc:
        rejected.append(Rejection(label, 0, exc.field, exc.problem))
        return label
    rejected.extend(Rejection(label, row, fld, why) for row, fld, why in problems)
    code_column = next((c for c in table.frame.columns if str(c).strip().lower() == "code"),
                       None)
    if code_column is None or table.geometry is None:
        rejected.append(Rejection(label, 1, "code", "a footprint layer needs a code column "
                                                    "and polygons"))
        return label
    by_code = {c.code: c for c in candidates if c.values.get("footprint") is None}
    geoms = single_parts(table.geometry)
    for row, code, geom in zip(table.rows, table.frame[code_column].tolist(), geoms,
                               strict=True):
        c = by_code.get(str(code).strip())
        if c is None or geom is None:
            continue
        record = f"{label} {table.row_word} {row}"
        try:
            footprint = check_polygon(geom, record=record, field="geometry")
        except ValidationError as exc:
            rejected.append(Rejection(label, row, exc.field, exc.problem))
            continue
        if not footprint.buffer(1e-9).contains(c.values["point"]):
            rejected.append(Rejection(label, row, "geometry",
                                      f"the footprint of settlement {c.code} does not hold "
                                      "its point"))
            continue
        c.values["footprint"] = footprint
    return label


def _refuse_orphan_victims(label: str, victims: dict[str, list[dict[str, Any]]],
                           candidates: list[Candidate], rejected: list[Rejection]) -> None:
    """Victims of an accident the file does not hold (or refused) cannot be placed."""
    known = {c.code for c in candidates}
    for code in sorted(set(victims) - known):
        rejected.append(Rejection(label, 0, "accident_code",
                                  f"{len(victims.pop(code))} victim(s) of accident {code}, "
                                  "which is not an accepted row of the accidents layer"))


def _refuse_duplicates(file: str, layer: str, candidates: list[Candidate],
                       rejected: list[Rejection]) -> list[Candidate]:
    """Refuse *every* row of a repeated code or shape: which one is right is not ours to pick."""
    groups: dict[tuple[str, Any], list[Candidate]] = defaultdict(list)
    shaped = [c for c in candidates if c.geometry is not None]
    keys = shape_keys([c.geometry for c in shaped]) if shaped else []
    for c in candidates:
        if c.code:  # findings have no code of their own
            groups[("code", c.code)].append(c)
    for c, key in zip(shaped, keys, strict=True):
        groups[("geometry", key)].append(c)
    refused: set[int] = set()
    for (kind, _key), group in groups.items():
        if len(group) < 2:
            continue
        for c in group:
            others = ", ".join(str(o.row) for o in group if o is not c)
            if kind == "code":
                problem = f"code {c.code!r} appears again on row(s) {others}; codes are unique"
            else:
                what = "point" if c.geometry.geom_type == "Point" else "shape"
                problem = f"duplicate {what}: the same {what} as row(s) {others}"
            rejected.append(Rejection(file, c.row, "code" if kind == "code" else "geometry",
                                      problem))
            refused.add(c.row)
    return [c for c in candidates if c.row not in refused]


def _project_extent(uow: UnitOfWork) -> tuple[float, float, float, float] | None:
    geoms: list[BaseGeometry] = []
    for table, column in ((s.settlements, s.settlements.c.geom),
                          (s.hazard_areas, s.hazard_areas.c.geom)):
        geoms.extend(g for (g,) in uow.conn.execute(select(column).select_from(table))
                     if g is not None)
    if not geoms:
        return None
    return tuple(shapely.total_bounds(np.asarray(geoms, dtype=object)).tolist())


def _refuse_far(uow: UnitOfWork, file: str, candidates: list[Candidate],
                rejected: list[Rejection]) -> list[Candidate]:
    """Refuse features far outside the area the project's data already covers."""
    extent = _project_extent(uow)
    if extent is None or not candidates:
        return candidates
    minx, miny, maxx, maxy = extent
    pad_lat = MAX_DISTANCE_FROM_PROJECT_KM / _KM_PER_DEGREE
    widest = min(89.0, max(abs(miny), abs(maxy)) + pad_lat)
    pad_lon = pad_lat / max(math.cos(math.radians(widest)), 0.05)
    bounds = shapely.bounds(np.asarray([c.geometry for c in candidates], dtype=object))
    far = (bounds[:, 0] < minx - pad_lon) | (bounds[:, 2] > maxx + pad_lon) | \
        (bounds[:, 1] < miny - pad_lat) | (bounds[:, 3] > maxy + pad_lat)
    for c in np.asarray(candidates, dtype=object)[far]:
        x, y = c.geometry.centroid.coords[0]
        rejected.append(Rejection(
            file, c.row, "geometry",
            f"({x:.5f}, {y:.5f}) is more than {MAX_DISTANCE_FROM_PROJECT_KM:.0f} km outside "
            f"the project's area ({minx:.3f}, {miny:.3f}, {maxx:.3f}, {maxy:.3f}): "
            "swapped lon/lat or a wrong CRS?"))
    return [c for c, f in zip(candidates, far, strict=True) if not f]


def _stored(uow: UnitOfWork, table: Table, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    query = select(table).where(one_of(uow.repo.dialect, table.c.code, codes))
    return {row["code"]: dict(row) for row in uow.conn.execute(query).mappings()}


def _compare(uow: UnitOfWork, file: str, layer: str, candidates: list[Candidate],
             organisation_code: str | None, victims: import_records.VictimsRead) -> Plan:
    if layer == "settlements":
        return _compare_settlements(uow, file, candidates)
    if layer == "teams":
        return _compare_teams(uow, file, candidates)
    if layer in REPORTED and organisation_code is not None and uow.row(
            s.organisations, code=organisation_code) is None:
        raise ValidationError("import", "org", f"organisation {organisation_code!r} "
                                               "does not exist")
    if layer == "activities":
        return import_records.compare_activities(uow, file, candidates)
    if layer == "findings":
        return import_records.compare_findings(uow, file, candidates)
    if layer == "accidents":
        return import_records.compare_accidents(uow, file, candidates, victims)
    return _compare_hazards(uow, file, candidates, organisation_code)


def _differences(stored: dict[str, Any], values: dict[str, Any],
                 geometry_fields: Iterable[str] = ()) -> dict[str, Any]:
    geometric = set(geometry_fields)
    changed: dict[str, Any] = {}
    for key, value in values.items():
        old = stored.get(key)
        if key in geometric:
            same = same_shape(old, value)
        elif isinstance(value, float) or isinstance(old, float):
            same = old is not None and value is not None and abs(float(old) - value) < 1e-9
        else:
            same = old == value
        if not same:
            changed[key] = value
    return changed


def _compare_settlements(uow: UnitOfWork, file: str, candidates: list[Candidate]) -> Plan:
    plan = Plan()
    stored = _stored(uow, s.settlements, [c.code for c in candidates])
    for c in candidates:
        row = stored.get(c.code)
        if row is None:
            plan.new.append(c)
            continue
        clash = label_clash("settlement", c.code, row, c.values)
        if clash:
            plan.rejected.append(Rejection(file, c.row, "synthetic", clash))
            continue
        current = {**row, "point": row["geom"]}
        values = {k: v for k, v in c.values.items() if k != "synthetic"}
        changed = _differences(current, values, ("point", "footprint"))
        if changed:
            plan.changed.append((c, row, changed))
        else:
            plan.unchanged += 1
    return plan


def _compare_teams(uow: UnitOfWork, file: str, candidates: list[Candidate]) -> Plan:
    plan = Plan()
    orgs = dict(uow.conn.execute(select(s.organisations.c.code, s.organisations.c.id)).all())
    stored = _stored(uow, s.teams, [c.code for c in candidates])
    for c in candidates:
        org = c.values["organisation_code"]
        if org not in orgs:
            plan.rejected.append(Rejection(
                file, c.row, "organisation_code",
                f"organisation {org!r} does not exist; add it before importing its teams"))
            continue
        values = {k: v for k, v in c.values.items() if k != "organisation_code"}
        values["organisation_id"] = int(orgs[org])
        c.values = values
        row = stored.get(c.code)
        if row is None:
            plan.new.append(c)
            continue
        clash = label_clash("team", c.code, row, values)
        if clash:
            plan.rejected.append(Rejection(file, c.row, "synthetic", clash))
            continue
        changed = _differences(row, {k: v for k, v in values.items() if k != "synthetic"})
        if changed:
            plan.changed.append((c, row, changed))
        else:
            plan.unchanged += 1
    return plan


def _pending_hazards(uow: UnitOfWork, codes: Sequence[str]) -> dict[str, tuple[str, Any]]:
    """New-hazard entries not yet decided: {hazard code: (report code, geometry)}."""
    e, r = s.report_entries, s.reports
    open_statuses = (ReportStatus.DRAFT.value, ReportStatus.SUBMITTED.value)
    query = (select(e.c.hazard_code, r.c.code, e.c.payload)
             .join(r, r.c.id == e.c.report_id)
             .where(e.c.kind == "new_hazard", one_of(uow.repo.dialect, e.c.hazard_code, codes),
                    r.c.status.in_(open_statuses)))
    return {hazard_code: (report_code, shapely.geometry.shape(payload["geometry"]))
            for hazard_code, report_code, payload in uow.conn.execute(query)}


def _pending_revisions(uow: UnitOfWork, codes: Sequence[str]) -> dict[str, tuple[str, dict]]:
    """Hazard revisions not yet decided: {hazard code: (report code, the attributes the
    open reports will set, later entries over earlier ones)}."""
    wanted = set(codes)
    out: dict[str, tuple[str, dict]] = {}
    for report_code, payload in import_records.open_entries(
            uow, ChangeKind.HAZARD_REVISION.value):
        code = payload.get("hazard_code") if isinstance(payload, dict) else None
        if code in wanted:
            _, earlier = out.get(code, ("", {}))
            out[code] = (report_code, {**earlier, **{
                k: v for k, v in payload.items() if k in REVISABLE_HAZARD_ATTRIBUTES}})
    return out


def _hazard_attributes(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored hazard's revisable attributes as an import row gives them (lists as
    sets: the order a file gives them in is kept, not compared)."""
    return {"name": row["name"], "classification": row["declared_classification"],
            "eo_suspected": sorted(row["eo_suspected"] or []),
            "blockages": sorted(row["blockages"] or [])}


_BOUNDARY = "hazard boundaries change through survey (cancel/reduce), not by import"


def _compare_hazards(uow: UnitOfWork, file: str, candidates: list[Candidate],
                     organisation_code: str | None) -> Plan:
    plan = Plan()
    if organisation_code is not None and uow.row(s.organisations,
                                                 code=organisation_code) is None:
        raise ValidationError("import", "org", f"organisation {organisation_code!r} "
                                               "does not exist")
    codes = [c.code for c in candidates]
    stored = _stored(uow, s.hazard_areas, codes)
    pending = _pending_hazards(uow, [c for c in codes if c not in stored])
    revising = _pending_revisions(uow, [c for c in codes if c in stored])
    for c in candidates:
        row = stored.get(c.code)
        if row is None and c.code in pending:
            report_code, geometry = pending[c.code]
            if same_shape(geometry, c.geometry):
                plan.unchanged += 1
            else:
                plan.rejected.append(Rejection(
                    file, c.row, "geometry",
                    f"hazard {c.code} awaits approval in report {report_code} with another "
                    "boundary; approve or reject that report first"))
            continue
        if row is None:
            plan.new.append(c)
            continue
        if not same_shape(row["geom"], c.geometry):
            plan.rejected.append(Rejection(file, c.row, "geometry",
                                           f"hazard {c.code}: {_BOUNDARY}"))
            continue
        clash = label_clash("hazard", c.code, row, c.values)
        if clash:
            plan.rejected.append(Rejection(file, c.row, "synthetic", clash))
            continue
        current = _hazard_attributes(row)
        given = {k: sorted(v) if k in ("eo_suspected", "blockages") else v
                 for k, v in c.values.items() if k != "synthetic"}
        if c.code in revising:
            report_code, awaited = revising[c.code]
            after = {**current, **{k: sorted(v) if isinstance(v, list) else v
                                   for k, v in awaited.items()}}
            if _differences(after, given):
                plan.rejected.append(Rejection(
                    file, c.row, sorted(_differences(after, given))[0],
                    f"hazard {c.code} awaits a revision in report {report_code} with other "
                    "values; approve or reject that report first"))
            else:
                plan.unchanged += 1
            continue
        changed = _differences(current, given)
        if changed:  # the file's own order of the lists is what gets recorded
            plan.changed.append((c, row, {k: c.values[k] for k in changed}))
        else:
            plan.unchanged += 1
    return plan


# --- pass 3: writes ---------------------------------------------------------------------

def _write_settlements(repo: Repository, author: str, reason: str, plan: Plan,
                       tick: Progress) -> None:
    if not plan.new and not plan.changed:
        return
    total = len(plan.new) + len(plan.changed)
    with repo.unit(author, reason) as uow:
        tick("writing", 0, total)
        new_ids = bulk.load_settlements(uow, [Settlement(
            code=c.code, name=c.values.get("name", c.code), admin_area=c.values.get(
                "admin_area", ""), point=c.values["point"], population=c.values["population"],
            footprint=c.values.get("footprint"), synthetic=c.values.get("synthetic", False))
            for c in plan.new])
        tick("writing", len(plan.new), total)
        for done, (c, row, changed) in enumerate(plan.changed, start=len(plan.new) + 1):
            if "footprint" in changed or "point" in changed:
                # the point and footprint are checked together; a file of points leaves
                # the stored footprint as it is
                changed["point"] = c.values["point"]
                if "footprint" in c.values:
                    changed["footprint"] = c.values["footprint"]
            reference.update_settlement(uow, c.code, row["version"], changed)
            if done % _PROGRESS_EVERY == 0:
                tick("writing", done, total)
        if new_ids:
            status.refresh(uow, new_ids)
        tick("writing", total, total)


def _write_teams(repo: Repository, author: str, reason: str, plan: Plan,
                 tick: Progress) -> None:
    if not plan.new and not plan.changed:
        return
    total = len(plan.new) + len(plan.changed)
    orgs: dict[int, str] = {}
    with repo.unit(author, reason) as uow:
        orgs = {int(i): c for c, i in uow.conn.execute(
            select(s.organisations.c.code, s.organisations.c.id))}
        for done, c in enumerate(plan.new, start=1):
            v = c.values
            reference.add_team(uow, Team(
                code=c.code, organisation_code=orgs[v["organisation_id"]],
                asset_type=AssetType(v["asset_type"]), headcount=v["headcount"],
                productivity_m2_day=v["productivity_m2_day"],
                working_width_m=v.get("working_width_m"), available=v.get("available", True),
                synthetic=v.get("synthetic", False)))
            if done % _PROGRESS_EVERY == 0:
                tick("writing", done, total)
        for _c, row, changed in plan.changed:
            uow.update(s.teams, row["id"], changed, expected_version=row["version"])
        tick("writing", total, total)


def _write_hazards(repo: Repository, author: str, file: str, plan: Plan, organisation: str,
                   info_date: date, approve: bool, tick: Progress) -> str | None:
    """The new hazards of an import as ``new_hazard`` entries of one report, and the
    changed attributes of hazards on the record as ``hazard_revision`` entries of it:
    approved, each revision is a new version of its hazard, audited with the report.

    The rows' polygons passed the geocheck in pass 2 (:func:`_check_polygons`, the check
    a draft runs) and their values were parsed there, so the entries go to the draft
    already parsed (:func:`reports.new_hazard_entries`).
    """
    typed: dict[tuple[type, tuple[str, ...]], tuple] = {}  # a few distinct lists

    def members(enum: type, values: list[str]) -> tuple:
        key = (enum, tuple(values))
        if key not in typed:
            typed[key] = tuple(enum(v) for v in dict.fromkeys(values))
        return typed[key]

    hazards = [HazardArea(
        code=c.code, name=c.values.get("name", c.code),
        classification=HazardClass(c.values.get("classification", "SHA")),
        polygon=c.geometry, eo_suspected=members(EOCategory, c.values.get("eo_suspected", [])),
        blockages=members(Blockage, c.values.get("blockages", [])),
        synthetic=bool(c.values.get("synthetic", False))) for c in plan.new]
    revisions = [(ChangeKind.HAZARD_REVISION.value, {"hazard_code": c.code, **changed})
                 for c, _row, changed in plan.changed]
    return _write_report(repo, author, file, [*reports.new_hazard_entries(hazards), *revisions],
                         organisation, info_date, approve, tick)


def _write_report(repo: Repository, author: str, file: str,
                  entries: Sequence[tuple[str, dict[str, Any]] | reports.Prepared],
                  organisation: str, info_date: date, approve: bool, tick: Progress
                  ) -> str | None:
    """One report per import: drafted, submitted, and approved only when asked.

    Three transactions (the report workflow's own): a failed approval leaves the report
    submitted in the queue, where an information manager sees why. The approval takes
    the entries as the draft parsed them (see :func:`reports.approve`).
    """
    if not entries:
        return None
    total = len(entries)
    tick("reporting", 0, total)
    # a report of synthetic records only is itself exercise data
    synthetic = all(_synthetic(entry) for entry in entries)
    drafted = reports.draft(repo, author=author, organisation_code=organisation,
                            info_date=info_date, entries=entries, summary=f"import {file}",
                            synthetic=synthetic)
    reports.submit(repo, drafted.code, author)
    tick("reporting", total // 2, total)
    if approve:
        reports.approve(repo, drafted.code, author, drafted=drafted)
    tick("reporting", total, total)
    return drafted.code


def _synthetic(entry: tuple[str, dict[str, Any]] | reports.Prepared) -> bool:
    if isinstance(entry, reports.Prepared):
        return isinstance(entry.change, NewHazard) and entry.change.hazard.synthetic
    return bool(entry[1].get("synthetic"))


__all__ = ["FIELDS", "MAX_DISTANCE_FROM_PROJECT_KM", "ImportSummary", "Rejection", "Update",
           "import_file"]
