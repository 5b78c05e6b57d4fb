"""Productivity learned from the progress teams actually reported (issue 6, item 2).

Why: the register's figure for a team (and the reference default behind it) is what
someone expected when the team was accredited; the released area a team reports
week after week is what it does on this district's ground. Once enough of it is on
record, the scheduler should plan with it, and say which figure it used for whom.

The rate of a team is its reported released area (cleared + reduced outcomes of its
clearance activities) over the *working* days those activities cover:

- an activity's days run from its actual start to its actual end when completed,
  else to its last reported outcome (work after the last report has no area yet, so
  counting those days would understate the rate);
- a team's days are the union of its activities' days, so two activities the same
  team reports in parallel do not count each day twice;
- calendar days become working days with the team's working week (6 of 7 by
  default), the inverse of :meth:`demine.planning.assets.Asset.calendar_days`.

The figure replaces the register's rate on open ground with low density, which is how
the district planner treats every hazard until terrain is on record, so no terrain
correction is applied to it.

Two guards, stated so that nobody mistakes a reporting slip for a fast team:
at least :data:`MIN_WORKING_DAYS` working days of reported work, and a learned rate
within a factor :data:`PLAUSIBLE_FACTOR` of the figure it would replace. Outside
either, the register or default figure is kept and the reason is given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from demine.domain.errors import ValidationError
from demine.planning.uncertainty import MIN_OBSERVATIONS, Lognormal, fit_productivity

__all__ = ["MIN_WORKING_DAYS", "PLAUSIBLE_FACTOR", "ProgressRecord", "RateChoice",
           "choose_rates", "spread_from_progress"]

#: Working days of reported clearance a team needs before its own rate is used: a
#: week and a bit. Daily output varies by about 35 % (the forecast's default spread
#: for manual teams), so the mean of 5 days is within about 15 % of the team's rate.
MIN_WORKING_DAYS = 5.0
#: A learned rate more than this factor above or below the figure it would replace is
#: treated as a reporting problem (area of several teams under one, a missing start
#: date), not a team: the reference's own range for one manual deminer, 10-50 m²/day,
#: spans a factor 5.
PLAUSIBLE_FACTOR = 5.0


@dataclass(frozen=True)
class ProgressRecord:
    """One clearance activity's reported work: ``area_m2`` released from ``start`` to ``end``.

    Both days are included (an activity started and finished on one day covers one day).
    """

    team: str
    activity: str
    start: date
    end: date
    area_m2: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError(f"activity {self.activity}", "actual_end",
                                  f"{self.end} is before the start {self.start}")
        if not (math.isfinite(self.area_m2) and self.area_m2 >= 0):
            raise ValidationError(f"activity {self.activity}", "area_m2",
                                  f"must be >= 0, got {self.area_m2}")


@dataclass(frozen=True)
class RateChoice:
    """The productivity an asset is planned with, where it came from, and why.

    ``source`` is ``learned`` (from reported progress), ``register`` (the team's
    figure on record) or ``default`` (the reference's figure for its type).
    ``learned_m2_day`` is the learned figure even when it was not used, so a reader
    can see how far reality is from the register.
    """

    asset: str
    rate_m2_day: float
    source: str
    fallback_m2_day: float
    fallback_source: str
    learned_m2_day: float | None = None
    working_days: float = 0.0
    area_m2: float = 0.0
    activities: tuple[str, ...] = ()
    reason: str = ""

    @property
    def learned(self) -> bool:
        return self.source == "learned"


def working_days(records: Iterable[ProgressRecord], working_days_per_week: int = 6) -> float:
    """Working days covered by ``records``: the union of their calendar days, scaled."""
    days: set[date] = set()
    for r in records:
        days.update(r.start + timedelta(days=k) for k in range((r.end - r.start).days + 1))
    return len(days) * working_days_per_week / 7.0


def choose_rates(
    fallback: Mapping[str, tuple[float, str]],
    records: Iterable[ProgressRecord],
    *,
    working_days_per_week: Mapping[str, int] | None = None,
    min_working_days: float = MIN_WORKING_DAYS,
    plausible_factor: float = PLAUSIBLE_FACTOR,
) -> dict[str, RateChoice]:
    """Per asset of ``fallback`` (code -> (rate, "register" | "default")): the rate to plan with.

    ``records`` of assets not in ``fallback`` (teams not scheduled) are ignored.
    """
    if min_working_days <= 0 or plausible_factor < 1:
        raise ValidationError("productivity", "guards",
                              "min_working_days must be > 0 and plausible_factor >= 1")
    by_team: dict[str, list[ProgressRecord]] = {}
    for r in records:
        if r.team in fallback:
            by_team.setdefault(r.team, []).append(r)
    weeks = working_days_per_week or {}
    out: dict[str, RateChoice] = {}
    for code, (rate, source) in fallback.items():
        mine = sorted(by_team.get(code, []), key=lambda r: (r.start, r.activity))
        base = RateChoice(code, rate, source, rate, source)
        if not mine:
            out[code] = base
            continue
        days = working_days(mine, weeks.get(code, 6))
        area = sum(r.area_m2 for r in mine)
        acts = tuple(r.activity for r in mine)
        learned = area / days if days > 0 else 0.0
        seen = RateChoice(code, rate, source, rate, source, learned or None, days, area, acts)
        if days < min_working_days:
            out[code] = _why(seen, f"{days:.1f} working days reported < {min_working_days:g}")
        elif learned <= 0:
            out[code] = _why(seen, "no released area reported")
        elif not 1 / plausible_factor <= learned / rate <= plausible_factor:
            side = (f"over {plausible_factor:g}x" if learned > rate
                    else f"under 1/{plausible_factor:g} of")
            out[code] = _why(seen, f"learned {learned:,.0f} m²/day is {side} the {source} "
                                   f"figure {rate:,.0f}; check the reports of "
                                   f"{', '.join(acts)}")
        else:
            out[code] = RateChoice(code, learned, "learned", rate, source, learned, days, area,
                                   acts, f"{area:,.0f} m² over {days:.1f} working days "
                                         f"({', '.join(acts)})")
    return out


def _why(choice: RateChoice, reason: str) -> RateChoice:
    return RateChoice(choice.asset, choice.rate_m2_day, choice.source, choice.fallback_m2_day,
                      choice.fallback_source, choice.learned_m2_day, choice.working_days,
                      choice.area_m2, choice.activities, reason)


def spread_from_progress(
    records: Iterable[ProgressRecord],
    choices: Iterable[RateChoice],
    asset_types: Mapping[str, str],
    *,
    working_days_per_week: Mapping[str, int] | None = None,
    min_observations: int = MIN_OBSERVATIONS,
    plausible_factor: float = PLAUSIBLE_FACTOR,
) -> dict[str, Lognormal]:
    """Per asset type: the forecast's productivity multiplier fitted on reported activities.

    Why per type and relative: one team rarely has enough activities on record, but the
    teams of a type together soon do, and each activity's rate over the rate its team is
    planned with (``choices``) says how far reality strays from the plan, whatever the
    team's own level. An activity's rate is its area over its own working days, the
    granularity of a planned work item. Teams whose learned rate was refused as a
    reporting slip (outside ``plausible_factor``) are left out, so a slip does not pass
    for spread. A type with fewer than ``min_observations`` activities keeps its named
    default, with a note that says how many there were.
    """
    planned = {c.asset: c for c in choices}
    weeks = working_days_per_week or {}
    rel: dict[str, list[float]] = {}
    for r in records:
        choice = planned.get(r.team)
        if choice is None or r.team not in asset_types or choice.rate_m2_day <= 0:
            continue
        if choice.learned_m2_day and not (
                1 / plausible_factor <= choice.learned_m2_day / choice.fallback_m2_day
                <= plausible_factor):
            continue
        days = working_days([r], weeks.get(r.team, 6))
        if days <= 0 or r.area_m2 <= 0:
            continue
        rel.setdefault(asset_types[r.team], []).append(r.area_m2 / days / choice.rate_m2_day)
    out: dict[str, Lognormal] = {}
    for kind in sorted(set(asset_types.values())):
        values = rel.get(kind, [])
        fit = fit_productivity(values, nominal_rate=1.0, asset_type=kind,
                               min_observations=min_observations)
        out[kind] = fit if fit.source != "fitted" else Lognormal(
            fit.median, fit.sigma, "fitted",
            f"{len(values)} reported {kind} activities over the rates planned")
    return out
