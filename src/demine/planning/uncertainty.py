"""Uncertainty model of the forecast: productivity multipliers and stand-down days.

Why two separate effects: a team that clears more slowly than planned needs more
*working* days (productivity), and a team that cannot work on a given day (weather,
heat for dogs, security incidents, accidents) needs more *calendar* days for the
same working days (stand-down). They have different evidence: productivity comes
from recorded daily progress, stand-down from the share of lost days.

Productivity multiplier ``M`` (actual / planned net output) is lognormal,
``log M ~ Normal(log median, sigma)``; the working days an item needs are
``W = planned_days / M``. Because the lognormal is symmetric in log space,
``1 / M`` is lognormal with median ``1 / median`` and the same ``sigma``.

Stand-down: each calendar day is lost with probability ``q``, independently. The
calendar days needed for ``W`` working days are ``W + F`` where ``F`` counts the
failures before the ``W``-th success of a Bernoulli(1 - q) sequence, i.e.
``F ~ NegBin(W, 1 - q)``; ``E[W + F] = W + W q / (1 - q) = W / (1 - q)``.
For a non-integer ``W`` numpy's negative binomial (a gamma-Poisson mixture) keeps
that mean exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from demine.domain.errors import ValidationError

#: Named assumptions, not measurements: log-spread (sigma) of the productivity
#: multiplier per asset type, used when no recorded progress fits one. They say
#: "the planned rate is a median; one item in ten takes ~1.5-1.8x longer". The
#: reference ranges (manual 10-50 m²/day, flails 4,000-5,000 m²/day reported vs
#: 1,000-1,500 m²/h nominal) span terrains the plan already accounts for, so the
#: residual spread is taken narrower than those ranges. Machines are widest
#: (breakdowns, terrain), dogs narrower (stable rate, but heat stops them, which
#: is stand-down, not productivity).
DEFAULT_SIGMA: Mapping[str, float] = {
    "manual_team": 0.35,
    "mdd_team": 0.25,
    "mechanical": 0.45,
    "robotic_platform": 0.45,
    "drone_survey": 0.20,
}
#: Spread for an asset type not listed above (assumption).
FALLBACK_SIGMA = 0.40

#: Named assumption: share of calendar days lost to weather/security per asset
#: type. Dogs do not work above ~30 °C (SFOR Informer 2001), hence more lost days.
DEFAULT_STANDDOWN: Mapping[str, float] = {
    "manual_team": 0.10,
    "mdd_team": 0.15,
    "mechanical": 0.10,
    "robotic_platform": 0.10,
    "drone_survey": 0.15,
}
FALLBACK_STANDDOWN = 0.10

#: Observations needed before a fitted spread replaces the default.
MIN_OBSERVATIONS = 8

#: Named assumption: share of the log-variance common to all items of one asset in
#: one run (a slow team is slow on all its tasks). 0 = items independent, 1 = one
#: draw per asset. Sigma per item is unchanged by it; only the correlation is.
DEFAULT_ASSET_CORRELATION = 0.5


@dataclass(frozen=True)
class Lognormal:
    """Productivity multiplier ``M``: lognormal with this median and log-sd ``sigma``."""

    median: float = 1.0
    sigma: float = 0.0
    source: str = "default"
    note: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.median) and self.median > 0):
            raise ValidationError("productivity", "median", f"must be > 0, got {self.median}")
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValidationError("productivity", "sigma", f"must be >= 0, got {self.sigma}")


def fit_productivity(
    observed_rates_m2_per_day: Sequence[float] | np.ndarray,
    *,
    nominal_rate: float | None = None,
    asset_type: str = "",
    min_observations: int = MIN_OBSERVATIONS,
) -> Lognormal:
    """Lognormal multiplier from recorded daily rates, or the default and why.

    ``sigma`` is the sample log-sd (ddof=1). With ``nominal_rate`` (the rate the plan
    used) the median is observed median / nominal, so a plan that assumed too high
    a rate is corrected; without it the median stays 1 and only the spread is
    learned. Daily rates vary more than a whole item's average rate, so the fitted
    spread is on the cautious side. Fewer than ``min_observations`` rates: the
    default for ``asset_type`` with ``source="default"`` and a note saying so.
    """
    x = np.asarray(observed_rates_m2_per_day, dtype=float).ravel()
    if x.size and not (np.isfinite(x).all() and (x > 0).all()):
        raise ValidationError("productivity", "observed_rates_m2_per_day",
                              "rates must be finite and > 0")
    if nominal_rate is not None and not (math.isfinite(nominal_rate) and nominal_rate > 0):
        raise ValidationError("productivity", "nominal_rate", f"must be > 0, got {nominal_rate}")
    if x.size < max(2, min_observations):
        sigma = DEFAULT_SIGMA.get(asset_type, FALLBACK_SIGMA)
        return Lognormal(1.0, sigma, "default",
                         f"{x.size} observations < {max(2, min_observations)}: default spread "
                         f"{sigma} for {asset_type or 'unknown type'}")
    logs = np.log(x)
    median = float(np.exp(logs.mean()))
    rel = median / nominal_rate if nominal_rate is not None else 1.0
    return Lognormal(rel, float(logs.std(ddof=1)), "fitted", f"fitted on {x.size} observations")


@dataclass(frozen=True)
class Uncertainty:
    """What the forecast treats as random; look-ups go asset id, then asset type, then default.

    ``productivity`` and ``standdown`` map an asset id or an asset type to a
    multiplier distribution / a daily stand-down probability in [0, 1).
    ``Uncertainty.none()`` gives the deterministic plan.
    """

    productivity: Mapping[str, Lognormal] = field(default_factory=dict)
    standdown: Mapping[str, float] = field(default_factory=dict)
    default_sigma: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SIGMA))
    fallback_sigma: float = FALLBACK_SIGMA
    default_standdown: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_STANDDOWN))
    fallback_standdown: float = FALLBACK_STANDDOWN
    asset_correlation: float = DEFAULT_ASSET_CORRELATION

    def __post_init__(self) -> None:
        for key, q in [*self.standdown.items(), *self.default_standdown.items(),
                       ("fallback", self.fallback_standdown)]:
            _check_probability(f"standdown {key}", q)
        for key, s in [*self.default_sigma.items(), ("fallback", self.fallback_sigma)]:
            if not (math.isfinite(s) and s >= 0):
                raise ValidationError("uncertainty", f"sigma {key}", f"must be >= 0, got {s}")
        if not 0.0 <= self.asset_correlation <= 1.0:
            raise ValidationError("uncertainty", "asset_correlation",
                                  f"must be in [0, 1], got {self.asset_correlation}")

    @classmethod
    def none(cls) -> Uncertainty:
        """No randomness at all: every run is the plan itself."""
        return cls(default_sigma={}, fallback_sigma=0.0, default_standdown={},
                   fallback_standdown=0.0)

    def productivity_of(self, asset: str, asset_type: str) -> Lognormal:
        if asset in self.productivity:
            return self.productivity[asset]
        if asset_type in self.productivity:
            return self.productivity[asset_type]
        return Lognormal(1.0, self.default_sigma.get(asset_type, self.fallback_sigma))

    def standdown_of(self, asset: str, asset_type: str) -> float:
        if asset in self.standdown:
            return self.standdown[asset]
        if asset_type in self.standdown:
            return self.standdown[asset_type]
        return self.default_standdown.get(asset_type, self.fallback_standdown)


def _check_probability(name: str, q: float) -> None:
    if not (math.isfinite(q) and 0.0 <= q < 1.0):
        raise ValidationError("uncertainty", name, f"probability must be in [0, 1), got {q}")


def sample_working_days(
    rng: np.random.Generator, planned: np.ndarray, median: np.ndarray, sigma: np.ndarray,
    group: np.ndarray, correlation: float, runs: int,
) -> np.ndarray:
    """Working days per run and item, ``(runs, items)``: planned / multiplier.

    ``group`` gives each item's asset index; a share ``correlation`` of the
    log-variance is drawn once per asset and run.
    """
    n = planned.size
    z = rng.standard_normal((runs, n))
    if correlation > 0 and n:
        shared = rng.standard_normal((runs, int(group.max()) + 1))
        z = math.sqrt(1 - correlation) * z + math.sqrt(correlation) * shared[:, group]
    return planned / median * np.exp(-sigma * z)


def sample_calendar_days(
    rng: np.random.Generator, working: np.ndarray, q: np.ndarray,
) -> np.ndarray:
    """Calendar days for ``working`` working days when each day is lost with prob. ``q``.

    ``W + NegBin(W, 1 - q)``; items with ``q == 0`` or ``W == 0`` get no draw.
    """
    qb = np.broadcast_to(q, working.shape)
    active = (qb > 0) & (working > 0)
    out = working.copy()
    if active.any():
        out[active] += rng.negative_binomial(working[active], 1.0 - qb[active])
    return out
