"""The demo district: the same story for the same seed, valid data, loadable anywhere.

The demo is the first thing a newcomer sees and the data set other tests and the
benchmarks lean on, so it must be reproducible, geometrically clean, labelled synthetic
in every record, and tell the same story (37 of 64 settlements closed) on both stores.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from sqlalchemy import func, select, text

from demine.domain.entities import Organisation
from demine.domain.errors import DemineError
from demine.domain.vocab import (
    AccidentType,
    ActivityStatus,
    AssetType,
    ChangeKind,
    HazardStatus,
    OrganisationKind,
    ReleaseMethod,
    VictimRole,
)
from demine.geo.checks import check_point, check_polygon
from demine.geo.crs import MetricFrame
from demine.scenario import (
    DEMO_DATE,
    District,
    LoadSummary,
    closed_settlement_codes,
    generate_district,
    load_demo,
)
from demine.service import reference
from demine.store import schema as s
from demine.store.repository import Repository

SYNTHETIC_TABLES = (s.organisations, s.teams, s.settlements, s.roads, s.reports,
                    s.hazard_areas, s.activities, s.findings, s.accidents)


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(7)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Repository, LoadSummary,
                                                                       list[tuple]]]:
    """One SQLite database holding the demo, shared by the read-only checks below."""
    path = tmp_path_factory.mktemp("demo") / "d.sqlite"
    repo = Repository.open(f"sqlite:///{path}")
    calls: list[tuple] = []
    summary = load_demo(repo, progress=lambda stage, done, total: calls.append(
        (stage, done, total)))
    yield repo, summary, calls
    repo.close()


def _count(repo: Repository, table, *where) -> int:
    with repo.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def _payload_geometries(district: District) -> Iterator[tuple[str, object]]:
    for report in district.reports:
        for seq, (_, payload) in enumerate(report.entries, start=1):
            label = f"{report.code} entry {seq}"
            if "geometry" in payload:
                yield label, payload["geometry"]
            for n, outcome in enumerate(payload.get("outcomes", ())):
                yield f"{label} outcome {n}", outcome["geometry"]


# -- generation ---------------------------------------------------------------------------


def test_same_seed_gives_the_same_district(district: District) -> None:
    again = generate_district(7)
    assert again.fingerprint() == district.fingerprint()
    assert [st.name for st in again.settlements] == [st.name for st in district.settlements]
    assert again.reports == district.reports


def test_another_seed_gives_another_district(district: District) -> None:
    other = generate_district(8)
    assert other.fingerprint() != district.fingerprint()
    assert [st.name for st in other.settlements] != [st.name for st in district.settlements]
    assert len(other.closed_expected) == len(district.closed_expected) == 37


@pytest.mark.parametrize("seed", [1, 2, 3, 42])
def test_every_seed_tells_the_story(seed: int) -> None:
    d = generate_district(seed)
    assert len(d.settlements) == 64
    assert len(d.closed_at_survey) == 38
    assert len(d.closed_expected) == 37


def test_fleet_and_organisations(district: District) -> None:
    kinds = {o.code: o.kind for o in district.organisations}
    assert kinds["MAC"] is OrganisationKind.NMAA
    assert list(kinds.values()).count(OrganisationKind.OPERATOR) in (2, 3)
    assert OrganisationKind.QA_BODY in kinds.values()
    by_type: dict[AssetType, list] = {}
    for team in district.teams:
        by_type.setdefault(team.asset_type, []).append(team)
        assert team.organisation_code in kinds
    # Reference figures: 10-50 m² per deminer a day, MDD pair 800-900, light flail 4-5,000.
    assert all(10 <= t.productivity_m2_day / t.headcount <= 50
               for t in by_type[AssetType.MANUAL_TEAM])
    assert all(800 <= t.productivity_m2_day <= 900 for t in by_type[AssetType.MDD_TEAM])
    robots = by_type[AssetType.ROBOTIC_PLATFORM]
    assert len(robots) >= 2
    assert all(4000 <= t.productivity_m2_day <= 5000 and 1.7 <= t.working_width_m <= 2.6
               for t in robots)
    assert 1 <= len(by_type[AssetType.MECHANICAL]) <= 2


def test_settlements_and_roads(district: District) -> None:
    codes = [st.code for st in district.settlements]
    assert codes == [f"STL-{i:03d}" for i in range(1, 65)]
    assert len({st.name for st in district.settlements}) == 64
    assert all(50 <= st.population <= 5000 for st in district.settlements)
    assert max(st.population for st in district.settlements) >= 4000
    assert 2 <= len({st.admin_area for st in district.settlements}) <= 6
    footprints = [st for st in district.settlements if st.footprint is not None]
    assert 0 < len(footprints) < 64
    for st in district.settlements:
        check_point(st.point, record=st.code)
        if st.footprint is not None:
            check_polygon(st.footprint, record=st.code)
            assert st.footprint.contains(st.point)
    classes = {road.road_class for road in district.roads}
    assert {c.value for c in classes} == {"primary", "secondary", "track"}
    # Roads join every settlement into one network.
    points = shapely.points([(st.point.x, st.point.y) for st in district.settlements])
    tree = shapely.STRtree(points)
    links = [(int(tree.nearest(shapely.get_point(r.line, 0))),
              int(tree.nearest(shapely.get_point(r.line, -1)))) for r in district.roads]
    reached = {0}
    while True:
        grown = reached | {b for a, b in links if a in reached} | {
            a for a, b in links if b in reached}
        if grown == reached:
            break
        reached = grown
    assert len(reached) == 64


def test_district_lies_on_the_uncontaminated_plain(district: District) -> None:
    """About 25 x 20 km around lon 171.6, lat -43.6, and nowhere else."""
    frame = MetricFrame.for_centroid(171.6, -43.6)
    centre = frame.to_metric(shapely.Point(171.6, -43.6))
    area = box(centre.x - 12_600, centre.y - 10_100, centre.x + 12_600, centre.y + 10_100)
    everything = [st.point for st in district.settlements] + \
        [h.polygon for h in district.hazards] + [r.line for r in district.roads]
    assert all(area.contains(frame.to_metric(g)) for g in everything)


def test_hazard_polygons_are_valid_sized_and_disjoint(district: District) -> None:
    polygons = [h.polygon for h in district.hazards]
    for h in district.hazards:
        check_polygon(h.polygon, record=h.code)
        assert 5_000 <= h.original_m2 <= 300_000, h.code
    tree = shapely.STRtree(polygons)
    a, b = tree.query(polygons, predicate="intersects")
    assert all(i == j for i, j in zip(a.tolist(), b.tolist(), strict=True))
    with_holes = [p for p in polygons if isinstance(p, Polygon) and p.interiors]
    multi = [p for p in polygons if isinstance(p, MultiPolygon)]
    assert with_holes or multi


def test_every_geometry_in_the_reports_passes_the_geocheck(district: District) -> None:
    for label, geom in _payload_geometries(district):
        if geom.geom_type == "Point":
            check_point(geom, record=label)
        else:
            check_polygon(geom, record=label)


def test_hazards_carry_mines_evidence_and_blockages(district: District) -> None:
    eo = {e.value for h in district.hazards for e in h.eo_suspected}
    assert {"ap_mine", "at_mine"} <= eo
    kinds = {e.kind.value for h in district.hazards for e in h.evidence}
    assert kinds == {"direct", "indirect"}
    assert {h.classification.value for h in district.hazards} == {"SHA", "CHA"}
    assert all(h.blockages for h in district.hazards)


def test_work_and_accidents_tell_the_story(district: District) -> None:
    statuses = {a.status for a in district.activities}
    assert {ActivityStatus.COMPLETED, ActivityStatus.IN_PROGRESS, ActivityStatus.SUSPENDED,
            ActivityStatus.PLANNED} <= statuses
    suspended = [a for a in district.activities if a.status is ActivityStatus.SUSPENDED]
    assert suspended and all(a.suspension_reason for a in suspended)
    methods = {o.method for a in district.activities for o in a.outcomes}
    assert methods == {ReleaseMethod.CLEARED, ReleaseMethod.REDUCED, ReleaseMethod.CANCELLED}
    released = [h for h in district.hazards if h.status is HazardStatus.RELEASED]
    assert any(h.cleared_m2 > 0 and h.cancelled_m2 == h.reduced_m2 == 0 for h in released)
    models = {f.model for f in district.findings}
    assert models & {"PMN-2", "PMN-1", "PFM-1", "OZM-72", "MON-50", "POM-2"}
    accidents = {a.type: a for a in district.accidents}
    demining = accidents[AccidentType.DEMINING]
    assert demining.activity_code in {a.code for a in suspended}
    assert demining.victims[0].role is VictimRole.DEMINER
    assert accidents[AccidentType.MINE_ERW].victims[0].role is VictimRole.CIVILIAN


def test_every_record_is_labelled_synthetic(district: District) -> None:
    assert all(record.synthetic is True for record in district.records())
    for report in district.reports:
        assert "synthetic" in report.summary.lower()
        for _, payload in report.entries:
            assert payload["synthetic"] is True


def test_reports_are_dated_in_the_two_months_before_the_demo(district: District) -> None:
    days = [r.info_date for r in district.reports]
    assert days == sorted(days)
    assert all(DEMO_DATE - timedelta(days=70) <= d < DEMO_DATE for d in days)
    assert district.reports[0].entries[0][0] == ChangeKind.NEW_HAZARD.value
    assert {r.author for r in district.reports} >= {"op.fdu", "op.rcs", "op.ebn"}


# -- loading --------------------------------------------------------------------------------


def test_load_gives_the_expected_closed_settlements(loaded, district: District) -> None:
    repo, summary, _ = loaded
    closed = _count(repo, s.settlements, s.settlements.c.status == "closed")
    assert 35 <= closed <= 39
    assert closed == 37 == summary.settlements_closed
    assert closed_settlement_codes(repo) == sorted(district.closed_expected)
    assert _count(repo, s.settlements) == summary.settlements_total == 64
    assert not summary.already_loaded
    assert "37 of 64 settlements closed" in summary.message()


def test_load_records_released_hazards_findings_and_accidents(loaded, district) -> None:
    repo, _, _ = loaded
    assert _count(repo, s.hazard_areas, s.hazard_areas.c.status == "released") >= 1
    assert _count(repo, s.hazard_areas, s.hazard_areas.c.status == "released",
                  s.hazard_areas.c.cleared_m2 > 0) >= 1
    assert _count(repo, s.findings) == len(district.findings) > 0
    assert _count(repo, s.accidents) == 2
    assert _count(repo, s.victims) == 2
    assert _count(repo, s.reports, s.reports.c.status == "approved") == len(district.reports)
    with repo.engine.connect() as conn:
        rows = conn.execute(select(s.hazard_areas.c.code, s.hazard_areas.c.status,
                                   s.hazard_areas.c.remaining_m2)).all()
    stored = {code: (st, rem) for code, st, rem in rows}
    for h in district.hazards:
        assert stored[h.code][0] == h.status.value
        assert stored[h.code][1] == pytest.approx(h.remaining_m2, abs=0.5)


def test_every_loaded_row_is_synthetic(loaded) -> None:
    repo, _, _ = loaded
    for table in SYNTHETIC_TABLES:
        assert _count(repo, table) > 0, table.name
        assert _count(repo, table, table.c.synthetic.is_(False)) == 0, table.name


def test_progress_reports_every_stage(loaded, district: District) -> None:
    _, _, calls = loaded
    stages = [c[0] for c in calls]
    assert set(stages) == {"organisations", "teams", "roads", "settlements", "reports"}
    assert ("reports", len(district.reports), len(district.reports)) in calls
    assert ("settlements", 64, 64) in calls


def test_loading_again_changes_nothing(loaded) -> None:
    repo, _, _ = loaded
    before = _count(repo, s.audit_log)
    again = load_demo(repo)
    assert again.already_loaded
    assert again.settlements_closed == 37
    assert _count(repo, s.audit_log) == before
    assert "already loaded" in again.message()


def test_another_seed_is_refused_on_a_demo_database(loaded) -> None:
    repo, _, _ = loaded
    before = _count(repo, s.audit_log)
    with pytest.raises(DemineError, match="seed 7, not 8"):
        load_demo(repo, seed=8)
    assert _count(repo, s.audit_log) == before


def test_a_database_with_other_data_is_refused(tmp_path: Path) -> None:
    repo = Repository.open(f"sqlite:///{tmp_path}/other.sqlite")
    with repo.unit("im.test", "a real programme") as uow:
        reference.add_organisation(uow, Organisation("NMA", "National MAC",
                                                     OrganisationKind.NMAA))
    with pytest.raises(DemineError, match="not empty"):
        load_demo(repo)
    assert _count(repo, s.settlements) == 0
    repo.close()


def test_both_stores_agree_on_the_closed_settlements(db_url: str, district: District) -> None:
    repo = Repository.open(db_url)
    try:
        summary = load_demo(repo)
        with repo.engine.connect() as conn:
            closed = conn.execute(
                text("SELECT count(*) FROM settlements WHERE status = 'closed'")).scalar_one()
        assert closed == summary.settlements_closed == 37
        assert closed_settlement_codes(repo) == sorted(district.closed_expected)
        assert summary.hazards_released == sum(
            h.status is HazardStatus.RELEASED for h in district.hazards)
    finally:
        repo.close()


def test_hazards_never_overlap_each_other_in_pairs(district: District) -> None:
    """A second, plain check of disjointness (the tree query can hide a bad predicate)."""
    polygons = [h.polygon for h in district.hazards]
    for p, q in itertools.combinations(polygons, 2):
        if p.envelope.intersects(q.envelope):
            assert not p.intersects(q)
