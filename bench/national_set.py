"""The deterministic synthetic country the national-scale benches share.

Hazard polygons of 0.1-20 ha, irregular (star-shaped, 5-12 vertices), 60 % of them in
clusters and 40 % spread over a 600 x 400 km area centred on 27° E 49° N (UTM zone
35N); settlements spread the same way, half of them near clusters, a tenth with a
footprint polygon. Everything comes from one numpy generator with a fixed seed, so a
seed and the two counts name the same data set in every bench that uses it
(``bench/status.py``, ``bench/api_load.py``).
"""

from __future__ import annotations

import numpy as np
import shapely

from demine.domain.entities import EvidenceItem, HazardArea, Settlement
from demine.domain.vocab import Blockage, EOCategory, EvidenceKind, EvidenceType, HazardClass

#: Centre of the area (WGS84 degrees) and its size in local metres.
LON0, LAT0 = 27.0, 49.0
WIDTH_M, HEIGHT_M = 600_000.0, 400_000.0
M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON = 111_320.0
DEFAULT_SEED = 20250601


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local metres around (LON0, LAT0) to WGS84 degrees (an equirectangular sketch)."""
    lat = LAT0 + y / M_PER_DEG_LAT
    lon = LON0 + x / (M_PER_DEG_LON * np.cos(np.radians(lat)))
    return lon, lat


def _centres(rng: np.random.Generator, n: int, clusters: np.ndarray, share: float,
             spread_m: float) -> tuple[np.ndarray, np.ndarray]:
    """``share`` of n points around cluster centres, the rest uniform over the area."""
    clustered = rng.random(n) < share
    x = rng.uniform(-WIDTH_M / 2, WIDTH_M / 2, n)
    y = rng.uniform(-HEIGHT_M / 2, HEIGHT_M / 2, n)
    k = rng.integers(0, len(clusters), n)
    x = np.where(clustered, clusters[k, 0] + rng.normal(0, spread_m, n), x)
    y = np.where(clustered, clusters[k, 1] + rng.normal(0, spread_m, n), y)
    return np.clip(x, -WIDTH_M / 2, WIDTH_M / 2), np.clip(y, -HEIGHT_M / 2, HEIGHT_M / 2)


def _star_polygons(rng: np.random.Generator, cx: np.ndarray, cy: np.ndarray,
                   area_m2: np.ndarray, min_k: int, max_k: int) -> np.ndarray:
    """Irregular star-shaped (hence simple, valid) WGS84 polygons of about ``area_m2``."""
    n = len(cx)
    k = rng.integers(min_k, max_k + 1, n)
    owner = np.repeat(np.arange(n), k)
    start = np.cumsum(k) - k
    j = np.arange(len(owner)) - start[owner]
    step = 2 * np.pi / k[owner]
    angle = (j + rng.uniform(-0.3, 0.3, len(owner))) * step
    radius = np.sqrt(area_m2 / np.pi)[owner] * rng.uniform(0.6, 1.4, len(owner))
    lon, lat = to_lonlat(cx[owner] + radius * np.cos(angle), cy[owner] + radius * np.sin(angle))
    rings = shapely.linearrings(np.column_stack([lon, lat]), indices=owner)
    return shapely.polygons(rings)


def generate(n_hazards: int, n_settlements: int, seed: int
             ) -> tuple[list[Settlement], list[HazardArea], np.ndarray]:
    """Settlements, hazards and the mask of hazards to mark released."""
    rng = np.random.default_rng(seed)
    clusters = np.column_stack([rng.uniform(-WIDTH_M / 2, WIDTH_M / 2, max(1, n_hazards // 100)),
                                rng.uniform(-HEIGHT_M / 2, HEIGHT_M / 2,
                                            max(1, n_hazards // 100))])
    hx, hy = _centres(rng, n_hazards, clusters, 0.6, 2_000.0)
    areas = np.exp(rng.uniform(np.log(1_000.0), np.log(200_000.0), n_hazards))
    polygons = _star_polygons(rng, hx, hy, areas, 5, 12)
    classes = [HazardClass.CHA if c else HazardClass.SHA
               for c in (rng.random(n_hazards) < 0.3).tolist()]
    with_eo = rng.random(n_hazards) < 0.5
    with_evidence = rng.random(n_hazards) < 0.05
    evidence = (EvidenceItem(EvidenceKind.INDIRECT, EvidenceType.FORMER_FRONT_LINE),)
    hazards = [
        HazardArea(f"HZ-{i:06d}", f"Hazard {i}", classes[i], polygons[i],
                   eo_suspected=(EOCategory.AP_MINE,) if with_eo[i] else (),
                   blockages=(Blockage.AGRICULTURE,),
                   evidence=evidence if with_evidence[i] else (), synthetic=True)
        for i in range(n_hazards)
    ]
    released = rng.random(n_hazards) < 0.2

    sx, sy = _centres(rng, n_settlements, clusters, 0.5, 5_000.0)
    lon, lat = to_lonlat(sx, sy)
    points = shapely.points(lon, lat)
    with_fp = rng.random(n_settlements) < 0.1
    footprints = np.full(n_settlements, None, dtype=object)
    if with_fp.any():
        fp_area = np.exp(rng.uniform(np.log(50_000.0), np.log(1_000_000.0), with_fp.sum()))
        footprints[with_fp] = _star_polygons(rng, sx[with_fp], sy[with_fp], fp_area, 8, 16)
    population = rng.integers(20, 20_000, n_settlements)
    settlements = [
        Settlement(f"S-{i:06d}", f"Settlement {i}", f"Oblast {i % 24:02d}", points[i],
                   int(population[i]), footprint=footprints[i], synthetic=True)
        for i in range(n_settlements)
    ]
    return settlements, hazards, released
