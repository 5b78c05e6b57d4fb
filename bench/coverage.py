"""Machine coverage paths: demine's plans against the lower bounds, on generated fields.

    python3 bench/coverage.py [--seed N] [--area-ha 10] [--count 6] [--width 2.5]

Generates (numpy, fixed seed) ``--count`` convex polygons (rotated rectangles,
ellipses, random convex hulls) and as many non-convex polygons (star-shaped, 7-14
vertices, with 1-3 convex holes and one obstacle), all of about ``--area-ha``, and
plans each for two machines: a tracked flail that pivots (radius 0) and a platform
with a 3 m turning radius, both ``--width`` wide with a 0.1 m overlap.

Printed per polygon and per class, measured in this run:
  - path ratio = demine's total path (swaths, headland passes, turns, transits) /
    (area / working width), the lower bound of any path sweeping the area;
  - swath ratio (convex polygons) = swath count / ceil(narrowest width / effective
    width), the fewest strips that cover the narrowest width with the overlap kept
    (effective width = width - overlap; exact for strips flush with both edges:
    ceil((narrowest - overlap) / (width - overlap)));
  - planning time and the uncovered area (must be 0).
Targets: swath ratio 1 on every convex polygon; path ratio <= 1.10 (convex) and
<= 1.25 (non-convex); < 1 s per polygon of 10 ha.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

import numpy as np
import shapely
from shapely.geometry import Point, Polygon, box

from demine.fieldops.coverage import Machine, plan_coverage

TARGET_SWATH_RATIO = 1.0
TARGET_PATH_CONVEX = 1.10
TARGET_PATH_NONCONVEX = 1.25
TARGET_TIME_S = 1.0


def _scale_to(poly: Polygon, area_m2: float) -> Polygon:
    f = math.sqrt(area_m2 / poly.area)
    return shapely.affinity.scale(poly, f, f, origin="centroid")


def convex_polygons(rng: np.random.Generator, n: int, area_m2: float) -> list[tuple[str, Polygon]]:
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            aspect = rng.uniform(1.0, 4.0)
            poly = box(0, 0, aspect, 1.0)
            name = f"rectangle 1:{aspect:.1f}"
        elif kind == 1:
            aspect = rng.uniform(1.0, 3.0)
            poly = shapely.affinity.scale(Point(0, 0).buffer(1.0, quad_segs=16), aspect, 1.0)
            name = f"ellipse 1:{aspect:.1f}"
        else:
            pts = rng.normal(size=(int(rng.integers(6, 20)), 2)) * [rng.uniform(1, 3), 1]
            poly = shapely.MultiPoint(pts).convex_hull
            name = f"hull of {len(pts)} points"
        poly = shapely.affinity.rotate(poly, rng.uniform(0, 180), origin="centroid")
        out.append((name, _scale_to(poly, area_m2)))
    return out


def nonconvex_polygons(rng: np.random.Generator, n: int, area_m2: float
                       ) -> list[tuple[str, Polygon, list[Polygon]]]:
    out = []
    while len(out) < n:
        k = int(rng.integers(7, 15))
        ang = (np.arange(k) + rng.uniform(-0.3, 0.3, k)) * 2 * np.pi / k
        rad = rng.uniform(0.55, 1.3, k)
        outer = _scale_to(Polygon(np.c_[rad * np.cos(ang), rad * np.sin(ang)]), area_m2 * 1.08)
        size = math.sqrt(area_m2)
        holes: list[Polygon] = []
        for _ in range(int(rng.integers(1, 4))):
            c = outer.centroid
            p = Point(c.x + rng.uniform(-0.3, 0.3) * size, c.y + rng.uniform(-0.3, 0.3) * size)
            hole = p.buffer(rng.uniform(0.03, 0.07) * size, quad_segs=2)
            if outer.buffer(-20).contains(hole) and all(hole.distance(h) > 20 for h in holes):
                holes.append(hole)
        c = outer.centroid
        obstacle = box(c.x - 0.02 * size, c.y + 0.2 * size, c.x + 0.04 * size, c.y + 0.3 * size)
        if not outer.buffer(-20).contains(obstacle) or any(obstacle.distance(h) < 20
                                                           for h in holes):
            obstacle = None
        area = Polygon(outer.exterior, [h.exterior for h in holes])
        if not area.is_valid:
            continue
        out.append((f"star {k} vertices, {len(holes)} holes"
                    f"{', 1 obstacle' if obstacle else ''}", area,
                    [obstacle] if obstacle else []))
    return out


def narrowest(poly: Polygon) -> float:
    """Narrowest width of a convex polygon: measured across one of its hull edges."""
    xy = shapely.get_coordinates(poly.convex_hull.exterior)
    d = np.diff(xy, axis=0)
    n = np.c_[-d[:, 1], d[:, 0]] / np.hypot(*d.T)[:, None]
    dist = np.einsum("eij,ej->ei", xy[None, :, :] - xy[:-1, None, :], n)
    return float(np.min(np.max(np.abs(dist), axis=1)))


def fewest_strips(width: float, m: Machine) -> int:
    if width <= m.working_width_m:
        return 1
    return math.ceil((width - m.overlap) / m.spacing - 1e-9)


def _run(area, obstacles, m: Machine) -> tuple[float, object]:
    start = time.perf_counter()
    plan = plan_coverage(area, m, obstacles)
    return time.perf_counter() - start, plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--area-ha", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--width", type=float, default=2.5)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    area_m2 = args.area_ha * 10_000
    machines = [Machine(args.width, overlap_m=0.1, min_turn_radius_m=0.0, name="tracked r=0"),
                Machine(args.width, overlap_m=0.1, min_turn_radius_m=3.0, name="wheeled r=3m")]
    convex = convex_polygons(rng, args.count, area_m2)
    nonconvex = nonconvex_polygons(rng, args.count, area_m2)
    plan_coverage(box(0, 0, 50, 50), machines[0])  # warm imports and caches

    print(f"demine coverage bench: {args.count} convex + {args.count} non-convex polygons "
          f"of ~{args.area_ha:g} ha, width {args.width:g} m, overlap 0.1 m, seed {args.seed}")
    ok = True
    for m in machines:
        print(f"\nmachine {m.name}")
        print(f"{'class':10} {'polygon':34} {'area ha':>8} {'swaths':>7} {'min':>5} "
              f"{'sw/min':>7} {'path/bound':>10} {'turns':>6} {'uncov m2':>9} {'time':>8}")
        rows: dict[str, list[tuple[float, float, float, float]]] = {"convex": [],
                                                                     "non-convex": []}
        cases = [("convex", n, p, []) for n, p in convex] + \
                [("non-convex", n, p, o) for n, p, o in nonconvex]
        for cls, name, poly, obstacles in cases:
            t, plan = _run(poly, obstacles, m)
            bound = plan.area_m2 / m.working_width_m
            ratio = plan.path_length_m / bound
            if cls == "convex":
                minimum = fewest_strips(narrowest(poly), m)
                sw = plan.swath_count / minimum
                min_txt = f"{minimum:5d}"
            else:
                sw, min_txt = math.nan, "    -"
            rows[cls].append((ratio, sw, t, plan.uncovered_m2))
            print(f"{cls:10} {name:34} {plan.area_m2 / 1e4:8.2f} {plan.swath_count:7d} "
                  f"{min_txt} {sw:7.3f} {ratio:10.3f} {plan.turn_count:6d} "
                  f"{plan.uncovered_m2:9.3f} {t * 1000:6.0f} ms")
        for cls, target in (("convex", TARGET_PATH_CONVEX),
                            ("non-convex", TARGET_PATH_NONCONVEX)):
            r = np.array(rows[cls])
            path_ok = bool((r[:, 0] <= target).all())
            time_ok = bool((r[:, 2] < TARGET_TIME_S * args.area_ha / 10.0).all())
            cover_ok = bool((r[:, 3] <= 1e-6 * area_m2).all())
            line = (f"  {cls:10} path/bound mean {statistics.mean(r[:, 0]):.3f} max "
                    f"{r[:, 0].max():.4f} (target <= {target:.2f} "
                    f"{'OK' if path_ok else 'MISSED'}); time max {r[:, 2].max() * 1000:.0f} ms "
                    f"(target < {TARGET_TIME_S:g} s {'OK' if time_ok else 'MISSED'}); "
                    f"uncovered max {r[:, 3].max():.3f} m2 ({'OK' if cover_ok else 'MISSED'})")
            if cls == "convex":
                sw_ok = bool((r[:, 1] == TARGET_SWATH_RATIO).all())
                line += (f"; swaths = minimum on {int((r[:, 1] == 1).sum())}/{len(r)} "
                         f"({'OK' if sw_ok else 'MISSED'})")
                ok = ok and sw_ok
            ok = ok and path_ok and time_ok and cover_ok
            print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
