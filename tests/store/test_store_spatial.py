"""Spatial search and settlement closure in the store, checked against plain shapely.

The two backends cannot be loaded in one test (each test gets one backend), so each is
compared with the same independent answer: the pure domain closure computed from the
geometries the test itself drew, and a brute-force distance check.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
import shapely
from demine_world import World
from shapely.geometry import Point, box

from demine.domain.settlements import closures
from demine.service import status
from demine.store import schema as s

CELL, SIZE, N = 300.0, 200.0, 6   # objects fill [i*300, i*300+200]; gaps are 100 m wide


def grid_boxes() -> dict[str, tuple[int, int]]:
    return {f"HA-{i}-{j}": (i, j) for i in range(N) for j in range(N)}


def ids_by_code(w: World, table) -> dict[str, int]:
    with w.repo.engine.connect() as conn:
        return dict(conn.execute(code_and_id(table)).all())


def code_and_id(table):
    return table.select().with_only_columns(table.c.code, table.c.id)


def bbox_search(w: World, table: str, column: str, bbox) -> set[int]:
    with w.repo.engine.connect() as conn:
        return set(w.repo.spatial.ids_intersecting_bbox(conn, table, column, bbox))


@pytest.fixture
def gridded(world: World) -> World:
    entries = [world.hazard_entry(code, box(i * CELL, j * CELL, i * CELL + SIZE, j * CELL + SIZE))
               for code, (i, j) in grid_boxes().items()]
    world.file(date(2026, 1, 5), entries)
    for i in range(N):
        world.settlement(f"S-{i}", Point(i * CELL + SIZE / 2, -CELL))
    return world


def test_bbox_search_on_wgs84_and_metric_columns(gridded: World):
    w = gridded
    ids = ids_by_code(w, s.hazard_areas)
    sids = ids_by_code(w, s.settlements)
    drawn = {code: box(i * CELL, j * CELL, i * CELL + SIZE, j * CELL + SIZE)
             for code, (i, j) in grid_boxes().items()}
    rng = random.Random(11)
    gaps = [k * CELL + SIZE + (CELL - SIZE) / 2 for k in range(-1, N + 1)]  # mid-gap lines
    queries = [(gaps[0], gaps[0], gaps[-1], gaps[-1]), (gaps[1], gaps[1], gaps[2], gaps[2])]
    for _ in range(20):
        x0, x1 = sorted(rng.sample(gaps, 2))
        y0, y1 = sorted(rng.sample(gaps, 2))
        queries.append((x0, y0, x1, y1))
    for query in queries:
        local_query = box(*query)
        # metric column: the query is a box on the project's plane
        metric_query = shapely.affinity.translate(local_query, w.ox, w.oy).bounds
        expected = {ids[c] for c, g in drawn.items() if g.intersects(local_query)}
        assert bbox_search(w, "hazard_areas", "remaining_m", metric_query) == expected, query
        # WGS84 column: a lon/lat box against the envelopes of what was drawn
        lonlat_query = w.wgs(local_query).bounds
        expected_wgs = {ids[c] for c, g in drawn.items()
                        if box(*w.wgs(g).bounds).intersects(box(*lonlat_query))}
        assert bbox_search(w, "hazard_areas", "geom", lonlat_query) == expected_wgs, query
        # settlements' closure geometry (points 300 m south of the first row)
        expected_s = {sids[f"S-{i}"] for i in range(N)
                      if Point(i * CELL + SIZE / 2, -CELL).intersects(local_query)}
        assert bbox_search(w, "settlements", "closure_m", metric_query) == expected_s, query

    # a released hazard leaves the index of remaining land, but not that of outlines
    w.file(date(2026, 2, 1), [w.activity_entry(
        "ACT-00", "HA-0-0", [("cleared", box(0, 0, SIZE, SIZE))], type="clearance",
        status="completed")])
    everything = box(-CELL, -CELL, N * CELL, N * CELL)
    metric = shapely.affinity.translate(everything, w.ox, w.oy)
    found = bbox_search(w, "hazard_areas", "remaining_m", metric.bounds)
    assert found == set(ids.values()) - {ids["HA-0-0"]}
    assert ids["HA-0-0"] in bbox_search(w, "hazard_areas", "geom", w.wgs(everything).bounds)


def test_closures_in_the_store_match_the_pure_domain_result(world: World):
    rng = random.Random(20260301)
    w = world
    extent = 4_000.0
    settlements: dict[str, object] = {}
    for k in range(36):
        x, y = rng.uniform(0, extent), rng.uniform(0, extent)
        if k % 4 == 0:
            w_, h_ = rng.uniform(50, 400), rng.uniform(50, 400)
            settlements[f"S-{k:02d}"] = box(x, y, x + w_, y + h_)
        else:
            settlements[f"S-{k:02d}"] = Point(x, y)
    hazards: dict[str, object] = {}
    for k in range(24):
        x, y = rng.uniform(0, extent), rng.uniform(0, extent)
        hazards[f"HA-{k:02d}"] = box(x, y, x + rng.uniform(30, 400), y + rng.uniform(30, 400))
    fate = {code: rng.choice(["open", "released", "partial"]) for code in hazards}

    # half the settlements exist before the hazards, half are added after
    codes = sorted(settlements)

    def add_settlement(code):
        g = settlements[code]
        if isinstance(g, Point):
            w.settlement(code, g)
        else:
            w.settlement(code, g.centroid, footprint=g)

    for code in codes[::2]:
        add_settlement(code)
    w.file(date(2026, 1, 5), [w.hazard_entry(c, g) for c, g in hazards.items()])
    for code in codes[1::2]:
        add_settlement(code)
    released_parts: dict[str, object] = {}
    for n, (code, g) in enumerate(sorted(hazards.items())):
        if fate[code] == "open":
            continue
        # a partial release here is an inner block: what a cut along the hazard's own
        # edges does to the remainder is tested in tests/workflow and tests/domain
        part = g if fate[code] == "released" else g.buffer(-10.0, join_style="mitre")
        released_parts[code] = part
        w.file(date(2026, 2, 1), [w.activity_entry(
            f"ACT-{n}", code, [("cleared", part)], type="clearance", status="completed")])

    # the expected answer, from the drawn geometries through the project's own frame
    frame = w.repo.settings().frame
    s_codes = sorted(settlements)
    s_metric = [frame.to_metric(w.wgs(settlements[c])) for c in s_codes]
    h_codes = [c for c in sorted(hazards) if fate[c] != "released"]
    h_metric = []
    for c in h_codes:
        whole = frame.to_metric(w.wgs(hazards[c]))
        if c in released_parts:
            whole = whole.difference(frame.to_metric(w.wgs(released_parts[c])))
        h_metric.append(whole)
    distance = w.repo.settings().closure_distance_m
    assert distance == 500.0
    for sg in s_metric:  # no pair sits on the threshold, where rounding could decide
        for hg in h_metric:
            assert abs(shapely.distance(sg, hg) - distance) > 0.01
    result = closures(s_metric, h_metric, distance)
    expected = {(s_codes[i], h_codes[j]) for i, j in zip(
        result.settlement_index.tolist(), result.hazard_index.tolist(), strict=True)}
    brute = {(s_codes[i], h_codes[j]) for i, sg in enumerate(s_metric)
             for j, hg in enumerate(h_metric) if shapely.distance(sg, hg) <= distance}
    assert expected == brute
    assert 0 < len({sc for sc, _ in expected}) < len(s_codes)  # some closed, some open

    got = {(sc, hc) for sc in s_codes for hc in w.blockers(sc)}
    assert got == expected
    for code in s_codes:
        want = "closed" if any(sc == code for sc, _ in expected) else "open"
        assert w.settlement_row(code)["status"] == want, code

    # a full recompute agrees with what the incremental updates left behind
    with w.repo.unit("im.alice", "full recompute") as uow:
        changes = status.refresh(uow)
        assert changes.reopened == [] and changes.closed == []
        assert changes.checked == len(s_codes)
        # a subset longer than one IN list is read whole and filtered
        many = status.refresh(uow, range(1, 7_001))
        assert (many.checked, many.closed, many.reopened) == (len(s_codes), [], [])
        pairs = w.repo.spatial.closure_pairs(uow.conn, distance)
    sid = {v: k for k, v in ids_by_code(w, s.settlements).items()}
    hid = {v: k for k, v in ids_by_code(w, s.hazard_areas).items()}
    assert {(sid[a], hid[b]) for a, b in pairs} == expected


def test_pairs_decided_by_boxes_and_by_geometry_agree_with_brute_force(world: World):
    """Hazards whose boxes are near but whose shapes are not, and the reverse.

    Thin triangles on rings around a village: their boxes reach within the closure
    distance while the triangle's tip may or may not, so the store must read their
    geometry; small squares well inside or far outside are settled by boxes alone.
    """
    import math

    w = world
    w.settlement("S-RING", Point(0, 0))
    w.settlement("S-FOOT", Point(3_000, 0), footprint=box(2_900, -150, 3_150, 120))
    shapes: dict[str, object] = {}
    k = 0
    for cx, cy, reach in ((0.0, 0.0, 0.0), (3_025.0, -15.0, 150.0)):
        for n in range(24):
            angle = 2 * math.pi * n / 24 + 0.1
            r = reach + 431 + 13.7 * ((n * 7) % 11)   # 431-568 m from the centre
            ux, uy = math.cos(angle), math.sin(angle)
            tip = (cx + r * ux, cy + r * uy)
            back = (cx + (r + 120) * ux - 250 * uy, cy + (r + 120) * uy + 250 * ux)
            side = (cx + (r + 120) * ux + 250 * uy, cy + (r + 120) * uy - 250 * ux)
            shapes[f"HA-T{k:02d}"] = shapely.Polygon([tip, back, side])
            k += 1
    for n, dist in enumerate((120.0, 250.0, 900.0, 1_400.0)):
        shapes[f"HA-Q{n}"] = box(dist, 40, dist + 10, 50)
    w.file(date(2026, 1, 5), [w.hazard_entry(c, g) for c, g in shapes.items()])

    frame = w.repo.settings().frame
    villages = {"S-RING": Point(0, 0), "S-FOOT": box(2_900, -150, 3_150, 120)}
    expected = set()
    for sc, sg in villages.items():
        sm = frame.to_metric(w.wgs(sg))
        for hc, hg in shapes.items():
            gap = shapely.distance(sm, frame.to_metric(w.wgs(hg)))
            assert abs(gap - 500.0) > 0.01, (sc, hc)
            if gap <= 500.0:
                expected.add((sc, hc))
    assert {"HA-Q0", "HA-Q1"} <= {h for _, h in expected}
    assert not {"HA-Q2", "HA-Q3"} & {h for _, h in expected}
    ring = {h for s_, h in expected if s_ == "S-RING" and h.startswith("HA-T")}
    assert 0 < len(ring) < 24     # the rings straddle the threshold
    with w.repo.unit("im.alice", "full recompute") as uow:
        status.refresh(uow)
        pairs = w.repo.spatial.closure_pairs(uow.conn, 500.0)
    sid = {v: k for k, v in ids_by_code(w, s.settlements).items()}
    hid = {v: k for k, v in ids_by_code(w, s.hazard_areas).items()}
    assert {(sid[a], hid[b]) for a, b in pairs} == expected
    assert {(sc, hc) for sc in villages for hc in w.blockers(sc)} == expected

    if w.repo.spatial.name == "sqlite":  # the boxes settle some pairs, geometry the rest
        from demine.store.spatial import _CANDIDATE_PAIRS_SQL

        with w.repo.reader() as uow:
            signed = [h for _, h in uow.conn.connection.driver_connection.execute(
                _CANDIDATE_PAIRS_SQL, [500.0] * 4 + [250_000.0] * 2)]
        assert any(h > 0 for h in signed) and any(h < 0 for h in signed)
        assert len(signed) > len(expected)    # some undecided pairs were refused

    # and for a subset, as the incremental refresh asks
    with w.repo.reader() as uow:
        some = w.repo.spatial.closure_pairs(uow.conn, 500.0, [ids_by_code(w, s.settlements)
                                                              ["S-FOOT"]])
    assert {(sid[a], hid[b]) for a, b in some} == {p for p in expected if p[0] == "S-FOOT"}
