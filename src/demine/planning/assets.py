"""Assets, their productivity defaults and the national rules on who may work where.

Figures are the reference's ranges turned into defaults (all overridable per asset):
a manual team of 10 deminers at 30 m²/day each, an MDD pair at 850 m²/day, a light
flail at the 4,500 m²/day reported in the field, and a remote-controlled robotic
platform treated like a light flail (no public rate exists). Terrain and vegetation
slow everyone down, and dense contamination slows manual teams most (every signal
is excavated); the factors below are planning guesses, which is why a plan says
when it used them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from demine.domain.vocab import AssetType

#: Net output in m² per *working* day on open ground with low contamination.
DEFAULT_PRODUCTIVITY: dict[AssetType, float] = {
    AssetType.MANUAL_TEAM: 300.0,
    AssetType.MDD_TEAM: 850.0,
    AssetType.MECHANICAL: 4_500.0,
    AssetType.ROBOTIC_PLATFORM: 4_500.0,
}

#: Terrain/vegetation classes a site may have.
TERRAINS = ("open", "scrub", "woodland", "urban")
#: Contamination density classes.
DENSITIES = ("low", "medium", "high")

#: Share of the open-ground rate kept on each terrain; 0 means "may not work there".
TERRAIN_FACTOR: dict[AssetType, dict[str, float]] = {
    AssetType.MANUAL_TEAM: {"open": 1.0, "scrub": 0.7, "woodland": 0.5, "urban": 0.6},
    AssetType.MDD_TEAM: {"open": 1.0, "scrub": 0.8, "woodland": 0.6, "urban": 0.5},
    AssetType.MECHANICAL: {"open": 1.0, "scrub": 0.8, "woodland": 0.0, "urban": 0.0},
    AssetType.ROBOTIC_PLATFORM: {"open": 1.0, "scrub": 0.9, "woodland": 0.5, "urban": 0.4},
}
DENSITY_FACTOR: dict[AssetType, dict[str, float]] = {
    AssetType.MANUAL_TEAM: {"low": 1.0, "medium": 0.8, "high": 0.6},
    AssetType.MDD_TEAM: {"low": 1.0, "medium": 0.9, "high": 0.8},
    AssetType.MECHANICAL: {"low": 1.0, "medium": 0.95, "high": 0.9},
    AssetType.ROBOTIC_PLATFORM: {"low": 1.0, "medium": 0.95, "high": 0.9},
}
MACHINES = frozenset({AssetType.MECHANICAL, AssetType.ROBOTIC_PLATFORM})
VERIFIERS = frozenset({AssetType.MANUAL_TEAM, AssetType.MDD_TEAM})


@dataclass(frozen=True)
class Asset:
    """One team or machine as the planner sees it.

    ``unavailable`` holds inclusive ``(first_day, last_day)`` calendar-day ranges
    (leave, maintenance, rotation) counted from the plan's day 0. ``terrain_factor``
    overrides single entries of the default table for this asset.
    """

    code: str
    type: AssetType
    productivity_m2_day: float | None = None
    available_from: int = 0
    unavailable: tuple[tuple[int, int], ...] = ()
    working_days_per_week: int = 6
    base_xy: tuple[float, float] = (0.0, 0.0)
    terrain_factor: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.working_days_per_week <= 7:
            raise ValueError(f"{self.code}: working_days_per_week must be 1-7")
        if self.productivity_m2_day is not None and self.productivity_m2_day <= 0:
            raise ValueError(f"{self.code}: productivity must be > 0")

    @property
    def uses_default_productivity(self) -> bool:
        return self.productivity_m2_day is None

    def rate(self, terrain: str, density: str) -> float:
        """Net m² per working day on this terrain and density; 0 where it may not work."""
        base = self.productivity_m2_day or DEFAULT_PRODUCTIVITY.get(self.type, 0.0)
        tf = self.terrain_factor.get(terrain, TERRAIN_FACTOR.get(self.type, {}).get(terrain, 0.0))
        df = DENSITY_FACTOR.get(self.type, {}).get(density, 1.0)
        return base * tf * df

    def calendar_days(self, area_m2: float, terrain: str, density: str) -> int:
        """Whole calendar days to work ``area_m2``: working days stretched by the week.

        A 6-day week turns 6 working days into 7 calendar days; where the rest day
        falls is not modelled (the approximation the plan documents).
        """
        r = self.rate(terrain, density)
        if r <= 0:
            raise ValueError(f"{self.code} may not work {terrain}")
        work_days = area_m2 / r
        return max(1, math.ceil(work_days * 7 / self.working_days_per_week - 1e-9))


@dataclass(frozen=True)
class Rules:
    """The national standard's rules the planner enforces (national settings).

    ``at_allowed``: asset types that may work AT-contaminated land.
    ``machines_on_slopes``: whether machines may work sloped sites.
    ``prep_when_at`` / ``prep_terrains``: machine ground preparation is required
    before manual/MDD verification on AT land and on these vegetation classes, where
    a machine can reach the site (a sloped site is verified manually, with a warning).
    ``machine_only_release``: if False (the default, as in most standards), the final
    clearance pass is always manual or MDD.
    ``qc_lag_days``: post-clearance QC inspection, modelled as a fixed lag between the
    last clearance chunk and release (QC teams are not scheduled as assets).
    """

    at_allowed: frozenset[AssetType] = frozenset(
        {AssetType.MANUAL_TEAM, AssetType.MECHANICAL, AssetType.ROBOTIC_PLATFORM})
    machines_on_slopes: bool = False
    prep_when_at: bool = True
    prep_terrains: frozenset[str] = frozenset({"scrub"})
    machine_only_release: bool = False
    qc_lag_days: int = 2
    travel_km_per_day: float = 80.0
    chunk_m2: float = 6_000.0
    tardiness_weight: int = 1_000
