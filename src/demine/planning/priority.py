"""Which hazard areas to work first: a weighted multi-criteria score with its reasons.

A national priority-setting committee weighs saving lives, access and livelihoods
(GICHD guidance; the Landmine Impact Survey scored the same things). The weights are
national settings, so they live in a profile file, not in code; and a score is only
useful to a committee that can see *why*, so every score carries its breakdown: per
criterion the fact it came from, its 0-1 value, its weight and the points it gave.

Criteria (each maps a hazard's facts to 0..1, "higher means work it sooner" unless the
profile says ``prefer: lower``):

``population``  people a hazard keeps out of their homes, as its fair share of each
                settlement it closes (a village closed by three hazards is reopened by
                clearing all three), on a log scale up to ``cap`` people;
``blockages``   the most important thing it blocks (road, water, housing, ...);
``evidence``    how sure we are it is contaminated (confirmed by finds, direct or
                indirect evidence, none);
``threat``      the worst explosive category suspected or confirmed;
``accidents``   accidents and victims recorded near it, up to ``cap``;
``density``     items found per hectare worked on it, up to ``cap`` (the agricultural
                profile prefers lightly contaminated land);
``effort``      expected team-days of remaining work, up to ``cap`` (quick wins first
                when preferred lower).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from demine.domain.errors import ValidationError
from demine.domain.vocab import Blockage, EOCategory, EvidenceKind

CRITERIA = ("population", "blockages", "evidence", "threat", "accidents", "density", "effort")
#: Vocabulary of the ``values`` table each criterion may carry.
_VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "blockages": tuple(b.value for b in Blockage),
    "threat": tuple(c.value for c in EOCategory),
    "evidence": ("confirmed", *(k.value for k in EvidenceKind), "none"),
}
_DEFAULT_CAPS = {"population": 10_000.0, "accidents": 3.0, "density": 50.0, "effort": 365.0}
_DEFAULT_VALUES: dict[str, dict[str, float]] = {
    "blockages": {"road": 1.0, "water": 1.0, "housing": 1.0, "infrastructure": 0.7,
                  "agriculture": 0.6},
    "threat": {"ap_mine": 1.0, "booby_trap": 1.0, "ied": 1.0, "cluster_munition": 0.9,
               "at_mine": 0.7, "uxo": 0.6, "axo": 0.5},
    "evidence": {"confirmed": 1.0, "direct": 0.8, "indirect": 0.5, "none": 0.2},
}
BUILT_IN_PROFILES = ("default", "agricultural")


@dataclass(frozen=True)
class HazardFacts:
    """What the record says about one unreleased hazard, as the criteria need it."""

    code: str
    remaining_m2: float
    population_share: float = 0.0
    population_blocked: int = 0
    settlements_closed: tuple[str, ...] = ()
    blockages: frozenset[Blockage] = frozenset()
    evidence: frozenset[EvidenceKind] = frozenset()
    confirmed: bool = False
    eo_categories: frozenset[EOCategory] = frozenset()
    accidents_nearby: int = 0
    victims_nearby: int = 0
    items_found: int = 0
    worked_m2: float = 0.0
    effort_days: float = 0.0


@dataclass(frozen=True)
class Criterion:
    name: str
    weight: float
    prefer: str = "higher"
    cap: float | None = None
    values: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    criteria: tuple[Criterion, ...]

    @property
    def total_weight(self) -> float:
        return sum(c.weight for c in self.criteria)


@dataclass(frozen=True)
class Part:
    """One line of a score's breakdown."""

    criterion: str
    fact: str
    value: float
    weight: float
    points: float


@dataclass(frozen=True)
class Priority:
    rank: int
    code: str
    score: float
    parts: tuple[Part, ...]
    facts: HazardFacts

    def explain(self) -> str:
        lines = [f"#{self.rank} {self.code}: {self.score:.1f} points"]
        lines += [f"  {p.criterion:<11} {p.points:5.1f}  ({p.fact}; value {p.value:.2f} x "
                  f"weight {p.weight:g})" for p in self.parts]
        return "\n".join(lines)


# --- profiles ----------------------------------------------------------------------------

def load_profile(source: str | Path) -> Profile:
    """A built-in profile by name, or a YAML/JSON file; errors name the file and key."""
    if isinstance(source, str) and source in BUILT_IN_PROFILES:
        text = resources.files("demine.planning").joinpath(
            "profiles", f"{source}.yaml").read_text(encoding="utf-8")
        return parse_profile(yaml.safe_load(text), f"profile {source}")
    path = Path(source)
    if not path.is_file():
        raise ValidationError(f"profile {path}", "file",
                              f"no such file (built-in profiles: {', '.join(BUILT_IN_PROFILES)})")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ValidationError(f"profile {path}", "file", f"not valid YAML/JSON: {exc}") from exc
    return parse_profile(data, f"profile {path}")


def parse_profile(data: Any, record: str) -> Profile:
    if not isinstance(data, Mapping):
        raise ValidationError(record, "file", "expected a mapping with 'criteria'")
    raw = data.get("criteria")
    if not isinstance(raw, Mapping) or not raw:
        raise ValidationError(record, "criteria", "expected a mapping of criterion: settings")
    criteria = [_criterion(name, spec, record) for name, spec in raw.items()]
    if sum(c.weight for c in criteria) <= 0:
        raise ValidationError(record, "criteria", "at least one weight must be above 0")
    return Profile(str(data.get("name") or record), str(data.get("description") or ""),
                   tuple(criteria))


def _criterion(name: Any, spec: Any, record: str) -> Criterion:
    if name not in CRITERIA:
        raise ValidationError(record, f"criteria.{name}",
                              f"unknown criterion; known: {', '.join(CRITERIA)}")
    spec = {"weight": spec} if isinstance(spec, int | float) else spec
    if not isinstance(spec, Mapping):
        raise ValidationError(record, f"criteria.{name}", "expected a weight or a mapping")
    key = f"criteria.{name}"
    weight = spec.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not (
            math.isfinite(weight) and weight >= 0):
        raise ValidationError(record, f"{key}.weight", f"expected a number >= 0, got {weight!r}")
    prefer = spec.get("prefer", "higher")
    if prefer not in ("higher", "lower"):
        raise ValidationError(record, f"{key}.prefer", f"expected higher or lower, got {prefer!r}")
    cap = spec.get("cap", _DEFAULT_CAPS.get(name))
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float)
                            or not cap > 0):
        raise ValidationError(record, f"{key}.cap", f"expected a number > 0, got {cap!r}")
    values = dict(_DEFAULT_VALUES.get(name, {}))
    given = spec.get("values") or {}
    if given and name not in _VALUE_KEYS:
        raise ValidationError(record, f"{key}.values", f"{name} takes no values table")
    if not isinstance(given, Mapping):
        raise ValidationError(record, f"{key}.values", "expected a mapping")
    for k, v in given.items():
        if k not in _VALUE_KEYS[name]:
            raise ValidationError(record, f"{key}.values.{k}",
                                  f"unknown; known: {', '.join(_VALUE_KEYS[name])}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise ValidationError(record, f"{key}.values.{k}", f"expected 0..1, got {v!r}")
        values[k] = float(v)
    return Criterion(name, float(weight), prefer, None if cap is None else float(cap), values)


# --- scoring ----------------------------------------------------------------------------

def _measure(c: Criterion, f: HazardFacts) -> tuple[str, float]:
    """The fact behind a criterion in words, and its 0..1 value before ``prefer``."""
    cap = c.cap or 1.0
    if c.name == "population":
        value = min(1.0, math.log1p(f.population_share) / math.log1p(cap))
        where = ", ".join(f.settlements_closed[:3]) + ("..." if len(f.settlements_closed) > 3
                                                       else "")
        fact = (f"keeps {f.population_blocked:,} people closed out ({where}); fair share "
                f"{f.population_share:,.0f}" if f.settlements_closed
                else "keeps no settlement closed")
        return fact, value
    if c.name == "blockages":
        if not f.blockages:
            return "blocks nothing recorded", 0.0
        best = max(f.blockages, key=lambda b: c.values.get(b.value, 0.0))
        return (f"blocks {', '.join(sorted(b.value for b in f.blockages))}",
                c.values.get(best.value, 0.0))
    if c.name == "evidence":
        level = ("confirmed" if f.confirmed else "direct" if EvidenceKind.DIRECT in f.evidence
                 else "indirect" if EvidenceKind.INDIRECT in f.evidence else "none")
        words = {"confirmed": "contamination confirmed by finds", "direct": "direct evidence",
                 "indirect": "indirect evidence only", "none": "no evidence recorded"}
        return words[level], c.values.get(level, 0.0)
    if c.name == "threat":
        if not f.eo_categories:
            return "no explosive category recorded", 0.0
        worst = max(f.eo_categories, key=lambda e: c.values.get(e.value, 0.0))
        return f"worst category {worst.value}", c.values.get(worst.value, 0.0)
    if c.name == "accidents":
        n = f.accidents_nearby + f.victims_nearby
        return (f"{f.accidents_nearby} accident(s), {f.victims_nearby} victim(s) nearby",
                min(1.0, n / cap))
    if c.name == "density":
        if f.worked_m2 <= 0:
            return "density unknown (no work yet)", 0.5
        per_ha = f.items_found / (f.worked_m2 / 10_000)
        return f"{per_ha:.1f} items/ha over {f.worked_m2:,.0f} m² worked", min(1.0, per_ha / cap)
    if c.name == "effort":
        return (f"about {f.effort_days:,.0f} team-days left on {f.remaining_m2:,.0f} m²",
                min(1.0, f.effort_days / cap))
    raise AssertionError(c.name)


def score_hazards(facts: Iterable[HazardFacts], profile: Profile) -> list[Priority]:
    """Scores out of 100, best first (ties by code), each with its breakdown."""
    total = profile.total_weight
    scored = []
    for f in facts:
        parts = []
        for c in profile.criteria:
            fact, value = _measure(c, f)
            if c.prefer == "lower":
                value = 1.0 - value
            parts.append(Part(c.name, fact, value, c.weight, 100.0 * c.weight * value / total))
        scored.append((sum(p.points for p in parts), f.code, tuple(parts), f))
    scored.sort(key=lambda x: (-round(x[0], 9), x[1]))
    return [Priority(i + 1, code, score, parts, f)
            for i, (score, code, parts, f) in enumerate(scored)]
