"""What-if scenarios (issue 6, item 4): a change to the baseline district, and the comparison.

A scenario is a small YAML file an operations officer can write by hand; it never
touches the record. It says what differs from the fleet and priorities on record:

```yaml
name: Two more robotic platforms
description: A donor offers two Uran-6 class platforms from mid-December.
priority_profile: default        # default, agricultural, or a profile file
seed: 0                          # solver and forecast seed
horizon_days: 180                # an extra "reopened by" checkpoint and the chart's end
add_assets:
  - type: robotic                # manual, mdd, mechanical (flail), robotic
    count: 2
    organisation: EBN            # an operator on record; names the new assets
    from: 2026-12-15             # a date, or a day number after day 0
    productivity_m2_day: 4500    # optional; else the reference default for the type
unavailable:
  - asset: FDU-MT2               # an asset the plan schedules
    from: 2026-12-01
    to: 2026-12-31               # omitted: stood down for the whole plan
    reason: rotation
rules:                           # national rules as the what-if would have them
  machine_only_release: true     # also: machines_on_slopes, qc_lag_days
```

``rules`` is a policy what-if ("if the national authority accepted machine-only
release..."), not a planning setting: a comparison says in its notes which national
rule each scenario changes, so a curve that moves because of a rule is never read as
the effect of the assets beside it.

Dates are resolved against the comparison's day 0, so the same file can be compared
from any start. Every error names the file, the key (``add_assets[0].type``) and the
problem, and is raised before any solving.

The comparison is computed here from plans and forecasts (pure); running them on the
record is :mod:`demine.service.scenarios`. "Reopened by day d" counts settlements whose
last blocking hazard is released (QC lag included) by day ``d``: planned, and the P50
over forecast runs. Person-days of closure are population x days closed from day 0,
summed over the settlements closed today; "avoided" is the first scenario's figure
minus this one's, so positive means people home sooner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from demine.domain.errors import ValidationError
from demine.domain.vocab import AssetType
from demine.planning.assets import DEFAULT_PRODUCTIVITY, Asset, Rules
from demine.planning.forecast import Forecast
from demine.planning.priority import BUILT_IN_PROFILES, load_profile
from demine.planning.schedule import Plan

__all__ = ["BUILT_IN_SCENARIOS", "CHECKPOINTS", "AddAssets", "Scenario", "ScenarioOutcome",
           "StandDown", "apply_to_fleet", "checkpoints_of", "compare_outcomes", "load_scenario",
           "outcome", "parse_scenario", "rules_for"]

#: Example scenarios shipped with demine, usable by name.
BUILT_IN_SCENARIOS = ("baseline", "two-more-robots", "lose-a-manual-team",
                      "machine-only-release", "machine-only-release-two-more-robots")
#: Days at which every comparison counts reopened settlements.
CHECKPOINTS = (30, 60, 90, 120)

#: Words an officer may use for each plannable asset type.
ASSET_TYPES: dict[str, AssetType] = {
    "manual": AssetType.MANUAL_TEAM, "manual_team": AssetType.MANUAL_TEAM,
    "mdd": AssetType.MDD_TEAM, "mdd_team": AssetType.MDD_TEAM, "dogs": AssetType.MDD_TEAM,
    "mechanical": AssetType.MECHANICAL, "flail": AssetType.MECHANICAL,
    "robotic": AssetType.ROBOTIC_PLATFORM, "robotic_platform": AssetType.ROBOTIC_PLATFORM,
}
_PREFIX = {AssetType.MANUAL_TEAM: "MT", AssetType.MDD_TEAM: "MDD",
           AssetType.MECHANICAL: "MF", AssetType.ROBOTIC_PLATFORM: "RCP"}
_KEYS = ("name", "description", "priority_profile", "seed", "horizon_days", "add_assets",
         "unavailable", "rules")
#: National rules a scenario may change, with what each takes: (kind, lowest, highest).
_RULE_KEYS: dict[str, tuple[type, int, int]] = {
    "machine_only_release": (bool, 0, 1), "machines_on_slopes": (bool, 0, 1),
    "qc_lag_days": (int, 0, 90)}
_ADD_KEYS = ("type", "count", "organisation", "from", "productivity_m2_day")
_DOWN_KEYS = ("asset", "from", "to", "reason")
#: More than this many new assets in one entry is more likely a typo than a plan.
MAX_COUNT = 100

#: A day given as a date or as a day number after day 0.
DayRef = date | int


# --- the file ------------------------------------------------------------------------


@dataclass(frozen=True)
class AddAssets:
    """``count`` new assets of one type, available from ``start`` (``key`` for errors)."""

    key: str
    type: AssetType
    count: int = 1
    organisation: str | None = None
    start: DayRef = 0
    productivity_m2_day: float | None = None


@dataclass(frozen=True)
class StandDown:
    """``asset`` may not work from ``start`` to ``end`` inclusive; no end: the whole plan."""

    key: str
    asset: str
    start: DayRef = 0
    end: DayRef | None = None
    reason: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    description: str = ""
    priority_profile: str = "default"
    seed: int = 0
    horizon_days: int | None = None
    add_assets: tuple[AddAssets, ...] = ()
    unavailable: tuple[StandDown, ...] = ()
    rules: tuple[tuple[str, bool | int], ...] = ()   # (rule, value), in file order

    @property
    def record(self) -> str:
        """How errors name this scenario: its file."""
        return f"scenario {self.source}"


def load_scenario(source: str | Path) -> Scenario:
    """A built-in scenario by name, or a YAML file; errors name the file and the key."""
    if isinstance(source, str) and source in BUILT_IN_SCENARIOS:
        text = resources.files("demine.planning").joinpath(
            "scenario_files", f"{source}.yaml").read_text(encoding="utf-8")
        return parse_scenario(_yaml(text, source), source)
    path = Path(source)
    if not path.is_file():
        raise ValidationError(f"scenario {path}", "file", "no such file (built-in scenarios: "
                              f"{', '.join(BUILT_IN_SCENARIOS)})")
    return parse_scenario(_yaml(path.read_text(encoding="utf-8"), str(path)), str(path),
                          base_dir=path.parent)


class _Loader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so a bad one is reported with its key
    (PyYAML's own date parsing raises a bare ValueError for 2026-13-01)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ValidationError(f"scenario {source}", "file",
                              f"not valid YAML: {' '.join(str(exc).split())}") from exc


def parse_scenario(data: Any, source: str, *, base_dir: Path | None = None) -> Scenario:
    """Validate a scenario's mapping; a relative profile file is found beside the scenario."""
    record = f"scenario {source}"
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValidationError(record, "file", "expected a mapping of keys (name, add_assets, "
                              "unavailable, priority_profile, ...)")
    _known(data, _KEYS, record, "")
    name = _text(data.get("name"), record, "name") or Path(source).stem
    profile = _profile(data.get("priority_profile", "default"), record, base_dir)
    seed = _int(data.get("seed", 0), record, "seed", lo=0)
    horizon = data.get("horizon_days")
    horizon = None if horizon is None else _int(horizon, record, "horizon_days", lo=1)
    adds = tuple(_add(item, record, f"add_assets[{k}]")
                 for k, item in enumerate(_list(data.get("add_assets"), record, "add_assets")))
    downs = tuple(_down(item, record, f"unavailable[{k}]")
                  for k, item in enumerate(_list(data.get("unavailable"), record,
                                                 "unavailable")))
    rules = _rules(data.get("rules"), record)
    return Scenario(name, source, _text(data.get("description"), record, "description"),
                    profile, seed, horizon, adds, downs, rules)


def _rules(value: Any, record: str) -> tuple[tuple[str, bool | int], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ValidationError(record, "rules", "expected a mapping of national rules "
                              f"({', '.join(_RULE_KEYS)})")
    _known(value, tuple(_RULE_KEYS), record, "rules.")
    out: list[tuple[str, bool | int]] = []
    for key, raw in value.items():
        kind, lo, hi = _RULE_KEYS[key]
        if kind is bool:
            if not isinstance(raw, bool):
                raise ValidationError(record, f"rules.{key}",
                                      f"expected true or false, got {raw!r}")
            out.append((key, raw))
        else:
            out.append((key, _int(raw, record, f"rules.{key}", lo=lo, hi=hi)))
    return tuple(out)


def rules_for(scenario: Scenario, base: Rules) -> tuple[Rules, list[str]]:
    """The national rules the scenario plans under, and a note for each one it changes."""
    changed = {k: v for k, v in scenario.rules if getattr(base, k) != v}
    notes = [f"national rule changed in this scenario: {k} {_word(getattr(base, k))} -> "
             f"{_word(v)}" for k, v in changed.items()]
    return replace(base, **changed), notes


def _word(value: bool | int) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _known(data: Mapping[Any, Any], keys: Sequence[str], record: str, where: str) -> None:
    for key in data:
        if key not in keys:
            raise ValidationError(record, f"{where}{key}",
                                  f"unknown key; known: {', '.join(keys)}")


def _text(value: Any, record: str, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValidationError(record, key, f"expected text, got {value!r}")
    return str(value).strip()


def _int(value: Any, record: str, key: str, *, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(record, key, f"expected a whole number, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bounds = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ValidationError(record, key, f"must be {bounds}, got {value}")
    return value


def _list(value: Any, record: str, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(record, key, "expected a list of entries (lines starting '- ')")
    return value


def _profile(value: Any, record: str, base_dir: Path | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(record, "priority_profile",
                              f"expected a profile name ({', '.join(BUILT_IN_PROFILES)}) or "
                              f"a YAML/JSON file, got {value!r}")
    name = value.strip()
    if name not in BUILT_IN_PROFILES and base_dir is not None:
        beside = base_dir / name
        if not Path(name).is_absolute() and beside.is_file():
            name = str(beside)
    try:
        load_profile(name)
    except ValidationError as exc:
        raise ValidationError(record, "priority_profile", str(exc)) from exc
    return name


def _day(value: Any, record: str, key: str) -> DayRef:
    """A date (YAML's own or quoted ISO text) or a day number after day 0."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValidationError(record, key, f"a day number must be >= 0, got {value}")
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(record, key, f"expected a date YYYY-MM-DD or a day number, "
                                       f"got {value!r}")


def _add(item: Any, record: str, key: str) -> AddAssets:
    if not isinstance(item, Mapping):
        raise ValidationError(record, key, "expected a mapping with type and count")
    _known(item, _ADD_KEYS, record, f"{key}.")
    raw = item.get("type")
    if raw is None:
        raise ValidationError(record, f"{key}.type", "missing; one of "
                              + ", ".join(sorted(ASSET_TYPES)))
    kind = ASSET_TYPES.get(str(raw).strip().lower())
    if kind is None:
        why = ("is not a clearance asset the planner schedules"
               if str(raw).strip().lower() in {t.value for t in AssetType} else
               "is not an asset type")
        raise ValidationError(record, f"{key}.type",
                              f"{raw!r} {why}; one of {', '.join(sorted(ASSET_TYPES))}")
    count = _int(item.get("count", 1), record, f"{key}.count", lo=1, hi=MAX_COUNT)
    org = item.get("organisation")
    if org is not None and (not isinstance(org, str) or not org.strip()):
        raise ValidationError(record, f"{key}.organisation",
                              f"expected an organisation code, got {org!r}")
    prod = item.get("productivity_m2_day")
    if prod is not None and (isinstance(prod, bool) or not isinstance(prod, int | float)
                             or not math.isfinite(prod) or prod <= 0):
        raise ValidationError(record, f"{key}.productivity_m2_day",
                              f"expected m² per working day above 0, got {prod!r}")
    start = _day(item.get("from", 0), record, f"{key}.from")
    return AddAssets(key, kind, count, org.strip() if org else None, start,
                     float(prod) if prod is not None else None)


def _down(item: Any, record: str, key: str) -> StandDown:
    if not isinstance(item, Mapping):
        raise ValidationError(record, key, "expected a mapping with asset, from and to")
    _known(item, _DOWN_KEYS, record, f"{key}.")
    code = item.get("asset")
    if not isinstance(code, str) or not code.strip():
        raise ValidationError(record, f"{key}.asset", f"expected an asset code, got {code!r}")
    start = _day(item.get("from", 0), record, f"{key}.from")
    end = None if item.get("to") is None else _day(item["to"], record, f"{key}.to")
    if end is not None and isinstance(start, date) and isinstance(end, date) and end < start:
        raise ValidationError(record, f"{key}.to", f"{end} is before from ({start})")
    return StandDown(key, code.strip(), start, end, _text(item.get("reason"), record,
                                                          f"{key}.reason"))


# --- applying it to the fleet ----------------------------------------------------------


def _resolve(day: DayRef, start: date) -> int:
    return (day - start).days if isinstance(day, date) else int(day)


def apply_to_fleet(scenario: Scenario, assets: Sequence[Asset], start: date, *,
                   organisations: Sequence[str] | None = None,
                   ) -> tuple[list[Asset], list[str]]:
    """The fleet the scenario plans with, and notes on what changed.

    ``organisations`` (operator codes on record), when given, checks ``organisation``.
    New assets are named ``ORG-NEW-RCP1`` (``NEW-RCP1`` without organisation), never a
    code already in the fleet. Raises ``ValidationError`` naming the file and key.
    """
    record = scenario.record
    fleet = list(assets)
    notes: list[str] = []
    taken = {a.code for a in fleet}
    for add in scenario.add_assets:
        if organisations is not None and add.organisation is not None \
                and add.organisation not in organisations:
            raise ValidationError(record, f"{add.key}.organisation",
                                  f"{add.organisation!r} is not a clearance operator on record;"
                                  f" known: {', '.join(sorted(organisations)) or 'none'}")
        first = _resolve(add.start, start)
        stem = f"{add.organisation}-NEW-" if add.organisation else "NEW-"
        made = []
        k = 0
        while len(made) < add.count:
            k += 1
            code = f"{stem}{_PREFIX[add.type]}{k}"
            if code not in taken:
                taken.add(code)
                made.append(Asset(code, add.type, add.productivity_m2_day,
                                  available_from=max(first, 0)))
        fleet.extend(made)
        rate = add.productivity_m2_day or DEFAULT_PRODUCTIVITY[add.type]
        when = f"from day {max(first, 0)}" if first > 0 else "from day 0"
        notes.append(f"added {', '.join(a.code for a in made)} ({add.type.value}, "
                     f"{rate:,.0f} m²/working day, {when})")
    for down in scenario.unavailable:
        index = next((i for i, a in enumerate(fleet) if a.code == down.asset), None)
        if index is None:
            raise ValidationError(record, f"{down.key}.asset",
                                  f"{down.asset!r} is not among the {len(fleet)} assets the plan "
                                  f"schedules: {', '.join(sorted(a.code for a in fleet))}")
        lo = _resolve(down.start, start)
        why = f" ({down.reason})" if down.reason else ""
        if down.end is None:
            fleet.pop(index)
            notes.append(f"{down.asset} stood down for the whole plan{why}")
            continue
        hi = _resolve(down.end, start)
        if hi < lo:
            raise ValidationError(record, f"{down.key}.to",
                                  f"day {hi} is before from (day {lo})")
        if hi < 0:
            notes.append(f"{down.asset}: stand-down {down.start} to {down.end} ends before "
                         "day 0; ignored")
            continue
        lo = max(lo, 0)
        a = fleet[index]
        fleet[index] = replace(a, unavailable=(*a.unavailable, (lo, hi)))
        notes.append(f"{down.asset} unavailable days {lo}-{hi}{why}")
    return fleet, notes


# --- the comparison ------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario's plan and forecast as the comparison reads them.

    Curves are per day ``0..len-1`` (the last value holds after): settlements open
    as planned, and the forecast's P10/P50/P90 over runs, QC lag included. Person-days
    are population x days closed from day 0; ``*_avoided`` are relative to the first
    scenario of the comparison (positive: people home sooner).
    """

    name: str
    source: str
    description: str
    profile: str
    assets: int
    settlements: int
    planned: np.ndarray
    open_p10: np.ndarray
    open_p50: np.ndarray
    open_p90: np.ndarray
    person_days_planned: float
    person_days_p50: float
    finish_planned: int
    finish_p50: int
    finish_p90: int
    reopening_day: Mapping[str, int]
    objective: float
    gap: float
    plan_source: str
    notes: tuple[str, ...]
    person_days_avoided_planned: float = 0.0
    person_days_avoided_p50: float = 0.0
    earlier: int = 0
    later: int = 0

    def reopened_by(self, day: int) -> tuple[int, float]:
        """(planned, P50) settlements open by ``day``."""
        k = min(max(day, 0), len(self.planned) - 1)
        return int(self.planned[k]), float(self.open_p50[k])

    def day_reaching(self, count: int, curve: str = "planned") -> int | None:
        """First day at which ``count`` settlements are open on that curve."""
        values: np.ndarray = getattr(self, curve)
        hit = np.nonzero(values >= count - 1e-9)[0]
        return int(hit[0]) if hit.size else None


def outcome(scenario: Scenario, plan: Plan, fc: Forecast, *, qc_lag_days: int, assets: int,
            notes: Sequence[str] = (), profile: str = "") -> ScenarioOutcome:
    """Summarise one scenario's plan and forecast (see :class:`ScenarioOutcome`)."""
    lag = int(qc_lag_days)
    reopen = {k: int(v) for k, v in plan.reopening_day.items()}
    finish_planned = max(plan.hazard_release_day.values(), default=0)
    finish_p50 = _ceil(fc.finish_p50) + lag
    finish_p90 = _ceil(fc.finish_p90) + lag
    length = max(finish_planned, finish_p90, max(reopen.values(), default=0)) + 1
    planned = np.zeros(length)
    for d in reopen.values():
        planned[d:] += 1
    p10, p50, p90 = (_shift(q, lag, length) for q in
                     (fc.curve.open_p10, fc.curve.open_p50, fc.curve.open_p90))
    pop = {sf.code: sf.population for sf in fc.settlements}
    planned_pd = float(sum(pop.get(code, 0) * d for code, d in reopen.items()))
    if fc.reopen.size:
        days = np.ceil(fc.reopen - 1e-9) + lag
        weights = np.array([sf.population for sf in fc.settlements], dtype=float)
        p50_pd = float(np.median(days @ weights))
    else:
        p50_pd = 0.0
    return ScenarioOutcome(
        scenario.name, scenario.source, scenario.description, profile or
        scenario.priority_profile, assets, len(reopen), planned, p10, p50, p90, planned_pd,
        p50_pd, finish_planned, finish_p50, finish_p90, reopen, plan.objective, plan.gap,
        plan.source, tuple(notes))


def _ceil(x: float) -> int:
    return math.ceil(x - 1e-9)


def _shift(curve: np.ndarray, lag: int, length: int) -> np.ndarray:
    """A forecast curve by last-chunk day, moved to reopening days and padded to ``length``."""
    out = np.zeros(length)
    if not len(curve):
        return out
    k = np.arange(length) - lag
    valid = k >= 0
    out[valid] = curve[np.minimum(k[valid], len(curve) - 1)]
    return out


def compare_outcomes(outcomes: Sequence[ScenarioOutcome]) -> tuple[ScenarioOutcome, ...]:
    """The same outcomes with curves on one length and differences to the first.

    Raises ``ValidationError`` when the scenarios do not plan the same closed
    settlements (they would not be comparable; it cannot happen on one record).
    """
    if not outcomes:
        return ()
    ref = outcomes[0]
    length = max(len(o.planned) for o in outcomes)
    out = []
    for o in outcomes:
        if set(o.reopening_day) != set(ref.reopening_day):
            raise ValidationError(f"scenario {o.source}", "settlements",
                                  f"plans other closed settlements than {ref.source}")
        earlier = sum(o.reopening_day[c] < ref.reopening_day[c] for c in ref.reopening_day)
        later = sum(o.reopening_day[c] > ref.reopening_day[c] for c in ref.reopening_day)
        out.append(replace(
            o, planned=_pad(o.planned, length), open_p10=_pad(o.open_p10, length),
            open_p50=_pad(o.open_p50, length), open_p90=_pad(o.open_p90, length),
            person_days_avoided_planned=ref.person_days_planned - o.person_days_planned,
            person_days_avoided_p50=ref.person_days_p50 - o.person_days_p50,
            earlier=earlier, later=later))
    return tuple(out)


def _pad(curve: np.ndarray, length: int) -> np.ndarray:
    if len(curve) >= length:
        return curve
    return np.concatenate([curve, np.full(length - len(curve), curve[-1] if len(curve) else 0)])


def checkpoints_of(scenarios: Sequence[Scenario]) -> tuple[int, ...]:
    """30/60/90/120 plus every scenario's horizon, in order."""
    return tuple(sorted({*CHECKPOINTS, *(s.horizon_days for s in scenarios
                                         if s.horizon_days is not None)}))
